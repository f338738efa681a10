"""The lost patients in a real headless Chromium, in Russian and in English:
the call center finds a patient whose chosen plan has nothing booked on the
list, makes the call task in one click, and finds it in the task book."""
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Staff
from stompro.tasks.models import Task
from stompro.tasks.services import cancel_task

from .conftest import choose_a_plan, committed_patient, sign_in, switch_language

pytestmark = pytest.mark.browser

FINDINGS = [{"tooth": 36, "surfaces": "O", "condition": "caries"}]
PATIENTS = {"ru": ("Потерянова", "+79167003304"), "en": ("Lostova", "+79167003305")}
TEXTS = {"ru": ("Создать задачу на звонок", "Запланированные звонки"),
         "en": ("Make a call task", "Scheduled calls")}


@contextmanager
def lost_patient(app, language):
    """A committed patient with a chosen plan and no visit; their tasks are cancelled at the end."""
    last_name, phone = PATIENTS[language]
    with committed_patient(app, last_name, "Вера", date(1969, 5, 6), phone, FINDINGS, 1) as patient_id:
        choose_a_plan(app, patient_id)
        try:
            yield patient_id, last_name
        finally:
            with app.app_context():
                owner = db.session.execute(select(Staff).filter_by(login="owner")).scalar_one()
                for task in db.session.execute(select(Task).filter_by(patient_id=patient_id, status="open")).scalars():
                    cancel_task(db.session, owner, task)
                db.session.commit()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_call_center_makes_a_call_task_for_a_lost_patient(app, page, live_server, screenshot, language):
    make_task, tab = TEXTS[language]
    with lost_patient(app, language) as (patient_id, last_name):
        sign_in(page, live_server, "callcenter")
        switch_language(page, language)
        page.goto(f"{live_server}/admin/lost-patients/")
        row = page.locator("tr", has_text=last_name)
        assert row.count() == 1
        screenshot("list")
        with page.expect_navigation():
            row.get_by_role("button", name=make_task).click()
        screenshot("made")
        with app.app_context():
            [task] = db.session.execute(select(Task).filter_by(patient_id=patient_id, status="open")).scalars()
            task_id = task.id
            assert (task.tab, task.queue) == ("scheduled_calls", "call_center")

        page.goto(f"{live_server}/admin/tasks/")
        page.get_by_role("link", name=tab).click()
        assert page.locator(f'tr[data-task="{task_id}"]', has_text=last_name).count() == 1

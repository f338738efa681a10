"""The task book in a real headless Chromium, in Russian and in English: the
call center lands on it, records "no answer" on a recall (the task comes
back later, one call counted), opens the slot finder for the task's
patient and books a time there — the booking closes the call as "booked",
with who and when, and it leaves the open list."""
from contextlib import ExitStack, contextmanager
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from stompro.db import utcnow
from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.messaging.models import Message
from stompro.patients.models import Patient
from stompro.tasks.models import Task, TaskRule
from stompro.tasks.services import cancel_task, create_task

from .conftest import committed_patient, shift_for, sign_in, switch_language
from .test_schedule_board import discarding_visits

pytestmark = pytest.mark.browser

NO_FINDINGS = [{"tooth": 11, "surfaces": "", "condition": "healthy"}]
CENTER = "StomPRO Центр"
BOOK_DAY = date(2028, 4, 10)  # a Monday with no other test's visits
TEXTS = {
    "ru": {"no_answer": "Не отвечает", "book": "Записать", "record": "Записать", "find": "Найти время",
           "recorded": "Записано: Не отвечает — Звонова Анна."},
    "en": {"no_answer": "No answer", "book": "Book", "record": "Record", "find": "Find a time",
           "recorded": "Recorded: No answer — Звонова Анна."},
}


@contextmanager
def open_call(app, patient_id, tab, rule=None):
    """An overdue call in ``tab`` (of the rule ``rule``) about the patient in the centre; cancelled at the end if still open."""
    with app.app_context():
        owner = db.session.execute(select(Staff).filter_by(login="owner")).scalar_one()
        center = db.session.execute(select(Clinic).filter_by(name=CENTER)).scalar_one()
        task = create_task(db.session, owner, tab=tab, priority=1, title="Позвонить пациенту",
                           patient=db.session.get(Patient, patient_id), clinic=center,
                           due_at=utcnow() - timedelta(hours=1))
        task.rule = db.session.execute(select(TaskRule).filter_by(code=rule)).scalar_one() if rule else None
        db.session.commit()
        task_id = task.id
    try:
        yield task_id
    finally:
        with app.app_context():
            task = db.session.get(Task, task_id)
            if task.status == "open":
                cancel_task(db.session, db.session.execute(select(Staff).filter_by(login="owner")).scalar_one(), task)
                db.session.commit()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_call_center_works_a_recall_from_the_task_book(app, page, live_server, screenshot, language):
    texts = TEXTS[language]
    with ExitStack() as stack:
        patient_id = stack.enter_context(committed_patient(
            app, "Звонова", "Анна", date(1970, 3, 4), "+79167003303", NO_FINDINGS, 1))
        task_id = stack.enter_context(open_call(app, patient_id, "scheduled_calls", rule="hygiene_recall"))
        stack.enter_context(shift_for(app, "Ковалёва", BOOK_DAY, hours=(time(9), time(12))))
        stack.enter_context(discarding_visits(app, patient_id))
        with app.app_context():
            doctor_id = db.session.execute(select(Staff.id).filter_by(login="doctor")).scalar_one()

        sign_in(page, live_server, "callcenter")
        switch_language(page, language)
        assert page.locator("#task-book").count() == 1  # the call center lands on the task book
        page.goto(f"{live_server}/admin/tasks/?tab=scheduled_calls")
        row = page.locator(f'tr[data-task="{task_id}"]')
        assert "is-overdue" in row.get_attribute("class")  # overdue: red, on top
        screenshot("book")

        row.get_by_role("button", name=texts["no_answer"]).click()
        page.locator("#task-call").wait_for(state="visible")
        page.fill("#task-call-note", "Длинные гудки")
        with page.expect_navigation():
            page.get_by_role("button", name=texts["record"], exact=True).click()
        assert texts["recorded"] in page.content()
        row = page.locator(f'tr[data-task="{task_id}"]')
        assert row.locator("td").nth(3).inner_text().strip() == "1"  # one call made
        assert "is-overdue" not in (row.get_attribute("class") or "")  # due again later

        with page.context.expect_page() as opened:
            row.get_by_role("link", name=texts["find"]).click()
        board = opened.value
        board.locator("#board-find").wait_for(state="visible")
        expect(board.locator("#board-find-patient-chosen")).to_contain_text("Звонова Анна")
        board.select_option("#board-find-doctor", str(doctor_id))
        board.fill("#board-find-from", BOOK_DAY.strftime("%d.%m.%Y"))
        board.fill("#board-find-to", BOOK_DAY.strftime("%d.%m.%Y"))
        board.click("#board-find-form button[type=submit]")
        first = board.locator("#board-find-results [data-slot]").first
        first.wait_for()
        first.get_by_role("button", name=texts["book"]).click()
        board.locator("#board-book").wait_for(state="visible")
        board.click("#board-book-form button[type=submit]")
        board.wait_for_url(f"**day={BOOK_DAY.isoformat()}**")
        board.close()

        page.reload()
        assert page.locator(f'tr[data-task="{task_id}"]').count() == 0  # the booking closed the call
        screenshot("booked")
        with app.app_context():
            task = db.session.get(Task, task_id)
            assert (task.status, task.call_result, task.attempts, task.done_by.login) == (
                "done", "booked", 1, "callcenter")
            assert task.outcome_note.startswith("Visit booked: ") and "09:00" in task.outcome_note


WRITE = {"ru": ("Написать вместо звонка", "Отправить", "Сообщение поставлено в очередь: Звонова Анна; задача выполнена."),
         "en": ("Write instead", "Send", "The message is queued: Звонова Анна; the task is done.")}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_call_center_writes_instead_of_calling(app, page, live_server, language):
    write, record, done = WRITE[language]
    with committed_patient(app, "Звонова", "Анна", date(1970, 3, 4), "+79167003306", NO_FINDINGS, 1) as patient_id:
        with app.app_context():
            db.session.get(Patient, patient_id).sms_consent = True
            db.session.commit()
        with open_call(app, patient_id, "care_calls") as task_id:
            sign_in(page, live_server, "callcenter")
            switch_language(page, language)
            page.goto(f"{live_server}/admin/tasks/?tab=care_calls")
            page.locator(f'tr[data-task="{task_id}"]').get_by_role("button", name=write).click()
            page.locator("#task-call-text").wait_for(state="visible")
            with page.expect_navigation():
                page.get_by_role("button", name=record, exact=True).click()
            assert done in page.content()
            with app.app_context():
                task = db.session.get(Task, task_id)
                [message] = db.session.execute(select(Message).filter_by(patient_id=patient_id)).scalars()
                assert (task.status, message.kind, message.channel, message.recipient) == (
                    "done", "manual", "sms", "+79167003306")


def test_a_result_the_server_refuses_opens_the_dialog_again_with_what_was_typed(app, page, live_server):
    with committed_patient(app, "Звонова", "Анна", date(1970, 3, 4), "+79167003307", NO_FINDINGS, 1) as patient_id:
        with open_call(app, patient_id, "care_calls") as task_id:
            sign_in(page, live_server, "callcenter")
            switch_language(page, "ru")
            page.goto(f"{live_server}/admin/tasks/?tab=care_calls")
            page.locator(f'tr[data-task="{task_id}"]').get_by_role("button", name="Перезвонить").click()
            page.locator("#task-call").wait_for(state="visible")
            page.fill("#task-call-when", f"{date.today() - timedelta(days=1):%d.%m.%Y} 10:00")
            page.fill("#task-call-note", "Просила позвонить после отпуска")
            with page.expect_navigation():
                page.get_by_role("button", name="Записать", exact=True).click()
            page.locator("#task-call").wait_for(state="visible")  # open again, on the same call
            assert page.input_value("#task-call-note") == "Просила позвонить после отпуска"
            assert "is-invalid" in page.get_attribute("#task-call-when", "class")
            expect(page.locator("#task-call-error")).to_contain_text("Время перезвона уже прошло")
            with app.app_context():
                assert db.session.get(Task, task_id).attempts == 0

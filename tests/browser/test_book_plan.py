"""Booking a whole plan from the plan screen in a real headless Chromium, in
Russian and in English: the administrator opens the preview of the chosen
variant's visits, books it, and every stage gets its visit in the database
with the dependencies and healing gaps kept; the stages show their visits."""
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from stompro.db import utcnow
from stompro.extensions import db
from stompro.planning.models import TreatmentPlan
from stompro.planning.services import live_stages, live_variants
from stompro.records import soft_delete
from stompro.scheduling.availability import local_day
from stompro.scheduling.plan_booking import holding_visits

from .conftest import choose_a_plan, committed_patient, sign_in, switch_language

pytestmark = pytest.mark.browser

# Fillings and a root canal: a plan of a few weeks, inside the demo's shifts.
FINDINGS = [
    {"tooth": 17, "surfaces": "O", "condition": "caries"},
    {"tooth": 25, "surfaces": "D", "condition": "caries"},
    {"tooth": 46, "surfaces": "", "condition": "pulpitis"},
]
PATIENTS = {"ru": ("Бронева", "+79160000071"), "en": ("Bookwell", "+79160000072")}
TEXTS = {
    "ru": {"button": "Записать по плану", "booked": "Записано визитов: %s.", "done": "Все визиты записаны."},
    "en": {"button": "Book the plan", "booked": "Visits booked: %s.", "done": "Every visit is booked."},
}


@contextmanager
def chosen_plan(app, language):
    """A committed patient whose plan's optimal variant is chosen; their
    visits are soft-deleted at the end, with the plan and the patient."""
    last_name, phone = PATIENTS[language]
    with committed_patient(app, last_name, "Анна", date(1981, 2, 3), phone, FINDINGS, 1) as patient_id:
        plan_id = choose_a_plan(app, patient_id)
        try:
            yield plan_id
        finally:
            with app.app_context():
                for visits in holding_visits(db.session, _stages(plan_id)).values():
                    for visit in visits:
                        soft_delete(db.session, visit)
                db.session.commit()


def _stages(plan_id):
    plan = db.session.get(TreatmentPlan, plan_id)
    return live_stages(next(variant for variant in live_variants(plan) if variant.chosen))


def book(page):
    """Press "Book". The preview offers the nearest free time, from now on:
    when a slot of it has slipped into the past meanwhile, the server books
    nothing and shows the new preview (409) — then a person presses again."""
    page.click("#plan-booking-form button[type=submit]")
    page.wait_for_function(
        "() => !document.querySelector('#plan-booking').classList.contains('show')"
        " || !document.querySelector('#plan-booking .plan-dialog-error').classList.contains('d-none')"
    )
    if page.locator("#plan-booking .plan-dialog-error").is_visible():
        page.click("#plan-booking-form button[type=submit]")
    page.locator("#plan-booking").wait_for(state="hidden")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_administrator_books_the_whole_plan_from_the_plan_screen(page, live_server, app, screenshot, language):
    texts = TEXTS[language]
    with chosen_plan(app, language) as plan_id:
        sign_in(page, live_server, "admin")
        switch_language(page, language)
        page.goto(f"{live_server}/admin/plan/{plan_id}")
        button = page.locator(".plan-variant-chosen [data-plan-booking]")
        assert texts["button"] in button.inner_text()
        stages = page.locator(".plan-variant-chosen .plan-stage").count()
        assert stages > 1

        button.click()
        page.locator("#plan-booking").wait_for(state="visible")
        page.locator("#plan-booking [data-preview-row]").first.wait_for()
        assert page.locator("#plan-booking [data-preview-row]").count() == stages
        assert page.locator("#plan-booking [data-preview-unplaced]").count() == 0
        screenshot("preview")

        book(page)
        page.locator(".plan-variant-chosen [data-plan-booked]").wait_for()
        assert page.locator("#plan-notice").inner_text() == texts["booked"] % stages
        assert texts["done"] in page.locator(".plan-variant-chosen [data-plan-booked]").inner_text()
        assert page.locator(".plan-variant-chosen [data-stage-visit]").count() == stages
        screenshot("booked")

        with app.app_context():
            stages_of_plan = _stages(plan_id)
            visits = holding_visits(db.session, stages_of_plan)
            assert len(stages_of_plan) == stages
            assert set(visits) == {stage.id for stage in stages_of_plan}  # every stage has its visit
            for stage in stages_of_plan:
                [visit] = visits[stage.id]
                assert visit.status == "booked" and visit.starts_at > utcnow()
                before = visits.get(stage.depends_on_id)
                if before and not stage.parallel:
                    gap = local_day(visit.clinic, visit.starts_at) - local_day(before[0].clinic, before[0].starts_at)
                    assert gap >= timedelta(days=max(stage.min_gap_days or 0, 1))

        # Opened again, the plan shows the same visits and nothing left to book.
        page.reload()
        assert page.locator(".plan-variant-chosen [data-stage-visit]").count() == stages
        assert page.locator(".plan-variant-chosen [data-plan-booking]").count() == 0
        switch_language(page, "ru")  # the administrator's language as seeded, for the other tests

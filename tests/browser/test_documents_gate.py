"""The documents gate in a real headless Chromium, in Russian and in
English: the administrator tries to seat an arrived patient, is told what is
missing, prints each document from the board, marks them signed on the
patient card, and the visit goes in chair."""
from contextlib import ExitStack
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.patients.models import Patient
from stompro.planning.models import PlanStage
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Appointment
from stompro.scheduling.services import book_visit, set_visit_status

from .conftest import committed_patient, shift_for, sign_in, switch_language
from .test_schedule_board import discarding_visits

pytestmark = pytest.mark.browser

NO_FINDINGS = [{"tooth": 11, "surfaces": "", "condition": "healthy"}]
DAY = date(2028, 5, 8)  # a Monday no other test books
TEXTS = {
    "ru": {"seat": "В кресло", "missing": "Перед лечением пациент должен подписать", "print": "Печать",
           "mark": "Отметить подписание", "in_chair": "В кресле"},
    "en": {"seat": "To the chair", "missing": "Before treatment the patient must sign", "print": "Print",
           "mark": "Mark signed", "in_chair": "In chair"},
}


def arrived_patient(app, stack, last_name, first_name, phone):
    """A patient of the test's own, arrived for a visit on DAY with the demo's doctor; (patient, visit, branch) ids."""
    patient_id = stack.enter_context(committed_patient(app, last_name, first_name, date(1979, 6, 7), phone,
                                                       NO_FINDINGS, 1))
    stack.enter_context(shift_for(app, "Ковалёва", DAY))
    stack.enter_context(discarding_visits(app, patient_id))
    return (patient_id, *arrived_visit(app, patient_id))


def arrived_visit(app, patient_id, stage_id=None):
    """The patient's visit on DAY with the demo's doctor, arrived (carrying the plan stage ``stage_id``, if given)."""
    with app.app_context():
        admin = db.session.execute(select(Staff).filter_by(login="admin")).scalar_one()
        doctor = db.session.execute(select(Staff).filter_by(login="doctor")).scalar_one()
        center = db.session.execute(select(Clinic).filter_by(name="StomPRO Центр")).scalar_one()
        starts_at = at_local(center, DAY, time(10))
        stage = db.session.get(PlanStage, stage_id) if stage_id else None
        visit = book_visit(db.session, admin, clinic=center, room=center.rooms[0], doctor=doctor,
                           patient=db.session.get(Patient, patient_id), starts_at=starts_at,
                           ends_at=starts_at + timedelta(minutes=stage.duration_min if stage else 30),
                           plan_stage=stage)
        set_visit_status(db.session, admin, visit, "arrived")
        db.session.commit()
        return visit.id, center.id


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_administrator_gets_the_documents_signed_and_seats_the_patient(app, page, live_server, screenshot,
                                                                           language):
    texts = TEXTS[language]
    with ExitStack() as stack:
        patient_id, visit_id, center_id = arrived_patient(app, stack, "Подписова", "Вера", "+79167003311")
        board = f"{live_server}/admin/schedule/?clinic={center_id}&day={DAY.isoformat()}&view=day"

        sign_in(page, live_server, "admin")
        switch_language(page, language)
        page.goto(board)
        block = page.locator(f'.board-block[data-visit="{visit_id}"]')
        assert block.locator("[data-documents-missing]").count() == 1  # marked on the board
        block.click()
        page.locator("#board-visit").wait_for(state="visible")
        page.get_by_role("button", name=texts["seat"], exact=True).click()
        expect(page.locator("#board-visit .board-dialog-error")).to_contain_text(texts["missing"])
        screenshot("refused")

        sign_what_is_missing_and_seat(page, live_server, board, patient_id, visit_id, texts, screenshot)
        with app.app_context():
            assert db.session.get(Appointment, visit_id).status == "in_chair"


def sign_what_is_missing_and_seat(page, live_server, board, patient_id, visit_id, texts, screenshot=None):
    """With the board's visit dialog open on a refusal: print every missing
    document from the board, mark each signed on the patient card, and seat
    the patient from the board."""
    prints = page.locator("#board-visit [data-print-document]")
    assert prints.count() == 3
    for number in range(3):
        with page.context.expect_page() as opened:
            prints.nth(number).click()
        opened.value.close()  # the PDF, printed

    page.goto(f"{live_server}/admin/patient_card/{patient_id}#documents")
    for _ in range(3):
        with page.expect_navigation():
            page.locator(".document-sign").first.get_by_role("button", name=texts["mark"]).click()
    assert page.locator(".document-sign").count() == 0
    if screenshot:
        screenshot("signed")

    page.goto(board)
    assert page.locator(f'.board-block[data-visit="{visit_id}"] [data-documents-missing]').count() == 0
    page.locator(f'.board-block[data-visit="{visit_id}"]').click()
    page.locator("#board-visit").wait_for(state="visible")
    page.get_by_role("button", name=texts["seat"], exact=True).click()
    page.locator("#board-visit").wait_for(state="hidden")


def test_a_doctor_opens_a_visit_on_the_board(app, page, live_server):
    """The board's script runs for those who do not book as well (its finder is not on their page)."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with ExitStack() as stack:
        _patient_id, visit_id, center_id = arrived_patient(app, stack, "Врачебнова", "Зоя", "+79167003312")
        sign_in(page, live_server, "doctor")
        page.goto(f"{live_server}/admin/schedule/?clinic={center_id}&day={DAY.isoformat()}&view=day")
        page.locator(f'.board-block[data-visit="{visit_id}"]').click()
        page.locator("#board-visit").wait_for(state="visible")
        assert page.locator("#board-visit [data-visit-documents]").count() == 1  # what is still to sign
        assert page.locator("#board-visit [data-print-document]").count() == 0  # printed by the reception
        assert errors == []

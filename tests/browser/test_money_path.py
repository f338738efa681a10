"""A visit from the documents to the receipt in a real headless Chromium, in
Russian and in English, with nothing retyped: the administrator gets the
documents signed and seats the patient, the doctor ticks the plan's item
and finishes the visit, the cashier issues the invoice, takes a payment
(more than due, typed the Russian way) and prints the receipt; and a
person clocks in at the reception's kiosk with their PIN."""
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from io import BytesIO

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from stompro.billing.models import Invoice, Payment, PerformedService
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.planning.models import PlanStage, PlanVariant
from stompro.records import soft_delete
from stompro.timeclock.models import TimeClock
from stompro.timeclock.services import open_entry

from .conftest import browser_page, choose_a_plan, committed_patient, shift_for, sign_in
from .test_documents_gate import DAY, TEXTS as GATE_TEXTS, arrived_visit, sign_what_is_missing_and_seat
from .test_schedule_board import discarding_visits

pytestmark = pytest.mark.browser

CARIES = [{"tooth": 36, "surfaces": "O", "condition": "caries"}]
TEXTS = {
    "ru": {**GATE_TEXTS["ru"], "mark_done": "Отметить выполненным", "marked": "Отмечено выполненными: 1",
           "finish": "Завершить визит", "issue": "Выставить счёт", "pay": "Принять оплату",
           "taken": "Оплата принята", "deposit": "зачислено на депозит", "receipt": "Квитанция",
           "punch": "Приход / уход", "clocked_in": "приход в"},
    "en": {**GATE_TEXTS["en"], "mark_done": "Mark performed", "marked": "Marked performed: 1",
           "finish": "Finish the visit", "issue": "Issue the invoice", "pay": "Take the payment",
           "taken": "Payment taken", "deposit": "went to the patient's deposit", "receipt": "Receipt",
           "punch": "Clock in / out", "clocked_in": "clocked in at"},
}
PHONES = {"ru": "+79167003321", "en": "+79167003322"}


@contextmanager
def discarding_money(app, patient_id):
    """Move the patient's performed services, invoices and payments to the recycle bin at the end."""
    try:
        yield
    finally:
        with app.app_context():
            for model in (Payment, Invoice):
                for row in db.session.execute(select(model).filter_by(patient_id=patient_id)).scalars():
                    soft_delete(db.session, row)
            for row in db.session.execute(select(PerformedService).join(PerformedService.appointment)
                                          .where(PerformedService.appointment.has(patient_id=patient_id))).scalars():
                soft_delete(db.session, row)
            db.session.commit()


def first_stage_id(app, plan_id):
    with app.app_context():
        return db.session.execute(
            select(PlanStage.id).join(PlanVariant, PlanStage.variant_id == PlanVariant.id)
            .where(PlanVariant.plan_id == plan_id, PlanVariant.chosen).order_by(PlanStage.position).limit(1)
        ).scalar_one()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_a_visit_goes_from_the_documents_to_the_receipt(app, browser, page, live_server, screenshot, language):
    texts = TEXTS[language]
    with ExitStack() as stack:
        patient_id = stack.enter_context(committed_patient(app, "Оплатова", "Нина", DAY.replace(year=1980),
                                                           PHONES[language], CARIES, 1))
        stack.enter_context(shift_for(app, "Ковалёва", DAY))
        stack.enter_context(discarding_visits(app, patient_id))
        stack.enter_context(discarding_money(app, patient_id))
        plan_id = choose_a_plan(app, patient_id)
        visit_id, center_id = arrived_visit(app, patient_id, first_stage_id(app, plan_id))
        board = f"{live_server}/admin/schedule/?clinic={center_id}&day={DAY.isoformat()}&view=day"

        # the administrator: the documents, then the chair
        sign_in(page, live_server, "admin", language=language)
        page.goto(board)
        page.locator(f'.board-block[data-visit="{visit_id}"]').click()
        page.locator("#board-visit").wait_for(state="visible")
        page.get_by_role("button", name=texts["seat"], exact=True).click()
        expect(page.locator("#board-visit .board-dialog-error")).to_contain_text(texts["missing"])
        sign_what_is_missing_and_seat(page, live_server, board, patient_id, visit_id, texts)

        # the doctor, at their computer: the plan's item is ticked already; mark it and finish the visit
        doctor = stack.enter_context(browser_page(browser))
        sign_in(doctor, live_server, "doctor", language=language)
        doctor.goto(f"{live_server}/admin/visit-services/{visit_id}")
        assert doctor.locator("input[name=item]:checked").count() >= 1
        doctor.get_by_role("button", name=texts["mark_done"]).click()
        expect(doctor.locator(".alert-success")).to_contain_text(texts["marked"][:-2])
        screenshot("performed", of=doctor)
        doctor.get_by_role("button", name=texts["finish"]).click()
        expect(doctor.locator("#visit-invoices")).to_be_visible()
        with app.app_context():
            invoice = db.session.execute(select(Invoice).filter_by(appointment_id=visit_id)).scalar_one()
            number, total = invoice.number, invoice.total
            performed = db.session.execute(select(PerformedService).filter_by(appointment_id=visit_id)).scalars().all()
        assert performed and total == sum(p.price * p.quantity for p in performed)
        expect(doctor.locator("#visit-invoices")).to_contain_text(number)

        # the cashier, at the desk: issue, pay more than due the Russian way, print the receipt
        desk = stack.enter_context(browser_page(browser))
        sign_in(desk, live_server, "cashier", language=language)
        desk.fill("input[name=q]", "Оплатова")
        desk.locator("form.form-inline button[type=submit]").first.click()
        desk.get_by_role("link", name=number).click()
        desk.get_by_role("button", name=texts["issue"]).click()
        form = desk.locator(f'#invoice-{invoice.id} [data-pay-form]')
        paid_in = total + Decimal("500")
        form.locator("input[name=amount]").fill(f"{paid_in:,.2f}".replace(",", " ").replace(".", ","))
        form.locator("select[name=method]").select_option("card")
        form.get_by_role("button", name=texts["pay"]).click()
        expect(desk.locator(".alert-success").first).to_contain_text(texts["taken"])
        expect(desk.locator("body")).to_contain_text(texts["deposit"])
        screenshot("paid", of=desk)
        with app.app_context():
            db.session.expire_all()
            assert db.session.get(Invoice, invoice.id).status == "paid"
            payment = db.session.execute(select(Payment).filter_by(invoice_id=invoice.id)).scalar_one()
            assert payment.amount == total
        receipt = desk.locator(f'#payments tr[data-payment="{payment.id}"] [data-receipt]')
        body = desk.request.get(live_server + receipt.get_attribute("href")).body()
        text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(body)).pages)
        assert "Оплатова" in text and payment.receipt_number in text


@pytest.mark.parametrize("language", ["ru", "en"])
def test_a_person_clocks_in_at_the_kiosk_with_their_pin(app, page, live_server, screenshot, language):
    texts = TEXTS[language]
    with app.app_context():
        person = db.session.execute(select(Staff).filter_by(login="coordinator")).scalar_one()
        person_id, name = person.id, person.full_name
        assert open_entry(db.session, person) is None
    try:
        sign_in(page, live_server, "admin", language=language)
        page.goto(f"{live_server}/admin/kiosk/")
        page.select_option("#kiosk-staff", str(person_id))
        page.fill("#kiosk-pin", "1234")  # the demo's PIN
        page.get_by_role("button", name=texts["punch"]).click()
        expect(page.locator(".alert-success")).to_contain_text(texts["clocked_in"])
        expect(page.locator(".alert-success")).to_contain_text(name)
        expect(page.locator("#kiosk-inside")).to_contain_text(name)
        screenshot("clocked-in")
        with app.app_context():
            assert open_entry(db.session, db.session.get(Staff, person_id)) is not None
    finally:
        with app.app_context():
            for entry in db.session.execute(select(TimeClock).filter_by(staff_id=person_id, clock_out=None)).scalars():
                soft_delete(db.session, entry)
            db.session.commit()

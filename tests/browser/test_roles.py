"""Each role does one real job through a generic screen, in Russian, in
headless Chromium: pickers searched by typing, dates typed in the clinic's
format, the form saved, and the database checked afterwards. What the tests
make is committed (the server runs in another thread), so each cleans up."""
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from stompro.db import utcnow
from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.org.services import create_staff
from stompro.patients.models import Patient
from stompro.billing.models import Payment
from stompro.chart.models import ToothFinding
from stompro.records import soft_delete
from stompro.scheduling.models import Appointment
from stompro.tasks.models import Task

from .conftest import committed_patient, shift_for, sign_in

pytestmark = pytest.mark.browser
CARIES = [{"tooth": 47, "surfaces": "", "condition": "healthy"}]


def pick(page, field, typed, choose):
    """Open a picker, type ``typed``, choose the result containing ``choose``."""
    page.click(f"#s2id_{field} a, #s2id_{field}")
    search = page.locator(".select2-drop-active:visible input.select2-input")
    search.press_sequentially(typed, delay=40)
    page.locator(".select2-drop-active:visible .select2-result-selectable", has_text=choose).first.click()


def choose(page, field, value):
    """A plain list (select2 over a <select>): the value, as a person picks it."""
    page.select_option(f"select#{field}", value, force=True)
    page.evaluate(f"jQuery('select#{field}').trigger('change')")


def type_date(page, field, text):
    """Type a date as a person does, key by key; the field keeps what was typed."""
    page.click(f"#{field}")
    page.locator(f"#{field}").press_sequentially(text, delay=30)
    assert page.input_value(f"#{field}") == text
    page.keyboard.press("Escape")


def saved(page):
    page.click("form.admin-form input[type=submit][value], form.admin-form button[type=submit]")
    page.wait_for_load_state()
    assert not page.locator(".alert-danger").count(), page.locator(".alert-danger").all_inner_texts()


def row(app, model, *where):
    with app.app_context():
        found = db.session.execute(select(model).where(*where).order_by(model.id.desc()).limit(1)).scalar_one_or_none()
        if found is not None:
            db.session.expunge(found)
        return found


@contextmanager
def cleaned(app, model, *where):
    """Soft-delete (or cancel) what the test made, whatever happens."""
    try:
        yield
    finally:
        with app.app_context():
            for made in db.session.execute(select(model).where(*where)).scalars():
                if isinstance(made, Task):
                    made.status = "cancelled"
                else:
                    soft_delete(db.session, made)
            db.session.commit()


def test_the_cashier_records_a_payment_choosing_the_patient_in_the_picker(app, page, live_server, screenshot):
    with committed_patient(app, "Платёжкина", "Вера", date(1980, 1, 2), "+79167001201", CARIES, 1) as patient_id, \
            cleaned(app, Payment, Payment.patient_id == patient_id):
        sign_in(page, live_server, "cashier")
        page.goto(f"{live_server}/admin/payment/new/")
        pick(page, "patient", "Платёж", "Платёжкина")
        choose(page, "method", "cash")
        page.fill("#amount", "1 500,50")
        screenshot("filled")
        saved(page)
        payment = row(app, Payment, Payment.patient_id == patient_id)
        assert payment.amount == Decimal("1500.50")
        with app.app_context():
            assert db.session.get(Staff, payment.received_by_id).login == "cashier"


def test_the_owner_deactivates_a_person_and_resets_anothers_password(app, page, live_server, screenshot):
    with app.app_context():
        centre = db.session.execute(select(Clinic).order_by(Clinic.name)).scalars().first()
        leaving, forgetful = (
            create_staff(db.session, login=login, last_name=name, first_name="Тест", roles=["administrator"],
                         clinics=[centre], password="temporary-123")
            for login, name in (("leaving.admin", "Уходящая"), ("forgetful.admin", "Забывчивая"))
        )
        db.session.commit()
        leaving_id, forgetful_id = leaving.id, forgetful.id
    sign_in(page, live_server, "owner")
    page.goto(f"{live_server}/admin/staff/deactivate/?id={leaving_id}")
    assert "Уходящая" in page.content()
    page.click("button.btn-danger")
    page.wait_for_load_state()
    page.goto(f"{live_server}/admin/staff/password/?id={forgetful_id}")
    page.fill("input[name=new_password]", "Temporary-Pass-42")
    page.click("form button.btn-primary[type=submit]")
    page.wait_for_load_state()
    screenshot("reset")
    assert row(app, Staff, Staff.id == leaving_id).active is False
    forgetful = row(app, Staff, Staff.id == forgetful_id)
    assert forgetful.must_change_password is True


def test_the_administrator_books_a_visit_typing_its_time(app, page, live_server, screenshot):
    with committed_patient(app, "Записанная", "Ирина", date(1975, 5, 6), "+79167001202", CARIES, 1) as patient_id, \
            cleaned(app, Appointment, Appointment.patient_id == patient_id), \
            shift_for(app, "Ковалёва", date(2028, 2, 10)):
        sign_in(page, live_server, "admin")
        page.goto(f"{live_server}/admin/appointment/new/")
        pick(page, "patient", "Записан", "Записанная")
        pick(page, "doctor", "Ковал", "Ковалёва")
        choose(page, "room", page.eval_on_selector("select#room", "s => [...s.options].find(o => o.text.includes('Кресло 2')).value"))
        type_date(page, "starts_at", "10.02.2028 10:00")
        page.click("#starts_at")
        calendar = page.locator(".daterangepicker:visible")
        assert "Применить" in calendar.inner_text()
        # The calendar turns to the typed month, in Russian, and leaves the text as typed.
        shown = calendar.locator("select.monthselect").first.evaluate("s => s.options[s.selectedIndex].text")
        year = calendar.locator("select.yearselect").first.input_value()
        assert (shown.lower(), year) == ("февраль", "2028")
        assert page.input_value("#starts_at") == "10.02.2028 10:00"
        page.keyboard.press("Escape")
        type_date(page, "ends_at", "10.02.2028 10:45")
        screenshot("filled")
        saved(page)
        visit = row(app, Appointment, Appointment.patient_id == patient_id)
        assert visit.starts_at == datetime(2028, 2, 10, 7, 0, tzinfo=timezone.utc)  # 10:00 in Moscow
        assert (visit.status, visit.kind) == ("booked", "treatment")
        page.goto(f"{live_server}/admin/appointment/details/?id={visit.id}")
        assert "10.02.2028 10:00" in page.content()


def test_the_doctor_records_a_finding_in_the_chart_list(app, page, live_server):
    with committed_patient(app, "Осмотренная", "Анна", date(1990, 7, 8), "+79167001203", CARIES, 1) as patient_id:
        sign_in(page, live_server, "doctor")
        page.goto(f"{live_server}/admin/tooth_finding/new/")
        pick(page, "patient", "Осмотр", "Осмотренная")
        page.fill("#tooth", "36")
        page.fill("#surfaces", "o")
        choose(page, "condition", page.eval_on_selector(
            "select#condition", "s => [...s.options].find(o => o.text.startsWith('Кариес')).value"))
        saved(page)
        finding = row(app, ToothFinding, ToothFinding.patient_id == patient_id, ToothFinding.tooth == 36)
        assert finding.surfaces == "O"
        with app.app_context():
            assert db.session.get(Staff, finding.author_id).login == "doctor"
        assert abs((utcnow() - finding.recorded_at).total_seconds()) < 120


def test_the_coordinator_registers_a_patient_who_shares_a_phone_after_the_warning(app, page, live_server, screenshot):
    phone = "+79167001204"
    with committed_patient(app, "Мамина", "Ольга", date(1970, 3, 3), phone, CARIES, 1), \
            cleaned(app, Patient, Patient.last_name == "Дочкина"):
        sign_in(page, live_server, "coordinator")
        page.goto(f"{live_server}/admin/patient/new/")
        page.fill("#last_name", "Дочкина")
        page.fill("#first_name", "Алиса")
        type_date(page, "birth_date", "04.09.2001")
        page.fill("#phone", "8 (916) 700-12-04")
        page.click("form.admin-form input[type=submit][value]")
        page.wait_for_load_state()
        warning = page.locator(".alert-danger").first.inner_text()
        assert "Возможно, этот пациент уже зарегистрирован" in warning and "Мамина" in warning
        assert page.input_value("#last_name") == "Дочкина"  # nothing typed is lost
        screenshot("warned")
        page.check("#confirm_duplicate")
        saved(page)
        assert row(app, Patient, Patient.last_name == "Дочкина").phone == phone


def test_the_call_center_makes_a_call_back_task_and_records_the_result(app, page, live_server):
    with committed_patient(app, "Перезвонова", "Нина", date(1965, 4, 5), "+79167001205", CARIES, 1) as patient_id, \
            cleaned(app, Task, Task.patient_id == patient_id):
        sign_in(page, live_server, "callcenter")
        page.goto(f"{live_server}/admin/task/new/")
        choose(page, "tab", "scheduled_calls")
        page.fill("#title", "Позвонить о продолжении лечения")
        pick(page, "patient", "Перезвон", "Перезвонова")
        type_date(page, "due_at", "10.02.2028 10:00")
        saved(page)
        task = row(app, Task, Task.patient_id == patient_id)
        page.goto(f"{live_server}/admin/task/edit/?id={task.id}")
        choose(page, "call_result", "call_back")
        type_date(page, "call_back_at", "11.02.2028 12:30")
        page.fill("#outcome_note", "Просила перезвонить после обеда")
        saved(page)
        task = row(app, Task, Task.id == task.id)
        assert (task.call_result, task.status) == ("call_back", "open")
        assert task.call_back_at == datetime(2028, 2, 11, 9, 30, tzinfo=timezone.utc)


def test_the_administrator_filters_visits_from_a_typed_day(app, page, live_server, screenshot):
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/appointment/")
    page.click("a.dropdown-toggle:has-text('Фильтр'), a:has-text('Добавить фильтр')")
    page.click("a.filter:has-text('Начало')")
    operation = page.locator("table.filters select.filter-op").last
    operation.select_option(index=2, force=True)  # "больше чем"
    page.evaluate("jQuery('table.filters select.filter-op').last().trigger('change')")
    value = page.locator("table.filters input.filter-val").last
    value.click()
    value.press_sequentially("01.12.2026 00:00", delay=30)
    assert value.input_value() == "01.12.2026 00:00"
    page.keyboard.press("Escape")
    screenshot("filter")
    page.click("#filter_form button[type=submit]")
    page.wait_for_load_state()
    assert "flt" in page.url
    starts = page.locator("td.col-starts_at").all_inner_texts()
    assert starts, "no visits listed"
    days = [datetime.strptime(text.strip(), "%d.%m.%Y %H:%M") for text in starts]
    assert min(days) >= datetime(2026, 12, 1)

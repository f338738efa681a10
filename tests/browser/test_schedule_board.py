"""The schedule board in a real headless Chromium, in Russian and in English:
the administrator books a visit by clicking free time and finding the
patient in the picker, then drags the first visit of a plan to the next day
in the week view, confirms the cascade's preview, and sees the later visits
of the plan moved on the board and on the patient card. What the test makes
is committed (the server runs in another thread) and cleaned up after."""
from contextlib import ExitStack, contextmanager
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Clinic, Room, Specialty, Staff
from stompro.patients.models import Patient
from stompro.planning.models import PlanStage, PlanVariant, TreatmentPlan
from stompro.records import soft_delete
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Appointment
from stompro.scheduling.services import book_visit

from .conftest import committed_patient, shift_for, sign_in, switch_language

pytestmark = pytest.mark.browser

MONDAY = date(2028, 3, 6)
WEEK = [MONDAY + timedelta(days=n) for n in range(6)]  # the centre works Monday to Saturday
CENTER = "StomPRO Центр"
NO_FINDINGS = [{"tooth": 11, "surfaces": "", "condition": "healthy"}]


@contextmanager
def plan_visits(app, patient_id):
    """A plan of three visits in series, each at least two days after the one
    before, booked on Monday, Wednesday and Friday at 10:00 with the demo
    doctor; their ids. The visits are soft-deleted at the end."""
    with app.app_context():
        doctor = db.session.execute(select(Staff).filter_by(login="doctor")).scalar_one()
        admin = db.session.execute(select(Staff).filter_by(login="admin")).scalar_one()
        center = db.session.execute(select(Clinic).filter_by(name=CENTER)).scalar_one()
        room = db.session.execute(select(Room).filter_by(clinic_id=center.id, name="Кресло 2")).scalar_one()
        therapy = db.session.execute(select(Specialty).filter_by(code="therapy")).scalar_one()
        patient = db.session.get(Patient, patient_id)
        plan = TreatmentPlan(patient=patient, author=doctor, status="in_progress", title="Лечение кариеса")
        variant = PlanVariant(plan=plan, tier="optimal", chosen=True)
        stages, visits = [], []
        for position, day in enumerate((WEEK[0], WEEK[2], WEEK[4]), 1):
            stage = PlanStage(variant=variant, position=position, kind="treatment", specialty=therapy,
                              depends_on=stages[-1] if stages else None, min_gap_days=2, duration_min=60)
            stages.append(stage)
            db.session.add(stage)
            db.session.flush()
            starts_at = at_local(center, day, time(10))
            visits.append(book_visit(db.session, admin, clinic=center, room=room, doctor=doctor, patient=patient,
                                     starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), plan_stage=stage))
        db.session.commit()
        ids = [visit.id for visit in visits]
    with discarding_visits(app, patient_id):
        yield ids


@contextmanager
def discarding_visits(app, patient_id):
    """Soft-delete every visit of the patient at the end, so the days other tests read stay as seeded."""
    try:
        yield
    finally:
        with app.app_context():
            for visit in db.session.execute(select(Appointment).filter_by(patient_id=patient_id)).scalars():
                soft_delete(db.session, visit)
            db.session.commit()


def visit_day(app, visit_id):
    with app.app_context():
        visit = db.session.get(Appointment, visit_id)
        return visit.starts_at


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_administrator_books_free_time_and_drags_a_plan_visit_with_its_cascade(
        app, page, live_server, screenshot, language):
    with ExitStack() as stack:
        patient_id = stack.enter_context(committed_patient(
            app, "Доскова", "Алла", date(1984, 2, 3), "+79167003301", NO_FINDINGS, 1))
        for day in WEEK:
            stack.enter_context(shift_for(app, "Ковалёва", day))
        first, second, third = stack.enter_context(plan_visits(app, patient_id))
        with app.app_context():
            center_id = db.session.execute(select(Clinic.id).filter_by(name=CENTER)).scalar_one()
            doctor_id = db.session.execute(select(Staff.id).filter_by(login="doctor")).scalar_one()

        sign_in(page, live_server, "admin")
        switch_language(page, language)
        assert page.locator("#board-page").count() == 1  # the administrator lands on the board

        # Book by clicking free time on Monday at 14:00 and finding the patient by surname.
        page.goto(f"{live_server}/admin/schedule/?clinic={center_id}&day={MONDAY.isoformat()}&view=day&layout=doctor&step=15")
        column = page.locator(f'.board-column[data-doctor="{doctor_id}"]')
        assert column.locator(f'.board-block[data-visit="{first}"]').count() == 1
        column.locator('.board-cell[data-free][data-time="14:00"]').click()
        page.locator("#board-book").wait_for(state="visible")
        assert page.input_value("#board-book-time") == "14:00"
        page.locator("#board-patient-search").press_sequentially("Доско", delay=40)
        page.locator("#board-patient-results [data-patient]", has_text="Доскова Алла").click()
        page.select_option("#board-book-duration", "45")
        screenshot("booking")
        page.click("#board-book-form button[type=submit]")
        page.locator("#board-book").wait_for(state="hidden")
        page.locator(".modal-backdrop").wait_for(state="detached")
        booked = column.locator(".board-block", has_text="14:00–14:45")
        assert "Доскова Алла" in booked.inner_text()
        screenshot("day")

        # Drag the plan's first visit from Monday to Tuesday in the week view.
        page.goto(f"{live_server}/admin/schedule/?clinic={center_id}&day={MONDAY.isoformat()}&view=week"
                  f"&layout=doctor&focus={doctor_id}")
        block = page.locator(f'.board-block[data-visit="{first}"]')
        stage_text = "визит 1 из 3" if language == "ru" else "visit 1 of 3"
        assert stage_text in block.inner_text()
        target = page.locator(f'.board-column[data-day="{WEEK[1].isoformat()}"] .board-cell[data-time="10:00"]')
        block.drag_to(target)
        page.locator("#board-move").wait_for(state="visible")
        preview = page.locator("#board-move-preview table")
        preview.wait_for()
        rows = preview.locator("tbody tr")
        assert rows.count() == 3
        assert "07.03.2028 10:00" in rows.nth(0).inner_text()  # the dragged visit: Tuesday
        assert "09.03.2028 10:00" in rows.nth(1).inner_text()  # two days later: Thursday
        assert "11.03.2028 10:00" in rows.nth(2).inner_text()  # and Saturday
        screenshot("preview")
        page.click("#board-move-form [data-move-apply]")
        page.locator("#board-move").wait_for(state="hidden")
        page.locator(".modal-backdrop").wait_for(state="detached")
        said, followers = MOVED[language]
        assert said in page.locator("#board-notice").inner_text()  # the board says what moved
        assert followers in page.locator("#board-notice").inner_text()

        for visit_id, day in ((first, WEEK[1]), (second, WEEK[3]), (third, WEEK[5])):
            moved = page.locator(f'.board-column[data-day="{day.isoformat()}"] .board-block[data-visit="{visit_id}"]')
            assert moved.count() == 1, (visit_id, day)
        screenshot("week")
        assert visit_day(app, third) == at_local_center(app, WEEK[5], time(10))

        page.goto(f"{live_server}/admin/patient_card/{patient_id}")
        card = page.locator('[data-section="visits"]').inner_html()  # the reminders below name the old days too
        for shown in ("07.03.2028 10:00", "09.03.2028 10:00", "11.03.2028 10:00"):
            assert shown in card
        assert "06.03.2028 10:00" not in card and "08.03.2028 10:00" not in card
        screenshot("card")


def at_local_center(app, day, clock):
    with app.app_context():
        center = db.session.execute(select(Clinic).filter_by(name=CENTER)).scalar_one()
        return at_local(center, day, clock)


MOVED = {"ru": ("Перенесено: Доскова Алла, 07.03.2028 10:00", "Ещё 2 визита плана перенесены вместе с ним."),
         "en": ("Moved: Доскова Алла, 07.03.2028 10:00", "2 later visits of the plan moved with it.")}
FIND_DAY = date(2028, 4, 3)  # a Monday with no other test's visits
FIND_TEXTS = {"ru": ("Найти время", "Записать", "Записано: Искова Нина, 03.04.2028 09:00–10:00"),
              "en": ("Find a time", "Book", "Booked: Искова Нина, 03.04.2028 09:00–10:00")}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_call_center_finds_a_time_for_a_patient_and_books_it(app, page, live_server, screenshot, language):
    find, book, booked = FIND_TEXTS[language]
    with ExitStack() as stack:
        patient_id = stack.enter_context(committed_patient(
            app, "Искова", "Нина", date(1990, 7, 8), "+79167003302", NO_FINDINGS, 1))
        stack.enter_context(shift_for(app, "Ковалёва", FIND_DAY, hours=(time(9), time(12))))
        stack.enter_context(discarding_visits(app, patient_id))
        with app.app_context():
            center_id = db.session.execute(select(Clinic.id).filter_by(name=CENTER)).scalar_one()
            doctor_id = db.session.execute(select(Staff.id).filter_by(login="doctor")).scalar_one()

        sign_in(page, live_server, "callcenter")
        switch_language(page, language)
        page.goto(f"{live_server}/admin/schedule/?clinic={center_id}&view=day")  # today
        page.get_by_role("button", name=find).click()
        page.locator("#board-find").wait_for(state="visible")
        page.locator("#board-find-patient-search").press_sequentially("Иско", delay=40)
        page.locator("#board-find-patient-results [data-patient]", has_text="Искова Нина").click()
        page.select_option("#board-find-doctor", str(doctor_id))
        page.select_option("#board-find-duration", "60")
        page.fill("#board-find-from", FIND_DAY.strftime("%d.%m.%Y"))
        page.fill("#board-find-to", FIND_DAY.strftime("%d.%m.%Y"))
        page.click("#board-find-form button[type=submit]")
        first = page.locator("#board-find-results [data-slot]").first
        first.wait_for()
        assert "09:00–10:00" in first.inner_text()
        screenshot("found")

        first.get_by_role("button", name=book).click()
        page.locator("#board-book").wait_for(state="visible")
        assert page.input_value("#board-book-day") == FIND_DAY.strftime("%d.%m.%Y")
        assert page.input_value("#board-book-time") == "09:00"
        assert page.input_value("#board-book-duration") == "60"
        assert "Искова Нина" in page.locator("#board-patient-chosen").inner_text()
        page.click("#board-book-form button[type=submit]")
        page.wait_for_url(f"**day={FIND_DAY.isoformat()}**")  # the board opens the day booked, and says what
        assert booked in page.locator("#board-notice").inner_text()
        assert page.locator(f'.board-column[data-doctor="{doctor_id}"] .board-block', has_text="Искова Нина").count() == 1
        screenshot("booked")

        with app.app_context():
            visit = db.session.execute(
                select(Appointment).filter_by(patient_id=patient_id, doctor_id=doctor_id)
                .where(Appointment.starts_at == at_local_center(app, FIND_DAY, time(9)))
            ).scalar_one()
            assert visit.ends_at - visit.starts_at == timedelta(minutes=60)

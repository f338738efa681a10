"""The time clock against the shifts (timeclock.sheet): lateness, early
leave, overtime and absence per day — across midnight and a daylight-saving
change — the branch's timesheet on screen, PDF and CSV, today's late
arrivals on the owner's home page, the kiosk with its PIN, and the API."""
import csv
from datetime import date, datetime, time, timedelta, timezone
from io import BytesIO, StringIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from stompro.errors import DomainError, NotAllowed
from stompro.extensions import db
from stompro.org.models import Clinic
from stompro.scheduling.availability import at_local, clinic_zone
from stompro.scheduling.models import Shift
from stompro.timeclock.kiosk import PIN_FAILURES, punch, set_pin
from stompro.timeclock.models import TimeClock
from stompro.timeclock.services import add_entry, open_entry
from stompro.timeclock.sheet import late_today, staff_sheet
from stompro.timefmt import parse_month

from ..api.conftest import api  # noqa: F401 (a fixture: the JSON API with a token)
from ..billing.forms import post

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)  # 17:00 in Moscow
MONTH = date(2026, 11, 1)


def shift(person, clinic, day, start, end):
    """A shift from ``start`` on ``day`` to ``end`` (the next day when earlier), at the branch's clock."""
    ends_on = day + timedelta(days=1) if end <= start else day
    row = Shift(staff=person, clinic=clinic, work_date=day, starts_at=at_local(clinic, day, start),
                ends_at=at_local(clinic, ends_on, end))
    db.session.add(row)
    return row


def clocked(owner, person, clinic, day, start, end=None, end_day=None):
    return add_entry(db.session, owner, staff=person, clinic=clinic, clock_in=at_local(clinic, day, start),
                     clock_out=at_local(clinic, end_day or day, end) if end else None,
                     correction_reason="Тест", now=NOW)


def day_of(sheet, day):
    return next(d for d in sheet.days if d.date == day)


def test_lateness_early_leave_overtime_and_absence(owner, nurse, center):
    days = [date(2026, 11, n) for n in (2, 3, 4, 5, 30)]
    for day in days:
        shift(nurse, center, day, time(9), time(18))
    clocked(owner, nurse, center, days[0], time(9, 12), time(18, 30))  # 12 min late, 18 min over
    clocked(owner, nurse, center, days[1], time(8, 55), time(17, 30))  # left 30 min early
    clocked(owner, nurse, center, date(2026, 11, 7), time(10), time(12))  # a Saturday without a shift
    shift(nurse, center, date(2026, 11, 9), time(9), time(13))
    clocked(owner, nurse, center, date(2026, 11, 9), time(19), time(20))  # came after the shift: missed, not late
    # days[2], days[3]: no entries — absent; days[4] is today and its shift still runs
    sheet = staff_sheet(db.session, nurse, MONTH, now=NOW)
    first, second = day_of(sheet, days[0]), day_of(sheet, days[1])
    assert (first.planned_minutes, first.worked_minutes, first.late_minutes, first.overtime_minutes,
            first.early_leave_minutes) == (540, 558, 12, 18, 0)
    assert (second.late_minutes, second.early_leave_minutes, second.overtime_minutes) == (0, 30, 0)
    saturday = day_of(sheet, date(2026, 11, 7))
    assert (saturday.planned_minutes, saturday.overtime_minutes) == (0, 120)
    evening = day_of(sheet, date(2026, 11, 9))
    assert (evening.late_minutes, evening.absent, evening.overtime_minutes) == (0, True, 0)
    assert [d.date for d in sheet.days if d.absent] == [days[2], days[3], date(2026, 11, 9)]
    assert sheet.totals["absences"] == 3 and sheet.totals["late_days"] == 1
    assert sheet.totals["planned_minutes"] == 5 * 540 + 240


def test_a_night_shift_counts_on_the_evening_it_began(owner, nurse, center):
    evening = date(2026, 11, 10)
    shift(nurse, center, evening, time(20), time(8))
    clocked(owner, nurse, center, evening, time(20, 5), time(8, 10), end_day=evening + timedelta(days=1))
    sheet = staff_sheet(db.session, nurse, MONTH, now=NOW)
    night = day_of(sheet, evening)
    assert (night.planned_minutes, night.worked_minutes, night.late_minutes, night.overtime_minutes) == (
        720, 725, 5, 5)
    morning = day_of(sheet, evening + timedelta(days=1))
    assert (morning.planned_minutes, morning.worked_minutes, morning.absent) == (0, 0, False)


@pytest.mark.parametrize("evening, real_hours", [
    (date(2026, 10, 24), 9),  # clocks go back an hour in the night: 22:00–06:00 lasts nine hours
    (date(2026, 3, 28), 7),  # clocks go forward: it lasts seven
])
def test_a_daylight_saving_night_is_as_long_as_it_really_was(owner, nurse, evening, real_hours):
    berlin = Clinic(name="Berlin test branch", address="Teststraße 1", time_zone="Europe/Berlin")
    db.session.add(berlin)
    nurse.clinics.append(berlin)
    db.session.flush()
    shift(nurse, berlin, evening, time(22), time(6))
    clocked(owner, nurse, berlin, evening, time(22), time(6), end_day=evening + timedelta(days=1))
    night = day_of(staff_sheet(db.session, nurse, evening.replace(day=1), now=NOW), evening)
    assert night.planned_minutes == night.worked_minutes == real_hours * 60
    assert (night.late_minutes, night.overtime_minutes, night.early_leave_minutes) == (0, 0, 0)


def test_a_month_is_typed_as_year_and_month():
    assert parse_month("2026-02") == date(2026, 2, 1)
    for wrong in ("2026-13", "02.2026", "", None):
        with pytest.raises(DomainError) as refused:
            parse_month(wrong)
        assert refused.value.field == "month"


def test_late_today_lists_who_came_late_or_has_not_come(owner, nurse, center):
    today = NOW.astimezone(at_local(center, MONTH, time(0)).tzinfo).date()
    shift(nurse, center, today, time(16), time(21))  # began an hour before NOW

    def hers():
        return [(shift.staff_id, came, minutes) for shift, came, minutes in late_today(db.session, [center.id], now=NOW)
                if shift.staff_id == nurse.id]

    assert hers() == [(nurse.id, None, 60)]
    south = db.session.execute(select(Clinic).where(Clinic.id != center.id).order_by(Clinic.id)).scalars().first()
    nurse.clinics.append(south)
    clocked(owner, nurse, south, today, time(16, 5))  # clocked in at another branch: still late at hers
    assert hers() == [(nurse.id, None, 60)]
    db.session.rollback()
    shift(nurse, center, today, time(16), time(21))
    came = clocked(owner, nurse, center, today, time(16, 20)).clock_in
    assert hers() == [(nurse.id, came, 20)]
    later = late_today(db.session, [center.id], now=NOW + timedelta(hours=5))  # 22:00: her shift has ended
    assert nurse.id not in [shift.staff_id for shift, _came, _minutes in later]


# -- the kiosk ------------------------------------------------------------------------------------------


def test_the_owner_sets_a_pin_of_digits(owner, admin, nurse):
    with pytest.raises(NotAllowed):
        set_pin(db.session, admin, nurse, "2468")
    for wrong in ("12", "abcd", "123456789"):
        with pytest.raises(DomainError) as refused:
            set_pin(db.session, owner, nurse, wrong)
        assert refused.value.field == "new_pin"
    set_pin(db.session, owner, nurse, "2468")
    assert nurse.pin_hash and "2468" not in nurse.pin_hash


def test_a_pin_clocks_in_then_out_and_wrong_pins_lock_the_person(owner, nurse, center):
    set_pin(db.session, owner, nurse, "2468")
    action, entry = punch(db.session, nurse, "2468", center, "10.0.0.5")
    assert action == "in" and open_entry(db.session, nurse) is entry
    action, closed = punch(db.session, nurse, "2468", center, "10.0.0.5", now=entry.clock_in + timedelta(hours=8))
    assert action == "out" and closed is entry and entry.clock_out - entry.clock_in == timedelta(hours=8)
    for _ in range(PIN_FAILURES):
        with pytest.raises(DomainError, match="Wrong PIN"):
            punch(db.session, nurse, "0000", center, "10.0.0.5")
    with pytest.raises(DomainError, match="Too many wrong PINs"):
        punch(db.session, nurse, "2468", center, "10.0.0.5")
    assert open_entry(db.session, nurse) is None


def test_the_reception_kiosk_clocks_a_person_in(client, auth, owner, nurse, center):
    set_pin(db.session, owner, nurse, "2468")
    db.session.commit()
    auth.as_role("administrator")
    page = client.get("/admin/kiosk/").get_data(as_text=True)
    assert nurse.full_name in page
    post(client, auth, "/admin/kiosk/", {"clinic_id": center.id, "staff_id": nurse.id, "pin": "1111"})
    assert "Wrong PIN" in client.get("/admin/kiosk/").get_data(as_text=True)
    assert open_entry(db.session, nurse) is None
    post(client, auth, "/admin/kiosk/", {"clinic_id": center.id, "staff_id": nurse.id, "pin": "2468"})
    page = client.get("/admin/kiosk/").get_data(as_text=True)
    assert f"{nurse.full_name} clocked in at" in page
    db.session.expire_all()
    assert open_entry(db.session, nurse).clinic_id == center.id
    auth.as_role("doctor")
    assert client.get("/admin/kiosk/").status_code == 403


def test_a_person_clocks_in_from_their_own_session(client, auth, center):
    me = auth.as_role("doctor")
    post(client, auth, "/admin/my-time/", {"clinic_id": center.id})
    assert "You clocked in." in client.get("/admin/my-time/").get_data(as_text=True)
    db.session.expire_all()
    assert open_entry(db.session, me) is not None


# -- the owner's timesheet -----------------------------------------------------------------------------------


def test_the_owner_reads_the_timesheet_on_screen_in_pdf_and_csv(client, auth, owner, nurse, center):
    day = date(2026, 11, 2)
    shift(nurse, center, day, time(9), time(18))
    clocked(owner, nurse, center, day, time(9, 12), time(18, 30))
    db.session.commit()
    auth.as_role("owner")
    query = f"?clinic={center.id}&month=2026-11"
    page = client.get(f"/admin/timesheet/{query}").get_data(as_text=True)
    assert nurse.full_name in page and "9:18" in page  # worked 558 minutes
    rows = list(csv.DictReader(StringIO(client.get(f"/admin/timesheet/sheet.csv{query}").get_data(as_text=True)
                                        .lstrip("\ufeff")), delimiter=";"))
    mine = next(row for row in rows if row["staff_id"] == str(nurse.id) and row["date"] == day.isoformat())
    assert (mine["planned_minutes"], mine["worked_minutes"], mine["late_minutes"]) == ("540", "558", "12")
    pdf = client.get(f"/admin/timesheet/sheet.pdf{query}")
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(pdf.data)).pages)
    assert nurse.last_name in text and center.name in text and "9:18" in text
    auth.as_role("administrator")
    assert client.get(f"/admin/timesheet/{query}").status_code == 403


def test_the_owners_home_page_shows_todays_late_arrivals(client, auth, nurse, center):
    now = datetime.now(timezone.utc)
    # the shift's day is the branch's (after 21:00 UTC it is tomorrow in Moscow)
    db.session.add(Shift(staff=nurse, clinic=center, work_date=now.astimezone(clinic_zone(center)).date(),
                         starts_at=now - timedelta(minutes=45), ends_at=now + timedelta(hours=3)))
    db.session.commit()
    auth.as_role("owner")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Late today" in page and nurse.full_name in page


# -- the API ----------------------------------------------------------------------------------------------


def test_the_api_clocks_the_caller_and_reads_the_sheet(api, nurse):
    me = api.as_role("doctor")
    answer = api.post("/api/v1/timeclock", json={"action": "in"})
    assert answer.status_code == 201 and answer.get_json()["clock_out"] is None
    assert api.post("/api/v1/timeclock", json={"action": "in"}).status_code == 422  # already in
    assert api.post("/api/v1/timeclock", json={"action": "later"}).status_code == 422
    out = api.post("/api/v1/timeclock", json={"action": "out"})
    assert out.status_code == 200 and out.get_json()["clock_out"] is not None
    assert db.session.get(TimeClock, answer.get_json()["id"]).staff_id == me.id
    sheet = api.get("/api/v1/timeclock/sheet?month=2026-11").get_json()
    assert sheet["staff_id"] == me.id and len(sheet["days"]) == 30
    assert set(sheet["days"][0]) >= {"date", "planned_minutes", "worked_minutes", "late_minutes",
                                      "overtime_minutes"}
    assert api.get(f"/api/v1/timeclock/sheet?staff_id={nurse.id}").status_code == 403
    assert api.get("/api/v1/timeclock/sheet?month=11.2026").status_code == 422
    api.as_role("owner")
    assert api.get(f"/api/v1/timeclock/sheet?staff_id={nurse.id}&month=2026-11").get_json()["staff_id"] == nurse.id

"""The waiting list: entries added, changed and closed through
scheduling.waiting with clear messages; who fits a freed time; booking a
waiting patient books their entry."""
import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from stompro.errors import DomainError, NotAllowed
from stompro.extensions import db
from stompro.org.models import Specialty
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Appointment, WaitingEntry
from stompro.scheduling.waiting import (
    add_waiting_entry, book_from_waiting_list, change_waiting_entry, close_waiting_entry, fitting_entries,
)

from ..admin.pages import form_data, main_form
from ..conftest import doctor_works, staff_by_login

DAY = date(2027, 3, 10)  # a Wednesday the demo books nothing on


def _specialty(code):
    return db.session.execute(select(Specialty).filter_by(code=code)).scalar_one()


def _patient(last_name):
    patient = Patient(last_name=last_name, first_name="Вера", birth_date=date(1979, 6, 7), phone="+79160003344")
    db.session.add(patient)
    db.session.flush()
    return patient


def _entry(admin, center, last_name="Ожидаева", **asked):
    values = dict(patient=_patient(last_name), clinic=center, specialty=_specialty("therapy"), duration_min=30,
                  until=DAY + timedelta(days=30))
    values.update(asked)
    return add_waiting_entry(db.session, admin, **values)


def _entries():
    return db.session.scalar(select(func.count()).select_from(WaitingEntry))


def _refused(call, field, text):
    before = _entries()
    with pytest.raises(DomainError) as refused:
        call()
    assert (refused.value.field, text in str(refused.value.message)) == (field, True), refused.value.message
    assert _entries() == before


def test_an_entry_waits_with_its_days_in_order(app, admin, center):
    entry = _entry(admin, center, days="5, 3 1", time_from=time(9), time_to=time(13), note="  Хочет пораньше ")
    assert (entry.status, entry.days, entry.note, entry.appointment) == ("waiting", "135", "Хочет пораньше", None)


def test_the_list_shows_weekdays_and_hours_as_people_write_them(app, client, auth, admin, center):
    _entry(admin, center, "Спискова", days="135", time_from=time(9), time_to=time(13))
    db.session.commit()
    for language, days in (("en", "Mon, Wed, Fri"), ("ru", "пн, ср, пт")):
        auth.as_role("administrator", language=language)
        row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Спискова(?:(?!</tr>).)*</tr>",
                        client.get("/admin/waiting_entry/").get_data(as_text=True), re.S).group(0)
        cells = [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        assert days in cells and "09:00" in cells and "13:00" in cells, cells
        assert "09:00:00" not in row


def test_the_days_are_ticked_as_weekdays_on_the_screen(app, client, auth, admin, center):
    entry = _entry(admin, center, "Галочкина", days="135")
    db.session.commit()
    auth.as_role("administrator", language="ru")
    url = f"/admin/waiting_entry/edit/?id={entry.id}"
    form = main_form(client.get(url).get_data(as_text=True))
    assert [value for name, value in form["fields"] if name == "days"] == ["1", "3", "5"]
    assert 'for="days-2">вт</label>' in client.get(url).get_data(as_text=True)
    client.post(url, data=form_data(form))  # saved unchanged
    db.session.refresh(entry)
    assert entry.days == "135"
    client.post(url, data=form_data(form, days=["2", "4"]))
    db.session.refresh(entry)
    assert entry.days == "24"
    client.post(url, data=form_data(form, days=None))  # none ticked: any day
    db.session.refresh(entry)
    assert entry.days is None


@pytest.mark.parametrize("asked, field, text", [
    ({"specialty": None}, "specialty", "Choose the specialty or the doctor"),
    ({"clinic": None}, "clinic", "Choose the branch"),
    ({"patient": None}, "patient", "Choose the patient"),
    ({"duration_min": 0}, "duration_min", "from 5 to 720 minutes"),
    ({"duration_min": 721}, "duration_min", "from 5 to 720 minutes"),
    ({"duration_min": None}, "duration_min", "from 5 to 720 minutes"),
    ({"days": "8"}, "days", "from 1 (Monday) to 7 (Sunday)"),
    ({"days": "пн"}, "days", "from 1 (Monday) to 7 (Sunday)"),
    ({"days": "7"}, "days", "The branch does not work on any of these days"),
    ({"time_from": time(12), "time_to": time(11)}, "time_to", "after their start"),
    ({"time_from": time(12), "time_to": time(12, 20)}, "time_to", "shorter than the visit"),
    ({"until": None}, "until", "required"),
    ({"until": date(2020, 1, 1)}, "until", "This day has passed"),
    ({"until": date(2090, 1, 1)}, "until", "Enter a date from"),
    ({"note": "a\x00b"}, "note", "control characters"),
])
def test_bad_input_names_its_field_and_adds_nothing(app, admin, center, asked, field, text):
    _refused(lambda: _entry(admin, center, **asked), field, text)


def test_a_doctor_must_work_in_the_branch_and_be_of_the_specialty_asked(app, admin, center, south):
    therapist, surgeon = staff_by_login("doctor"), staff_by_login("morozov.sn")
    _refused(lambda: _entry(admin, center, doctor=surgeon), "doctor", "another specialty")
    _refused(lambda: _entry(admin, center, doctor=staff_by_login("admin"), specialty=None), "doctor",
             "Choose a doctor")
    owner = staff_by_login("owner")
    _refused(lambda: _entry(owner, south, doctor=therapist), "doctor", "does not work in this branch")
    assert _entry(admin, center, doctor=therapist, specialty=None).doctor == therapist


def test_a_person_keeps_the_lists_of_their_own_branches(app, admin, south):
    with pytest.raises(NotAllowed):
        _entry(admin, south)


def test_an_entry_changes_while_it_waits_then_closes_for_good(app, admin, center):
    entry = _entry(admin, center)
    change_waiting_entry(db.session, admin, entry, duration_min=60, days="24")
    assert (entry.duration_min, entry.days) == (60, "24")
    with pytest.raises(DomainError) as refused:
        change_waiting_entry(db.session, admin, entry, duration_min=3)
    assert refused.value.field == "duration_min"

    with pytest.raises(DomainError) as refused:
        change_waiting_entry(db.session, admin, entry, status="booked")
    assert refused.value.field == "status"

    change_waiting_entry(db.session, admin, entry, status="cancelled")
    assert entry.status == "cancelled"
    with pytest.raises(DomainError) as refused:
        change_waiting_entry(db.session, admin, entry, duration_min=45)
    assert (refused.value.field, entry.duration_min) == ("duration_min", 60)
    with pytest.raises(DomainError):
        change_waiting_entry(db.session, admin, entry, status="waiting")


def test_who_fits_a_freed_time(app, admin, center, south):
    """10:00–11:00 on a Wednesday with the therapist Kovalyova is freed."""
    therapist = staff_by_login("doctor")
    therapy = _specialty("therapy")
    starts_at = at_local(center, DAY, time(10))
    ends_at = starts_at + timedelta(hours=1)
    fitting = [
        _entry(admin, center, "Первая", duration_min=45),
        _entry(admin, center, "Врачебная", doctor=therapist, specialty=None, duration_min=60),
        _entry(admin, center, "Средовая", days="3", time_from=time(9, 30), time_to=time(10, 30)),
        _entry(admin, center, "Досрочная", until=DAY),
    ]
    owner = staff_by_login("owner")
    not_fitting = [
        _entry(admin, center, "Долгая", duration_min=90),
        _entry(admin, center, "Хирургическая", specialty=_specialty("surgery")),
        _entry(admin, center, "Другой-врач", doctor=staff_by_login("lebedev.io"), specialty=None),
        _entry(owner, south, "Южная", specialty=therapy),
        _entry(admin, center, "Пятничная", days="5"),
        _entry(admin, center, "Утренняя", time_from=time(9), time_to=time(10, 15)),
        _entry(admin, center, "Вечерняя", time_from=time(10, 45), time_to=time(20)),
        _entry(admin, center, "Поздняя", until=DAY - timedelta(days=1)),
    ]
    closed = _entry(admin, center, "Закрытая")
    close_waiting_entry(db.session, admin, closed)
    gone = _entry(admin, center, "Удалённая")
    gone.patient.deleted_at = gone.created_at

    found = fitting_entries(db.session, center, therapist, starts_at, ends_at)
    assert [e.patient.last_name for e in found] == [e.patient.last_name for e in fitting]
    assert not {e.id for e in found} & {e.id for e in not_fitting + [closed, gone]}


def test_booking_a_waiting_patient_books_their_entry(app, admin, center):
    doctor = doctor_works(DAY)
    entry = _entry(admin, center)
    starts_at = at_local(center, DAY, time(10))
    visit = book_from_waiting_list(db.session, admin, entry, center.rooms[0], doctor, starts_at,
                                   starts_at + timedelta(minutes=30))
    assert (visit.patient, visit.status, visit.booked_by) == (entry.patient, "booked", admin)
    assert (entry.status, entry.appointment) == ("booked", visit)
    assert fitting_entries(db.session, center, doctor, starts_at + timedelta(hours=1),
                           starts_at + timedelta(hours=2)) == []
    with pytest.raises(DomainError):
        close_waiting_entry(db.session, admin, entry)
    with pytest.raises(DomainError):
        book_from_waiting_list(db.session, admin, entry, center.rooms[0], doctor, starts_at + timedelta(hours=1),
                               starts_at + timedelta(hours=2))


def test_a_waiting_patient_stays_waiting_when_the_booking_is_refused(app, admin, center):
    doctor = doctor_works(DAY)
    entry = _entry(admin, center)
    starts_at = at_local(center, DAY, time(22))  # after the branch's hours
    visits = db.session.scalar(select(func.count()).select_from(Appointment))
    with pytest.raises(DomainError):
        book_from_waiting_list(db.session, admin, entry, center.rooms[0], doctor, starts_at,
                               starts_at + timedelta(minutes=30))
    assert entry.status == "waiting" and entry.appointment is None
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == visits

"""The slot finder: free placements inside shifts, ranked by the patient's
preferences, then by date, awkward gaps last."""
from datetime import date, time, timedelta

import pytest

from stompro.db import utcnow
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.scheduling.models import Absence, Closure
from stompro.scheduling.slots import find_slots

from .conftest import local, specialty_by_code, wall

MINUTES_30 = timedelta(minutes=30)


def starts(schedule, slots):
    return [local(schedule, slot.start) for slot in slots]


def test_slots_lie_inside_the_shift_and_fit_before_its_end(schedule):
    doctor = schedule.doctor()
    day = schedule.day(0)
    schedule.works(doctor, day, ("09:00", "11:00"))
    found = find_slots(db.session, duration=timedelta(minutes=60), first_day=day, last_day=day, doctor=doctor,
                       limit=100)
    # 09:15 and 09:45 would leave 15 minutes nobody can use: last.
    assert starts(schedule, found) == [wall(day, clock) for clock in ("09:00", "09:30", "10:00", "09:15", "09:45")]
    assert all(slot.end <= schedule.at(day, "11:00") for slot in found)
    assert {slot.room for slot in found} == {schedule.chairs[0]}  # the first free chair


def test_no_slot_on_a_closed_day_a_day_away_or_without_a_shift(schedule):
    doctor = schedule.doctor()
    closed, away, free, no_shift = (schedule.day(offset) for offset in range(4))
    schedule.works_days(doctor, (closed, away, free))
    db.session.add_all([
        Closure(clinic=schedule.clinic, first_day=closed, last_day=closed, reason="Holiday"),
        Absence(staff=doctor, first_day=away, last_day=away, kind="sick_leave"),
    ])
    db.session.flush()
    found = find_slots(db.session, duration=MINUTES_30, first_day=closed, last_day=no_shift, doctor=doctor,
                       limit=1000)
    assert {local(schedule, slot.start).date() for slot in found} == {free}


def test_a_visit_of_the_doctor_the_chair_or_the_patient_is_in_the_way(schedule):
    doctor, other_doctor = schedule.doctor(), schedule.doctor()
    patient, someone = schedule.patient(), schedule.patient()
    day = schedule.day(0)
    schedule.works(doctor, day, ("09:00", "12:00"), room=schedule.chairs[0])
    schedule.works(other_doctor, day, ("09:00", "12:00"), room=schedule.chairs[1])
    schedule.visit(doctor, someone, day, "09:00", 60, room=schedule.chairs[0])  # the doctor: 09–10
    schedule.visit(other_doctor, patient, day, "10:00", 60, room=schedule.chairs[1])  # the patient: 10–11
    found = find_slots(db.session, duration=MINUTES_30, first_day=day, last_day=day, doctor=doctor, patient=patient,
                       limit=100)
    assert sorted(starts(schedule, found)) == [wall(day, clock) for clock in ("11:00", "11:15", "11:30")]


def test_the_shifts_chair_is_the_one_booked_and_it_must_be_free(schedule):
    doctor, colleague = schedule.doctor(), schedule.doctor()
    day = schedule.day(0)
    schedule.works(doctor, day, ("09:00", "10:00"), room=schedule.chairs[1])
    schedule.works(colleague, day, ("09:00", "10:00"))
    schedule.visit(colleague, schedule.patient(), day, "09:00", 30, room=schedule.chairs[1])
    found = find_slots(db.session, duration=MINUTES_30, first_day=day, last_day=day, doctor=doctor, limit=100)
    assert starts(schedule, found) == [wall(day, "09:30")]
    assert found[0].room == schedule.chairs[1]


def test_preferred_days_and_hours_come_first_then_the_date(schedule):
    doctor = schedule.doctor()
    monday, tuesday, wednesday = schedule.day(0), schedule.day(1), schedule.day(2)
    schedule.works_days(doctor, (monday, tuesday, wednesday), ("09:00", "10:00"))
    schedule.works(doctor, wednesday + timedelta(days=7), ("16:00", "17:00"))
    patient = schedule.patient(preferred_days="3", preferred_time_from=time(9), preferred_time_to=time(12))
    found = find_slots(db.session, duration=timedelta(minutes=60), first_day=monday, last_day=wednesday + timedelta(days=7),
                       doctor=doctor, patient=patient)
    assert starts(schedule, found) == [
        wall(wednesday, "09:00"),  # Wednesday morning: preferred
        wall(monday, "09:00"), wall(tuesday, "09:00"), wall(wednesday + timedelta(days=7), "16:00"),  # by date
    ]
    assert [slot.preferred for slot in found] == [True, False, False, False]


def test_a_placement_that_leaves_a_useless_gap_comes_after_a_snug_one(schedule):
    doctor = schedule.doctor()
    day = schedule.day(0)
    schedule.works(doctor, day, ("09:00", "10:45"))
    schedule.visit(doctor, schedule.patient(), day, "10:00", 45)  # taken 10:00–10:45
    found = find_slots(db.session, duration=MINUTES_30, first_day=day, last_day=day, doctor=doctor, limit=100)
    # 09:15 leaves 15 minutes on each side that nobody can use; 09:00 and
    # 09:30 leave a usable half hour and fill up to the shift's start or the visit.
    assert starts(schedule, found) == [wall(day, "09:00"), wall(day, "09:30"), wall(day, "09:15")]
    assert [slot.awkward for slot in found] == [False, False, True]


def test_a_slot_flush_against_a_visit_off_the_grid_is_offered(schedule):
    doctor = schedule.doctor()
    day = schedule.day(0)
    schedule.works(doctor, day, ("09:00", "10:30"))
    schedule.visit(doctor, schedule.patient(), day, "09:00", 50)  # ends 09:50, off the 15-minute grid
    found = find_slots(db.session, duration=timedelta(minutes=40), first_day=day, last_day=day, doctor=doctor)
    assert starts(schedule, found)[0] == wall(day, "09:50")


def test_a_specialty_searches_its_doctors(schedule):
    therapist, surgeon = schedule.doctor("therapy"), schedule.doctor("surgery")
    day = schedule.day(0)
    schedule.works(therapist, day, ("09:00", "10:00"))
    schedule.works(surgeon, day, ("09:00", "10:00"))
    found = find_slots(db.session, duration=timedelta(minutes=60), first_day=day, last_day=day,
                       specialty=specialty_by_code("surgery"), clinic=schedule.clinic)
    assert [(slot.doctor, local(schedule, slot.start)) for slot in found] == [(surgeon, wall(day, "09:00"))]


def test_never_in_the_past(schedule):
    doctor = schedule.doctor()
    yesterday, tomorrow = date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    schedule.works(doctor, yesterday)
    schedule.works(doctor, tomorrow)
    found = find_slots(db.session, duration=MINUTES_30, first_day=yesterday, last_day=tomorrow, doctor=doctor,
                       limit=1000)
    assert found and all(slot.start >= utcnow() for slot in found)
    assert {local(schedule, slot.start).date() for slot in found} <= {date.today(), tomorrow}


@pytest.mark.parametrize("duration, first, last, field", [
    (timedelta(0), 0, 0, "duration"),
    (timedelta(hours=13), 0, 0, "duration"),
    (MINUTES_30, 3, 0, "to"),
    (MINUTES_30, 0, 400, "to"),
])
def test_an_impossible_search_names_its_field(schedule, duration, first, last, field):
    with pytest.raises(DomainError) as refused:
        find_slots(db.session, duration=duration, first_day=schedule.day(first), last_day=schedule.day(last),
                   doctor=schedule.doctor())
    assert refused.value.field == field


def test_a_long_search_reads_on_until_it_has_the_best_and_ranks_across_weeks(schedule):
    """The finder reads a week, then two, then four…: a preferred placement
    weeks away still outranks an earlier one outside the preferences, and
    the search stops only once enough of the best are found."""
    doctor = schedule.doctor()
    monday = schedule.day(0)
    schedule.works(doctor, monday, ("09:00", "10:00"))  # week 1: outside the preferred hours only
    late = monday + timedelta(days=23)  # in the third stretch (days 22–49)
    schedule.works(doctor, late, ("13:00", "14:00"))
    patient = schedule.patient(preferred_time_from=time(12), preferred_time_to=time(18))
    found = find_slots(db.session, duration=timedelta(minutes=60), first_day=monday,
                       last_day=monday + timedelta(days=60), doctor=doctor, patient=patient, limit=1)
    assert starts(schedule, found) == [wall(late, "13:00")]
    assert find_slots(db.session, duration=timedelta(minutes=60), first_day=monday, last_day=monday + timedelta(days=60),
                      doctor=doctor, limit=1)[0].start == schedule.at(monday, "09:00")

"""Booking a whole plan ahead: dependencies and healing gaps kept, long
stages first, the right specialty and the usual doctor, the patient's
preferences; what cannot be placed is said with the reason."""
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from stompro.errors import DomainError
from stompro.extensions import db
from stompro.scheduling.availability import local_day
from stompro.scheduling.cascade import apply_move
from stompro.scheduling.models import Appointment
from stompro.scheduling.plan_booking import apply_plan_booking, preview_plan_booking

from .conftest import local, wall


def visits_count():
    return db.session.scalar(select(func.count()).select_from(Appointment))


def by_stage(booking):
    return {placed.stage.position: placed for placed in booking.bookings}


def test_stages_keep_their_order_and_healing_gaps(schedule):
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(n) for n in range(30)])
    plan, _ = schedule.plan(patient, [{"minutes": 60}, {"minutes": 30, "gap": 7}, {"minutes": 45}])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert booking.unplaced == []
    placed = by_stage(booking)
    days = {position: local_day(schedule.clinic, placed[position].start) for position in placed}
    assert days[1] == schedule.day(0)
    assert days[2] == days[1] + timedelta(days=7)  # seven days of healing, no more
    assert days[3] == days[2] + timedelta(days=1)  # the next visit of the series comes the next day
    assert all(p.doctor == doctor and p.end - p.start == timedelta(minutes=p.stage.duration_min) for p in placed.values())


def test_a_preview_writes_nothing_and_apply_links_each_visit_to_its_stage(schedule):
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(n) for n in range(10)])
    plan, stages = schedule.plan(patient, [{"minutes": 60}, {"minutes": 30}])
    before = visits_count()
    preview = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert visits_count() == before and all(p.appointment is None for p in preview.bookings)
    applied = apply_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert visits_count() == before + 2
    assert [(p.start, p.stage) for p in applied.bookings] == [(p.start, p.stage) for p in preview.bookings]
    for placed in applied.bookings:
        visit = placed.appointment
        assert (visit.plan_stage, visit.patient, visit.doctor, visit.starts_at, visit.status) == (
            placed.stage, patient, doctor, placed.start, "booked")
    # Booked stages are not booked again.
    again = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert again.bookings == [] and again.unplaced == []


def test_the_longest_of_the_stages_that_may_go_is_placed_first(schedule):
    hygienist, therapist = schedule.doctor("hygiene"), schedule.doctor("therapy")
    patient = schedule.patient()
    day = schedule.day(0)
    schedule.works(hygienist, day, ("09:00", "12:00"))
    schedule.works(therapist, day, ("09:00", "12:00"))
    # Stage 2 runs beside stage 1: neither waits for the other.
    plan, _ = schedule.plan(patient, [{"minutes": 30, "specialty": "hygiene"},
                                      {"minutes": 90, "specialty": "therapy", "parallel": True}])
    placed = by_stage(preview_plan_booking(db.session, schedule.owner, plan, first_day=day))
    assert local(schedule, placed[2].start) == wall(day, "09:00")  # the long one takes the morning
    assert local(schedule, placed[1].start) == wall(day, "10:30")  # the short one fits after it
    assert (placed[1].doctor, placed[2].doctor) == (hygienist, therapist)


def test_each_stage_goes_to_a_doctor_of_its_specialty(schedule):
    therapist, surgeon = schedule.doctor("therapy"), schedule.doctor("surgery")
    patient = schedule.patient()
    for person in (therapist, surgeon):
        schedule.works_days(person, [schedule.day(n) for n in range(5)])
    plan, _ = schedule.plan(patient, [{"specialty": "surgery", "minutes": 60}, {"specialty": "therapy"}])
    placed = by_stage(preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0)))
    assert (placed[1].doctor, placed[2].doctor) == (surgeon, therapist)


def test_the_doctor_the_patient_saw_last_is_preferred(schedule):
    first, usual = schedule.doctor("therapy"), schedule.doctor("therapy")
    patient = schedule.patient()
    seen = db.session.execute(select(Appointment).where(Appointment.status == "done").limit(1)).scalar_one()
    seen.patient, seen.doctor = patient, usual  # a visit done with the usual doctor
    for person in (first, usual):
        schedule.works_days(person, [schedule.day(n) for n in range(5)])
    plan, _ = schedule.plan(patient, [{"minutes": 30}, {"minutes": 30}])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert {placed.doctor for placed in booking.bookings} == {usual}


def test_the_patients_preferred_days_and_hours_are_used(schedule):
    doctor = schedule.doctor()
    patient = schedule.patient(preferred_days="4", preferred_time_from=time(16), preferred_time_to=time(18))
    schedule.works_days(doctor, [schedule.day(n) for n in range(14)], ("09:00", "18:00"))
    plan, _ = schedule.plan(patient, [{"minutes": 60}, {"minutes": 60}])
    placed = by_stage(preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0)))
    assert local(schedule, placed[1].start) == wall(schedule.day(3), "16:00")  # Thursday afternoon
    assert local(schedule, placed[2].start) == wall(schedule.day(10), "16:00")  # the Thursday after


def test_a_booked_stage_anchors_the_stages_that_wait_for_it(schedule):
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(n) for n in range(20)])
    plan, stages = schedule.plan(patient, [{"minutes": 30}, {"minutes": 30, "gap": 3}])
    schedule.visit(doctor, patient, schedule.day(5), "11:00", 30, stage=stages[0])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert [placed.stage for placed in booking.bookings] == [stages[1]]
    assert local_day(schedule.clinic, booking.bookings[0].start) == schedule.day(8)


def test_a_stage_without_a_shift_within_the_horizon_is_unplaced_with_its_dependents(schedule):
    therapist, patient = schedule.doctor("therapy"), schedule.patient()
    schedule.doctor("surgery")  # works in the branch, but has no shift
    schedule.works_days(therapist, [schedule.day(n) for n in range(5)])
    plan, stages = schedule.plan(patient, [{"minutes": 30}, {"specialty": "surgery", "minutes": 60},
                                           {"minutes": 30, "gap": 14}])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0), horizon_days=30)
    assert [placed.stage for placed in booking.bookings] == [stages[0]]
    reasons = {stage.position: str(reason) for stage, reason in booking.unplaced}
    assert reasons[2] == "No shifts are planned for the doctors of this specialty. Plan their shifts, then book again."
    assert reasons[3] == "Waits for stage 2, which could not be placed."


def test_a_stage_past_the_planned_shifts_says_until_when_they_are_planned(schedule):
    therapist, patient, other = schedule.doctor("therapy"), schedule.patient(), schedule.patient()
    schedule.works_days(therapist, [schedule.day(n) for n in range(5)], hours=("09:00", "10:00"))
    for n in range(1, 5):
        schedule.visit(therapist, other, schedule.day(n), "09:00", 60)
    plan, _ = schedule.plan(patient, [{"minutes": 60}, {"minutes": 60, "gap": 1}, {"minutes": 60, "gap": 14}])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0), horizon_days=30)
    reasons = {stage.position: str(reason) for stage, reason in booking.unplaced}
    assert reasons[2] == ("No free time in the shifts of the doctors of this specialty, planned until "
                          f"{schedule.day(4):%d.%m.%Y}. Plan their shifts further, then book again.")
    assert reasons[3] == "Waits for stage 2, which could not be placed."


def test_a_stage_due_after_the_last_shift_says_until_when_shifts_are_planned(schedule):
    therapist, patient = schedule.doctor("therapy"), schedule.patient()
    schedule.works_days(therapist, [schedule.day(n) for n in range(5)])
    plan, _ = schedule.plan(patient, [{"minutes": 30}, {"minutes": 30, "gap": 20}])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0), horizon_days=60)
    [(_, reason)] = booking.unplaced
    assert str(reason) == (f"This visit comes on {schedule.day(20):%d.%m.%Y} at the earliest, but the shifts of the "
                           f"doctors of this specialty are planned until {schedule.day(4):%d.%m.%Y}. Plan their shifts "
                           "further, then book again.")


def test_a_stage_of_a_specialty_nobody_practises_here_is_unplaced(schedule):
    schedule.works(schedule.doctor("therapy"), schedule.day(0))
    plan, _ = schedule.plan(schedule.patient(), [{"specialty": "orthodontics"}])
    booking = preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert [str(reason) for _, reason in booking.unplaced] == ["No doctor of this specialty works in the branch."]


def test_a_plan_without_a_chosen_variant_is_refused(schedule):
    plan, _ = schedule.plan(schedule.patient(), [{}])
    plan.variants[0].chosen = False
    with pytest.raises(DomainError, match="Choose a variant first"):
        preview_plan_booking(db.session, schedule.owner, plan)


def test_a_parallel_stage_goes_on_the_day_of_the_stage_it_runs_beside(schedule):
    """Two specialists, one day — as the plan's payment schedule dates it —
    even when the parallel stage's own specialist is free earlier."""
    therapist, hygienist = schedule.doctor("therapy"), schedule.doctor("hygiene")
    patient = schedule.patient()
    schedule.works(therapist, schedule.day(2), ("09:00", "12:00"))
    schedule.works_days(hygienist, [schedule.day(n) for n in range(3)], ("09:00", "12:00"))
    plan, _ = schedule.plan(patient, [{"minutes": 60, "specialty": "therapy"},
                                      {"minutes": 30, "specialty": "hygiene", "parallel": True}])
    placed = by_stage(preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0)))
    assert local(schedule, placed[1].start) == wall(schedule.day(2), "09:00")
    assert local(schedule, placed[2].start) == wall(schedule.day(2), "10:00")  # after the therapist, same day


def test_a_parallel_stage_whose_partners_day_is_full_goes_on_the_nearest_day(schedule):
    therapist, hygienist = schedule.doctor("therapy"), schedule.doctor("hygiene")
    patient = schedule.patient()
    schedule.works(therapist, schedule.day(2), ("09:00", "10:00"))
    schedule.works_days(hygienist, [schedule.day(0), schedule.day(3)], ("09:00", "12:00"))
    plan, _ = schedule.plan(patient, [{"minutes": 60, "specialty": "therapy"},
                                      {"minutes": 30, "specialty": "hygiene", "parallel": True}])
    placed = by_stage(preview_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0)))
    assert local(schedule, placed[2].start) == wall(schedule.day(0), "09:00")


def test_a_booked_stage_takes_its_visits_day_and_follows_it_when_moved(schedule):
    """planning.schedule dates a stage by its planned date: the payment
    schedule then follows the visits actually booked."""
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(n) for n in range(10)])
    plan, stages = schedule.plan(patient, [{"minutes": 60}, {"minutes": 30, "gap": 3}])
    booking = apply_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert [stage.planned_date for stage in stages] == [schedule.day(0), schedule.day(3)]
    first = by_stage(booking)[1].appointment
    apply_move(db.session, schedule.owner, first, schedule.at(schedule.day(1), "09:00"))
    assert [stage.planned_date for stage in stages] == [schedule.day(1), schedule.day(4)]

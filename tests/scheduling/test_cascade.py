"""The cascading reschedule: a plan visit moved later moves the visits that
wait for it, keeping order and healing gaps; parallel visits stay; moving
earlier pulls nothing; applying is all or nothing, with version checks and
one audit row."""
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from stompro.audit.models import AuditLog
from stompro.errors import ConflictError, DomainError
from stompro.extensions import db
from stompro.scheduling.availability import local_day
from stompro.scheduling.cascade import apply_move, preview_move
from stompro.scheduling.models import Appointment
from stompro.scheduling.overdue import mark_overdue, overdue_grace
from stompro.scheduling.plan_booking import apply_plan_booking
from stompro.scheduling.services import HOLDING, Clash, change_visit

from .conftest import Schedule, local


def series(schedule, stages, days=40, doctors=1):
    """A patient, ``doctors`` therapists working ``days`` days, and a plan
    of ``stages`` booked ahead through the plan booking."""
    people = [schedule.doctor() for _ in range(doctors)]
    for person in people:
        schedule.works_days(person, [schedule.day(n) for n in range(days)])
    patient = schedule.patient()
    plan, made = schedule.plan(patient, stages)
    booking = apply_plan_booking(db.session, schedule.owner, plan, first_day=schedule.day(0))
    assert booking.unplaced == []
    visits = {placed.stage.position: placed.appointment for placed in booking.bookings}
    return people, patient, made, visits


def news(reschedule):
    return {move.visit.id: move.new_start for move in reschedule.moves}


def test_moving_a_visit_later_moves_the_visits_that_wait_for_it_keeping_the_gaps(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 60}, {"minutes": 30, "gap": 7}, {"minutes": 30, "gap": 2}])
    first, second, third = visits[1], visits[2], visits[3]
    old = {v.id: v.starts_at for v in visits.values()}
    delay = timedelta(days=3)
    preview = preview_move(db.session, schedule.owner, first, first.starts_at + delay)
    assert [move.visit for move in preview.moves] == [first, second, third] and preview.unplaced == []
    assert all(move.old_start == old[move.visit.id] for move in preview.moves)
    assert all(news(preview)[v.id] - old[v.id] >= delay for v in visits.values())
    day = {v.id: local_day(schedule.clinic, news(preview)[v.id]) for v in visits.values()}
    assert day[second.id] - day[first.id] >= timedelta(days=7)
    assert day[third.id] - day[second.id] >= timedelta(days=2)
    assert [v.starts_at for v in visits.values()] == list(old.values())  # a preview writes nothing


def test_a_parallel_visit_that_does_not_wait_stays(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 30}, {"minutes": 30, "after": 0, "gap": 1},
                                        {"minutes": 30, "after": 1, "parallel": True}])
    # Stage 3 runs beside stage 2: it waits for stage 1, not for stage 2.
    preview = preview_move(db.session, schedule.owner, visits[2], visits[2].starts_at + timedelta(days=2))
    assert [move.visit for move in preview.moves] == [visits[2]]


def test_a_parallel_visit_moves_with_what_both_wait_for(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 30}, {"minutes": 30, "after": 0, "gap": 1},
                                        {"minutes": 30, "after": 1, "parallel": True}])
    preview = preview_move(db.session, schedule.owner, visits[1], visits[1].starts_at + timedelta(days=2))
    assert {move.visit for move in preview.moves} == set(visits.values())


def test_when_the_shifted_time_is_taken_the_next_free_one_is_used(schedule):
    (doctor,), patient, stages, visits = series(schedule, [{"minutes": 60}, {"minutes": 60, "gap": 7}])
    second = visits[2]
    target = second.starts_at + timedelta(days=1)
    # Someone else holds the doctor at the shifted time of the second visit, and the hour after.
    schedule.visit(doctor, schedule.patient(), local_day(schedule.clinic, target), local(schedule, target).strftime("%H:%M"),
                   120, room=schedule.chairs[1])
    preview = preview_move(db.session, schedule.owner, visits[1], visits[1].starts_at + timedelta(days=1))
    assert news(preview)[second.id] == target + timedelta(minutes=120)


def test_moving_earlier_pulls_nothing(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 30}, {"minutes": 30, "gap": 2}, {"minutes": 30, "gap": 2}])
    second, third = visits[2], visits[3]
    apply_move(db.session, schedule.owner, second, second.starts_at + timedelta(days=3))
    later = third.starts_at
    preview = preview_move(db.session, schedule.owner, second, second.starts_at - timedelta(days=1))
    assert [move.visit for move in preview.moves] == [second]
    apply_move(db.session, schedule.owner, second, second.starts_at - timedelta(days=1))
    assert third.starts_at == later


def test_a_visit_cannot_come_before_what_it_waits_for(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 30}, {"minutes": 30, "gap": 7}])
    second = visits[2]
    with pytest.raises(DomainError, match="This visit waits for the visit of"):
        preview_move(db.session, schedule.owner, second, second.starts_at - timedelta(days=3))


def test_a_visit_that_is_not_of_a_plan_just_moves(schedule):
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works_days(doctor, [schedule.day(0), schedule.day(1)])
    visit = schedule.visit(doctor, patient, schedule.day(0), "10:00", 30)
    moved = apply_move(db.session, schedule.owner, visit, schedule.at(schedule.day(1), "11:00"))
    assert [(m.visit, m.new_start) for m in moved.moves] == [(visit, schedule.at(schedule.day(1), "11:00"))]
    assert visit.starts_at == schedule.at(schedule.day(1), "11:00")


def test_the_moved_time_itself_is_checked_as_a_booking(schedule):
    doctor, patient = schedule.doctor(), schedule.patient()
    schedule.works(doctor, schedule.day(0))
    visit = schedule.visit(doctor, patient, schedule.day(0), "10:00", 30)
    other = schedule.visit(doctor, schedule.patient(), schedule.day(0), "12:00", 30, room=schedule.chairs[1])
    with pytest.raises(Clash) as clash:
        preview_move(db.session, schedule.owner, visit, schedule.at(schedule.day(0), "12:15"))
    assert clash.value.visit == other
    with pytest.raises(DomainError, match="has no shift"):
        preview_move(db.session, schedule.owner, visit, schedule.at(schedule.day(1), "10:00"))


def test_apply_moves_everything_resets_confirmation_and_writes_one_reschedule_row(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 60}, {"minutes": 30, "gap": 7}])
    first, second = visits[1], visits[2]
    change_visit(db.session, schedule.owner, second, status="confirmed")
    preview = preview_move(db.session, schedule.owner, first, first.starts_at + timedelta(days=2))
    versions = {move.visit.id: move.version for move in preview.moves}
    applied = apply_move(db.session, schedule.owner, first, first.starts_at + timedelta(days=2), versions=versions)
    assert news(applied) == news(preview)
    assert {v.id: v.starts_at for v in (first, second)} == news(preview)
    assert second.status == "booked"  # to be confirmed again
    rows = db.session.execute(
        select(AuditLog).where(AuditLog.action == "reschedule", AuditLog.table_name == "appointment",
                               AuditLog.row_id == first.id)
    ).scalars().all()
    assert len(rows) == 1
    assert [(m["appointment_id"], m["new_start"]) for m in rows[0].changes["moves"]] == [
        (v.id, news(preview)[v.id].isoformat()) for v in (first, second)]


def test_a_visit_changed_since_the_preview_makes_apply_change_nothing(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 60}, {"minutes": 30, "gap": 7}])
    first, second = visits[1], visits[2]
    preview = preview_move(db.session, schedule.owner, first, first.starts_at + timedelta(days=2))
    versions = {move.visit.id: move.version for move in preview.moves}
    change_visit(db.session, schedule.owner, second, note="The patient called")  # someone else, meanwhile
    db.session.commit()
    before = {v.id: (v.starts_at, v.version) for v in (first, second)}
    with pytest.raises(ConflictError) as conflict:
        apply_move(db.session, schedule.owner, first, first.starts_at + timedelta(days=2), versions=versions)
    assert conflict.value.visit == second
    db.session.rollback()
    assert {v.id: (v.starts_at, v.version) for v in (first, second)} == before


def test_rebooking_a_missed_plan_visit_moves_the_visits_after_it(schedule):
    _, _, _, visits = series(schedule, [{"minutes": 60}, {"minutes": 30, "gap": 7}])
    first, second = visits[1], visits[2]
    missed_at, second_was = first.starts_at + overdue_grace(), second.starts_at
    assert first in mark_overdue(db.session, now=missed_at)
    later = first.starts_at + timedelta(days=3)
    apply_move(db.session, schedule.owner, first, later)
    assert first.starts_at == later and first.overdue_at is None  # expected again, no longer red
    assert second.starts_at > second_was
    assert local_day(schedule.clinic, second.starts_at) - local_day(schedule.clinic, later) >= timedelta(days=7)
    assert first not in mark_overdue(db.session, now=missed_at)


def test_apply_refuses_when_a_visit_finds_no_place(schedule):
    (doctor,), _, _, visits = series(schedule, [{"minutes": 60}, {"minutes": 30, "gap": 7}], days=8)
    first = visits[1]
    with pytest.raises(DomainError, match="Some visits cannot be moved"):
        apply_move(db.session, schedule.owner, first, first.starts_at + timedelta(days=1))
    preview = preview_move(db.session, schedule.owner, first, first.starts_at + timedelta(days=1))
    assert [visit for visit, _ in preview.unplaced] == [visits[2]]


# --- a property: nothing ever overlaps and every gap holds ---------------------------------


def random_plan(rng):
    stages = []
    for index in range(rng.randint(2, 6)):
        spec = {"minutes": rng.choice((30, 45, 60, 90)), "gap": rng.choice((0, 0, 1, 3, 7))}
        if index:
            spec["after"] = rng.randrange(index)
            spec["parallel"] = rng.random() < 0.25
        stages.append(spec)
    return stages


def assert_no_overlap(clinic):
    live = db.session.execute(
        select(Appointment).where(Appointment.clinic_id == clinic.id, Appointment.deleted_at.is_(None),
                                  Appointment.status.in_(HOLDING))
    ).scalars().all()
    for column in ("doctor_id", "room_id", "patient_id"):
        spans = {}
        for visit in live:
            spans.setdefault(getattr(visit, column), []).append((visit.starts_at, visit.ends_at, visit.id))
        for key, found in spans.items():
            found.sort()
            for (_, end, one), (start, _, other) in zip(found, found[1:]):
                assert end <= start, f"visits {one} and {other} overlap on {column} {key}"


def waited_for(stage):
    """(stage, gap days) that ``stage`` waits for: a parallel stage waits
    for what the stage it runs beside waits for."""
    if stage.depends_on is None:
        return []
    if stage.parallel:
        return waited_for(stage.depends_on)
    return [(stage.depends_on, stage.min_gap_days)]


def assert_gaps_hold(schedule, stages):
    visit_of = {v.plan_stage_id: v for v in db.session.execute(
        select(Appointment).where(Appointment.plan_stage_id.in_([s.id for s in stages]),
                                  Appointment.status.in_(HOLDING))).scalars()}
    for stage in stages:
        for before, gap in waited_for(stage):
            if before.id not in visit_of:
                continue
            later, earlier = visit_of[stage.id], visit_of[before.id]
            days = (local_day(schedule.clinic, later.starts_at) - local_day(schedule.clinic, earlier.starts_at)).days
            assert days >= max(gap, 1), f"stage {stage.position} comes {days} days after stage {before.position}"
            assert later.starts_at >= earlier.ends_at


@pytest.mark.parametrize("seed", range(30))
def test_random_plans_and_delays_never_overlap_and_keep_every_gap(owner, seed):
    rng = random.Random(seed)
    schedule = Schedule(owner)
    people = [schedule.doctor() for _ in range(2)]
    for person in people:
        for n in range(70):
            if rng.random() < 0.8:
                schedule.works(person, schedule.day(n), ("09:00", "13:00"))
    # Other patients' visits already in the way.
    for _ in range(rng.randint(0, 15)):
        person, day = rng.choice(people), schedule.day(rng.randrange(40))
        try:
            schedule.visit(person, schedule.patient(), day, f"{rng.randint(9, 12):02d}:{rng.choice(('00', '30'))}", 30,
                           room=rng.choice(schedule.chairs))
        except DomainError:
            pass  # no shift that day, or the time is taken
    patient = schedule.patient()
    plan, stages = schedule.plan(patient, random_plan(rng))
    booking = apply_plan_booking(db.session, owner, plan, first_day=schedule.day(0), horizon_days=60)
    assert_no_overlap(schedule.clinic)
    booked = {placed.stage.id for placed in booking.bookings}
    stages = [stage for stage in stages if stage.id in booked]
    if not booking.bookings:
        return
    assert_gaps_hold(schedule, stages)
    # Mostly the first visit, which the most wait for; a positive delay.
    visit = booking.bookings[0].appointment if rng.random() < 0.6 else rng.choice(booking.bookings).appointment
    delay = timedelta(days=rng.randint(0, 6), minutes=rng.choice((30, 60, 120)))
    target = visit.starts_at + delay
    try:
        preview = preview_move(db.session, owner, visit, target)
    except DomainError:
        return  # the moved time itself is not free: nothing to cascade
    if preview.unplaced:
        with pytest.raises(DomainError):
            apply_move(db.session, owner, visit, target)
        return
    apply_move(db.session, owner, visit, target, versions={m.visit.id: m.version for m in preview.moves})
    db.session.flush()
    assert_no_overlap(schedule.clinic)
    assert_gaps_hold(schedule, stages)
    assert all(m.new_start - m.old_start >= delay for m in preview.moves)

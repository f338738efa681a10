"""The cascading reschedule: moving a plan's visit later moves every visit
that waits for it.

A visit of a plan stage moved later by Δ shifts each visit of a stage that
waits for its stage — directly or through other stages of the variant
(plan_booking.prerequisites: a parallel stage does not wait for the stage it
runs beside) — by at least Δ, and then to the nearest free placement of its
doctor (its chair first) that keeps every dependency gap, the shifts and the
patient's preferred days and hours (any hours when none is free within
CASCADE_HORIZON_DAYS). Visits that do not wait for it stay; a visit moved
earlier pulls nothing.

The preview writes nothing. Applying recomputes it in the same transaction,
refuses when a visit changed since the preview (its version) or when some
visit finds no place, then moves each visit through services.change_visit
(a moved visit is to be confirmed again) and writes one audit row,
"reschedule", listing every move."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from ..audit.recorder import record_event
from ..db import utcnow
from ..errors import ConflictError, DomainError
from ..org.branches import require_branch
from ..org.models import Room, Staff
from ..planning.services import live_stages
from .availability import clinic_zone, local_day, working_time_problem
from .models import Appointment
from .plan_booking import earliest_after, holding_visits, prerequisites
from .services import BOOKING_GRACE, NEXT_STATUSES, Clash, change_visit, clash_message, find_clash
from .slots import FreeTime, Hold

CASCADE_HORIZON_DAYS = 90


@dataclass
class Move:
    visit: Appointment
    old_start: datetime
    new_start: datetime
    new_end: datetime
    doctor: Staff
    room: Room
    version: int  # the visit's version the preview saw


@dataclass
class Reschedule:
    moves: list = field(default_factory=list)  # [Move], the visit itself first
    unplaced: list = field(default_factory=list)  # [(Appointment, reason)]


class VisitChanged(ConflictError):
    """A visit of the reschedule changed since its preview (``visit``)."""

    def __init__(self, message, visit):
        super().__init__(message, field="versions")
        self.visit = visit


def preview_move(session, actor, visit, starts_at, doctor=None, room=None):
    """Where ``visit`` and the visits waiting for it go when it starts at
    ``starts_at`` (with ``doctor`` and in ``room`` when given); writes
    nothing. A time the visit itself cannot take is refused as a booking
    would be (DomainError, Clash)."""
    require_branch(actor, visit.clinic_id)
    if visit.deleted_at is not None or not NEXT_STATUSES[visit.status]:
        raise DomainError(_l("This visit is over; book a new one instead of changing it."), field="starts_at")
    doctor, room = doctor or visit.doctor, room or visit.room
    ends_at = starts_at + (visit.ends_at - visit.starts_at)
    delay = starts_at - visit.starts_at
    stages = live_stages(visit.plan_stage.variant) if visit.plan_stage is not None else []
    waits = prerequisites(stages)
    booked = holding_visits(session, stages)
    waiting = _waiting_visits(visit, stages, waits, booked) if delay > timedelta(0) else []
    moving = {visit.id} | {other.id for other in waiting}
    _require_place(session, visit, doctor, room, starts_at, ends_at, waits, booked, moving)

    moves = [Move(visit, visit.starts_at, starts_at, ends_at, doctor, room, visit.version)]
    reschedule = Reschedule(moves)
    if waiting:
        _follow(session, reschedule, visit, waiting, delay, waits, booked, moving)
    return reschedule


def apply_move(session, actor, visit, starts_at, doctor=None, room=None, versions=None):
    """Make the moves of ``preview_move`` in this transaction: a ConflictError
    (VisitChanged) when a visit's version differs from ``versions``
    ({visit id: version} as the preview showed them), a DomainError when a
    visit finds no place — in both cases nothing changes."""
    reschedule = preview_move(session, actor, visit, starts_at, doctor, room)
    if versions is not None:
        _require_versions(session, reschedule, versions)
    if reschedule.unplaced:
        names = "; ".join(f"{_when(other)} ({reason})" for other, reason in reschedule.unplaced)
        raise DomainError(_l("Some visits cannot be moved: %(visits)s. Nothing was changed.", visits=names),
                          field="starts_at")
    record = [_move_record(move) for move in reschedule.moves]
    try:
        # Latest first: every visit of a cascade moves later and they share
        # the patient, so the time each takes has been left by the one before.
        for move in sorted(reschedule.moves, key=lambda m: m.new_start, reverse=True):
            change_visit(session, actor, move.visit, starts_at=move.new_start, ends_at=move.new_end,
                         doctor=move.doctor, room=move.room)
    except StaleDataError:
        raise ConflictError(_l("Someone changed these visits meanwhile; look at the schedule again.")) from None
    record_event(session, "appointment", visit.id, "reschedule", {"moves": record})
    return reschedule


def _waiting_visits(visit, stages, waits, booked):
    """The live visits of the stages that wait for ``visit``'s stage,
    directly or through others, in an order where each comes after what it
    waits for."""
    if visit.plan_stage_id is None:
        return []
    after = {stage.id: [] for stage in stages}
    for stage in stages:
        for before, _ in waits[stage.id]:
            after[before.id].append(stage)
    order, seen, queue = [], {visit.plan_stage_id}, [visit.plan_stage_id]
    while queue:
        for stage in after.get(queue.pop(0), []):
            if stage.id not in seen:
                seen.add(stage.id)
                queue.append(stage.id)
                order.append(stage)
    ranked = {stage.id: index for index, stage in enumerate(_in_dependency_order(stages, waits))}
    order.sort(key=lambda stage: ranked[stage.id])
    return [other for stage in order for other in booked.get(stage.id, []) if other.id != visit.id]


def _in_dependency_order(stages, waits):
    done, order = set(), []
    pending = list(stages)
    while pending:
        ready = [s for s in pending if all(before.id in done for before, _ in waits[s.id])] or pending[:1]
        for stage in ready:
            pending.remove(stage)
            done.add(stage.id)
            order.append(stage)
    return order


def _require_place(session, visit, doctor, room, starts_at, ends_at, waits, booked, moving):
    """The moved visit's own new place: as a booking would check it, and no
    earlier than the stages it waits for allow."""
    if starts_at < utcnow() - BOOKING_GRACE:
        raise DomainError(_l("This time has passed; choose a time ahead."), field="starts_at")
    if room.clinic_id != visit.clinic_id:
        raise DomainError(_l("This chair is in another branch."), field="room")
    for before, gap in waits.get(visit.plan_stage_id, []):
        for other in booked.get(before.id, []):
            earliest = earliest_after(visit.clinic, other.starts_at, gap)
            if starts_at < earliest:
                raise DomainError(
                    _l("This visit waits for the visit of %(day)s: it can come on %(earliest)s at the earliest.",
                       day=f"{local_day(other.clinic, other.starts_at):%d.%m.%Y}",
                       earliest=f"{local_day(visit.clinic, earliest):%d.%m.%Y}"),
                    field="starts_at",
                )
    problem = working_time_problem(session, visit.clinic, doctor, starts_at, ends_at)
    if problem is not None:
        raise DomainError(problem, field="starts_at")
    found = find_clash(session, doctor.id, room.id, visit.patient_id, starts_at, ends_at, ignoring=moving)
    if found is not None:
        clash, field_name = found
        raise Clash(clash_message(clash, field_name), field_name, clash)


def _follow(session, reschedule, visit, waiting, delay, waits, booked, moving):
    """Place each waiting visit, in dependency order, after the new times."""
    new_start = {visit.id: reschedule.moves[0].new_start}
    first_day = local_day(visit.clinic, reschedule.moves[0].new_start)
    last_day = max(local_day(other.clinic, other.starts_at + delay) for other in waiting) + timedelta(
        days=CASCADE_HORIZON_DAYS)
    places = list({(other.doctor_id, other.clinic_id): (other.doctor, other.clinic) for other in waiting}.values())
    free = FreeTime(session, places, first_day, last_day, visit.patient, ignoring=moving)
    first = reschedule.moves[0]
    holds = [Hold(first.new_start, first.new_end, first.doctor.id, first.room.id, visit.patient_id)]
    stuck = set()
    for other in waiting:
        befores = [(before, gap) for before, gap in waits[other.plan_stage_id]]
        blocked = [b for b, _ in befores for v in booked.get(b.id, []) if v.id in stuck]
        if blocked:
            stuck.add(other.id)
            reschedule.unplaced.append((other, _l("It waits for a visit that cannot be moved.")))
            continue
        if not NEXT_STATUSES[other.status]:
            stuck.add(other.id)
            reschedule.unplaced.append((other, _l("This visit is over; book a new one instead of changing it.")))
            continue
        not_before = max([other.starts_at + delay] + [
            earliest_after(v.clinic, new_start.get(v.id, v.starts_at), gap)
            for before, gap in befores for v in booked.get(before.id, [])
        ])
        slot = _nearest(free.slots(other.doctor, other.clinic, other.ends_at - other.starts_at,
                                   not_before=not_before, room=other.room, held=holds))
        if slot is None:
            stuck.add(other.id)
            reschedule.unplaced.append((other, _l(
                "%(doctor)s has no free time for it within %(days)s days.", doctor=str(other.doctor),
                days=CASCADE_HORIZON_DAYS)))
            continue
        new_start[other.id] = slot.start
        holds.append(Hold(slot.start, slot.end, slot.doctor.id, slot.room.id, other.patient_id))
        reschedule.moves.append(Move(other, other.starts_at, slot.start, slot.end, slot.doctor, slot.room,
                                     other.version))


def _nearest(slots):
    """The first placement within the patient's preferences, else the first."""
    first = None
    for slot in slots:
        if slot.preferred:
            return slot
        first = first or slot
    return first


def _require_versions(session, reschedule, versions):
    for move in reschedule.moves:
        if versions.get(move.visit.id) != move.visit.version:
            raise VisitChanged(_l("The visit of %(when)s changed since the preview; look at it again.",
                                  when=_when(move.visit)), move.visit)
    for visit_id, version in versions.items():
        other = session.get(Appointment, visit_id)
        if other is not None and other.version != version:
            raise VisitChanged(_l("The visit of %(when)s changed since the preview; look at it again.",
                                  when=_when(other)), other)


def _when(visit):
    return f"{visit.starts_at.astimezone(clinic_zone(visit.clinic)):%d.%m.%Y %H:%M}"


def _move_record(move):
    return {
        "appointment_id": move.visit.id,
        "old_start": move.old_start.isoformat(),
        "new_start": move.new_start.isoformat(),
        "doctor_id": move.doctor.id,
        "room_id": move.room.id,
    }

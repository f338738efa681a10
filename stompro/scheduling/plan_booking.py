"""Booking a whole plan ahead: every stage of the chosen variant that holds
no visit yet gets one, in free time of a doctor of its specialty.

The order of a plan. A stage waits for the stage it depends on and comes on
a later day, at least ``min_gap_days`` after it (healing), the next day at
the earliest — two visits of a series are two visits. A ``parallel`` stage
does not wait for the stage it runs beside; it waits for what that stage
waits for, and goes on that stage's day when it can (two specialists, one
day: planning.schedule dates it so), else on the nearest day it can.
Stages already booked stay where they are and anchor the stages that wait
for them.

Placing. Among the stages whose prerequisites are placed, the longest goes
first, so short visits fit around long ones. Each takes the nearest day with
a placement within the patient's preferred days and hours (any placement if
none is), a snug one on that day (slots: no useless gap). The patient's
usual doctor of the stage's specialty — the one they saw last, else the one
this plan already books for it — is preferred over a colleague. Branch: the
plan's, else the person's own branches (all for the network roles).

A preview writes nothing; applying books each placement through
services.book_visit, linked to its stage."""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import takewhile

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..db import utcnow
from ..errors import DomainError
from ..org.branches import clinics_of, require_branch
from ..org.models import Clinic, Room, Staff
from ..patients.services import require_live_patient
from ..planning.models import PlanStage
from ..planning.services import live_stages, live_variants
from .availability import at_local, clinic_zone, last_shift_day, local_day
from .models import APPOINTMENT_KINDS, Appointment
from .services import HOLDING, book_visit
from .slots import FreeTime, Hold, doctor_places

DEFAULT_HORIZON_DAYS = 120
LONGEST_HORIZON_DAYS = 366
SEEN_STATUSES = ("arrived", "in_chair", "done")


@dataclass
class StageBooking:
    stage: PlanStage
    doctor: Staff
    room: Room
    clinic: Clinic
    start: datetime
    end: datetime
    appointment: Appointment | None = None


@dataclass
class PlanBooking:
    bookings: list = field(default_factory=list)  # [StageBooking] in time order
    unplaced: list = field(default_factory=list)  # [(PlanStage, reason)]


def prerequisites(stages):
    """{stage id: [(stage it waits for, gap in days)]} by the rules in the
    module docstring."""
    by_id = {stage.id: stage for stage in stages}
    waits = {}

    def of(stage, seen):
        if stage.id not in waits:
            before = by_id.get(stage.depends_on_id)
            if before is None or before.id in seen:
                waits[stage.id] = []
            elif stage.parallel:
                waits[stage.id] = of(before, seen | {stage.id})
            else:
                waits[stage.id] = [(before, stage.min_gap_days or 0)]
        return waits[stage.id]

    for stage in stages:
        of(stage, frozenset())
    return waits


def earliest_after(clinic, start, gap_days):
    """The first moment a stage may begin after a visit starting at
    ``start`` that it waits for ``gap_days`` after: the start of the
    branch's day ``gap_days`` (at least one) later."""
    return at_local(clinic, local_day(clinic, start) + timedelta(days=max(gap_days, 1)), time(0))


def holding_visits(session, stages):
    """{stage id: [live visits holding time]} of these stages."""
    found = {}
    if stages:
        visits = session.execute(
            select(Appointment).where(
                Appointment.plan_stage_id.in_([stage.id for stage in stages]),
                Appointment.deleted_at.is_(None), Appointment.status.in_(HOLDING),
            ).order_by(Appointment.starts_at)
        ).scalars()
        for visit in visits:
            found.setdefault(visit.plan_stage_id, []).append(visit)
    return found


def preview_plan_booking(session, actor, plan, first_day=None, horizon_days=DEFAULT_HORIZON_DAYS):
    """Where each not-yet-booked stage of the chosen variant would go, from
    ``first_day`` (default: today) for ``horizon_days``; writes nothing."""
    variant = _bookable_variant(plan)
    clinics = _booking_clinics(session, actor, plan)
    if not isinstance(horizon_days, int) or not 1 <= horizon_days <= LONGEST_HORIZON_DAYS:
        raise DomainError(_l("Book at most a year ahead."), field="horizon_days")
    first_day = first_day or local_day(clinics[0], utcnow())
    stages = live_stages(variant)
    booked = holding_visits(session, stages)
    placing = _Placing(session, plan, clinics, stages, booked, first_day, horizon_days)
    return placing.run()


def apply_plan_booking(session, actor, plan, first_day=None, horizon_days=DEFAULT_HORIZON_DAYS):
    """Book what the preview places, each visit linked to its stage (a
    stage that cannot be placed stays in ``unplaced``)."""
    booking = preview_plan_booking(session, actor, plan, first_day, horizon_days)
    for placed in booking.bookings:
        placed.appointment = book_visit(
            session, actor, clinic=placed.clinic, room=placed.room, doctor=placed.doctor, patient=plan.patient,
            starts_at=placed.start, ends_at=placed.end, kind=_visit_kind(placed.stage), plan_stage=placed.stage,
        )
    return booking


def _bookable_variant(plan):
    if plan.deleted_at is not None or plan.status in ("declined", "completed"):
        raise DomainError(_l("Only a plan being carried out is booked."), field="plan")
    require_live_patient(plan.patient)
    chosen = [variant for variant in live_variants(plan) if variant.chosen]
    if not chosen:
        raise DomainError(_l("Choose a variant first: the plan is booked from the chosen variant."), field="plan")
    return chosen[0]


def _booking_clinics(session, actor, plan):
    if plan.clinic_id is not None:
        require_branch(actor, plan.clinic_id)
        return [plan.clinic]
    clinics = clinics_of(session, actor)
    if not clinics:
        raise DomainError(_l("You do not work in this branch."), field="clinic")
    return clinics


def _visit_kind(stage):
    if stage.specialty is not None and stage.specialty.code == "hygiene":
        return "hygiene"
    return stage.kind if stage.kind in APPOINTMENT_KINDS else "treatment"


class _Placing:
    """One run of the placing rules over a variant's stages."""

    def __init__(self, session, plan, clinics, stages, booked, first_day, horizon_days):
        self.session, self.plan, self.patient = session, plan, plan.patient
        self.stages, self.booked = stages, booked
        self.waits = prerequisites(stages)
        self.first_day, self.last_day = first_day, first_day + timedelta(days=horizon_days)
        self.places = doctor_places(session, clinics=clinics)
        self.free = FreeTime(session, self.places, self.first_day, self.last_day, self.patient)
        self.floor = at_local(clinics[0], first_day, time(0))
        self.result = PlanBooking()
        self.starts = {stage_id: (visits[0].starts_at, visits[0].clinic) for stage_id, visits in booked.items()}
        self.usual = {}  # specialty id → doctor this plan books for it
        for visits in booked.values():
            self.usual.setdefault(visits[0].doctor.specialty_id, visits[0].doctor)
        self.holds = []
        self.seen = {}  # specialty id → doctor the patient saw last

    def run(self):
        pending = [stage for stage in self.stages if stage.id not in self.booked]
        failed = set()
        while pending:
            ready = [s for s in pending if all(p.id in self.starts or p.id in failed for p, _ in self.waits[s.id])]
            if not ready:  # a loop of dependencies: nothing of it can be placed
                for stage in pending:
                    self.result.unplaced.append((stage, _l("The stages wait for each other; fix the plan's order.")))
                break
            stage = max(ready, key=lambda s: (s.duration_min, -s.position))
            pending.remove(stage)
            waited = [before for before, _ in self.waits[stage.id] if before.id in failed]
            if waited:
                failed.add(stage.id)
                self.result.unplaced.append(
                    (stage, _l("Waits for stage %(position)s, which could not be placed.", position=waited[0].position))
                )
                continue
            reason = self._place(stage)
            if reason is not None:
                failed.add(stage.id)
                self.result.unplaced.append((stage, reason))
        self.result.bookings.sort(key=lambda booking: booking.start)
        self.result.unplaced.sort(key=lambda pair: pair[0].position)
        return self.result

    def _place(self, stage):
        """Book ``stage`` in the preview, or say why it cannot be."""
        places = [(d, c) for d, c in self.places if stage.specialty_id is None or d.specialty_id == stage.specialty_id]
        if not places:
            return _l("No doctor of this specialty works in the branch.")
        not_before = max([self.floor] + [
            earliest_after(self.starts[before.id][1], self.starts[before.id][0], gap)
            for before, gap in self.waits[stage.id]
        ])
        usual = self._usual_doctor(stage.specialty_id)
        duration = timedelta(minutes=stage.duration_min)
        best = None
        beside = self._partner_day(stage)
        if beside is not None:  # two specialists, one day: the day of the stage it runs with
            partner_day, partner_clinic = beside
            day_start = at_local(partner_clinic, partner_day, time(0))
            if day_start >= not_before:
                best = self._best(places, duration, day_start, usual, on_day=partner_day)
        if best is None:
            best = self._best(places, duration, not_before, usual)
        if best is None:
            return self._why_no_time(places, not_before)
        slot = best[1]
        self.result.bookings.append(StageBooking(stage, slot.doctor, slot.room, slot.clinic, slot.start, slot.end))
        self.holds.append(Hold(slot.start, slot.end, slot.doctor.id, slot.room.id, self.patient.id))
        self.starts[stage.id] = (slot.start, slot.clinic)
        self.usual.setdefault(stage.specialty_id, slot.doctor)
        return None

    def _best(self, places, duration, not_before, usual, on_day=None):
        """The best placement among ``places`` from ``not_before`` (on
        ``on_day`` only, when given): within the preferences, with the usual
        doctor, on the nearest day, snug."""
        best = None
        for doctor, clinic in places:
            slots = self.free.slots(doctor, clinic, duration, not_before=not_before, held=self.holds)
            if on_day is not None:
                slots = takewhile(lambda slot, c=clinic: local_day(c, slot.start) == on_day, slots)
            slot = nearest_slot(slots, clinic_zone(clinic))
            if slot is None:
                continue
            key = (not slot.preferred, doctor is not usual, local_day(clinic, slot.start), slot.awkward, slot.start,
                   doctor.id)
            if best is None or key < best[0]:
                best = key, slot
        return best

    def _partner_day(self, stage):
        """(day, branch) of a placed stage this one runs beside — the stage
        a parallel stage depends on, or a parallel stage depending on this
        one — plus the parallel stage's gap; or None."""
        for other in self.stages:
            if stage.parallel and other.id == stage.depends_on_id:
                gap = stage.min_gap_days or 0
            elif other.parallel and other.depends_on_id == stage.id:
                gap = -(other.min_gap_days or 0)
            else:
                continue
            if other.id in self.starts:
                start, clinic = self.starts[other.id]
                return local_day(clinic, start) + timedelta(days=gap), clinic
        return None

    def _why_no_time(self, places, not_before):
        """No placement until the horizon: when the doctors' shifts run out
        before it, that is the cause to name (shifts are planned weeks ahead,
        a plan's healing gaps reach months ahead)."""
        planned_until = last_shift_day(self.session, places)
        if planned_until is None:
            return _l("No shifts are planned for the doctors of this specialty. Plan their shifts, then book again.")
        earliest = local_day(places[0][1], not_before)
        if planned_until < earliest:
            return _l("This visit comes on %(day)s at the earliest, but the shifts of the doctors of this specialty "
                      "are planned until %(last)s. Plan their shifts further, then book again.",
                      day=f"{earliest:%d.%m.%Y}", last=f"{planned_until:%d.%m.%Y}")
        if planned_until < self.last_day:
            return _l("No free time in the shifts of the doctors of this specialty, planned until %(day)s. Plan "
                      "their shifts further, then book again.", day=f"{planned_until:%d.%m.%Y}")
        return _l("No free time of a doctor of this specialty until %(day)s.", day=f"{self.last_day:%d.%m.%Y}")

    def _usual_doctor(self, specialty_id):
        """The doctor of this specialty the patient saw last, else the one
        this plan books for it."""
        if specialty_id is None:
            return None
        if specialty_id not in self.seen:
            self.seen[specialty_id] = self._last_seen(specialty_id)
        return self.seen[specialty_id] or self.usual.get(specialty_id)

    def _last_seen(self, specialty_id):
        return self.session.execute(
            select(Staff)
            .join(Appointment, Appointment.doctor_id == Staff.id)
            .where(
                Appointment.patient_id == self.patient.id, Appointment.deleted_at.is_(None),
                Appointment.status.in_(SEEN_STATUSES), Staff.specialty_id == specialty_id,
            )
            .order_by(Appointment.starts_at.desc())
            .limit(1)
        ).scalar_one_or_none()


def nearest_slot(slots, zone):
    """Of placements in time order: on the nearest day that has one within
    the patient's preferences (else the nearest day at all), a snug one if
    that day has it, else its first."""
    best = best_key = None
    for slot in slots:
        day = slot.start.astimezone(zone).date()
        if best is not None and best.preferred and day > best_key[1]:
            break
        key = (not slot.preferred, day, slot.awkward, slot.start)
        if best is None or key < best_key:
            best, best_key = slot, key
            if slot.preferred and not slot.awkward:
                break
    return best

"""Overdue visits: a booked or confirmed visit whose start passed by the
grace period (OVERDUE_GRACE_MINUTES) without the patient arriving is marked
overdue — the board shows it red — and its branch's reception gets a call
task to rebook it, in the task book's "overdue visits" tab.

``flask schedule mark-overdue`` runs this now; the periodic job will call
the same function. Running it again marks nothing twice and makes no second
task: a marked visit keeps its ``overdue_at``, and the task's dedupe key
(unique in the database) is the visit's and its time's. Moving the visit
(rebooking it) clears ``overdue_at`` (scheduling.services.change_visit)."""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..tasks.models import TaskRule
from ..tasks.services import add_task_once
from .models import Appointment

# Visits still waiting for the patient.
AWAITED = ("booked", "confirmed")
TASK_RULE = "overdue_visit"
TASK_TAB = "overdue_visits"
TASK_QUEUE = "reception"  # the branch's administrators
DEFAULT_PRIORITY = 2


def overdue_grace():
    return timedelta(minutes=int(current_app.config["OVERDUE_GRACE_MINUTES"]))


def mark_overdue(session, now=None):
    """Mark every visit overdue whose start passed by the grace period with
    the patient not arrived, and make its rebooking task. Returns the visits
    marked now; flushes, the caller commits."""
    now = now or utcnow()
    visits = session.execute(
        select(Appointment)
        .where(
            Appointment.deleted_at.is_(None),
            Appointment.status.in_(AWAITED),
            Appointment.arrived_at.is_(None),
            Appointment.overdue_at.is_(None),
            Appointment.starts_at <= now - overdue_grace(),
        )
        .options(joinedload(Appointment.patient))
        .order_by(Appointment.starts_at, Appointment.id)
    ).scalars().all()
    rule = session.execute(select(TaskRule).where(TaskRule.code == TASK_RULE, TaskRule.active.is_(True))).scalar()
    for visit in visits:
        visit.overdue_at = now
        _rebooking_task(session, visit, rule, now)
    session.flush()
    return visits


def rebooking_key(visit):
    """The dedupe key of a visit's rebooking task: one per visit and time (a
    visit rebooked and missed again is another call to make)."""
    return f"overdue:{visit.id}:{visit.starts_at:%Y%m%dT%H%MZ}"


def _rebooking_task(session, visit, rule, now):
    add_task_once(
        session, rebooking_key(visit), _l("Rebook the missed visit"), tab=TASK_TAB,
        priority=rule.priority if rule is not None else DEFAULT_PRIORITY, rule=rule, patient=visit.patient,
        appointment=visit, plan=visit.plan_stage.variant.plan if visit.plan_stage is not None else None,
        clinic_id=visit.clinic_id, queue=TASK_QUEUE, due_at=now,
    )

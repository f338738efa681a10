"""No lost patients: every patient with an accepted or running treatment plan
is in exactly one state, and the ones in none of the good states are lost.

- ``booked``: a live visit of the patient from now on;
- ``call_back``: else, an open task of the patient with a call-back time to come;
- ``refused``: else, a task about the plan closed with the call result
  "refused" after the patient's last finished visit (or ever, if none) — a
  refusal before a later visit was overtaken by that visit;
- ``lost``: none of these.

The state is one SQL CASE (``plan_state``), so the states are exclusive and
complete by construction, and the list, its count, the home pages and the
API read the same expression. A plan belongs to its branch, or else to its
patient's home branch; a person sees the plans of their branches."""
from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..db import utcnow
from ..errors import DomainError
from ..org.branches import clinics_of, works_network_wide
from ..org.models import Clinic, Staff
from ..patients.models import Patient
from ..planning.models import TreatmentPlan
from ..scheduling.availability import local_day
from ..scheduling.models import Appointment
from ..scheduling.services import booked_from
from .models import Task, TaskRule
from .titles import TITLES
from .services import create_task

STATES = ("booked", "call_back", "refused", "lost")
RUNNING_PLANS = ("accepted", "in_progress")
RULE = "plan_continuation"  # the call is the one that rule makes; its priority applies
TASK_TAB = "scheduled_calls"
TASK_QUEUE = "call_center"
DEFAULT_PRIORITY = 3


class PlanState(NamedTuple):
    plan: TreatmentPlan
    patient: Patient
    state: str
    last_visit: object  # the latest finished visit's start, or None
    last_contact: object  # when the patient's latest closed task was closed, or None
    coordinator: Staff | None
    clinic: Clinic | None  # the branch the plan belongs to (its own, else the patient's home)


def branches_of(session, staff):
    """The ``clinics`` argument for a person: None (every plan) for the
    network roles, else their own branches."""
    return None if works_network_wide(staff) else clinics_of(session, staff)


def plan_states(session, now=None, clinics=None):
    """Every live accepted or running plan of a live patient with its state,
    the last visit, the last contact and the coordinator — in one query.
    ``clinics``: only the plans of these branches (None: all)."""
    return _rows(session, _query(now or utcnow(), clinics))


def lost_plans(session, now=None, clinics=None):
    """The plans whose state is ``lost``."""
    query = _query(now or utcnow(), clinics)
    return _rows(session, query.where(query.selected_columns.state == "lost"))


def count_lost_patients(session, now=None, clinics=None):
    """How many patients have a lost plan (a patient with two counts once)."""
    query = _query(now or utcnow(), clinics)
    lost = query.where(query.selected_columns.state == "lost").order_by(None)
    return session.scalar(lost.with_only_columns(func.count(func.distinct(TreatmentPlan.patient_id)),
                                                 maintain_column_froms=True))


def make_call_task(session, actor, plan, now=None):
    """The call center's task to bring the plan's patient back, made at most
    once a day per plan (its dedupe key is unique): a second click, or two
    people at once, get the task already made. Flushes; the caller commits."""
    now = now or utcnow()
    if plan.deleted_at is not None or plan.status not in RUNNING_PLANS or plan.patient.deleted_at is not None:
        raise DomainError(_l("This plan is no longer being carried out."))
    clinic = plan.clinic or plan.patient.home_clinic
    key = call_task_key(plan, clinic, now)
    existing = session.execute(select(Task).where(Task.dedupe_key == key)).scalar()
    if existing is not None:
        return existing
    rule = session.execute(select(TaskRule).where(TaskRule.code == RULE, TaskRule.active.is_(True))).scalar()
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):  # stored text, in the clinic's language
        title = str(TITLES[RULE])
    try:
        with session.begin_nested():
            task = create_task(
                session, actor, tab=TASK_TAB, priority=rule.priority if rule is not None else DEFAULT_PRIORITY,
                title=title, patient=plan.patient, plan=plan, clinic=clinic, queue=TASK_QUEUE, due_at=now,
            )
            task.rule, task.dedupe_key = rule, key
            session.flush()
    except IntegrityError:  # someone else made it meanwhile
        return session.execute(select(Task).where(Task.dedupe_key == key)).scalar_one()
    return task


def call_task_key(plan, clinic, now):
    """One call task per plan and (the branch's) day."""
    day = local_day(clinic, now) if clinic is not None else now.date()
    return f"lost:{plan.id}:{day:%Y%m%d}"


# -- the query ------------------------------------------------------------------------


def _query(now, clinics):
    coordinator = aliased(Staff)
    branch_id = func.coalesce(TreatmentPlan.clinic_id, Patient.home_clinic_id)
    last_visit = _last_visit(TreatmentPlan.patient_id)
    query = (
        select(
            TreatmentPlan, Patient, plan_state(now).label("state"), last_visit.label("last_visit"),
            _last_contact(TreatmentPlan.patient_id).label("last_contact"), coordinator, Clinic,
            TreatmentPlan.patient_id.label("patient_id"),
        )
        .join(Patient, TreatmentPlan.patient_id == Patient.id)
        .outerjoin(coordinator, Patient.coordinator_id == coordinator.id)
        .outerjoin(Clinic, Clinic.id == branch_id)
        .where(
            TreatmentPlan.deleted_at.is_(None), TreatmentPlan.status.in_(RUNNING_PLANS), Patient.deleted_at.is_(None),
        )
        .order_by(Patient.last_name, Patient.first_name, Patient.id, TreatmentPlan.id)
    )
    if clinics is not None:
        ids = [getattr(clinic, "id", clinic) for clinic in clinics]
        query = query.where(branch_id.in_(ids) if ids else literal(False))
    return query


def plan_state(now):
    """The one place the states are decided: the first that holds wins, and
    whatever holds none is lost."""
    task, refusal = aliased(Task), aliased(Task)
    last_visit = _last_visit(TreatmentPlan.patient_id)
    booked = booked_from(now, TreatmentPlan.patient_id)
    call_back = exists().where(
        task.patient_id == TreatmentPlan.patient_id, task.status == "open", task.call_back_at.is_not(None),
        task.call_back_at >= now,
    )
    refused = exists().where(
        refusal.plan_id == TreatmentPlan.id, refusal.status != "open", refusal.call_result == "refused",
        or_(last_visit.is_(None), refusal.done_at > last_visit),
    )
    return case((booked, "booked"), (call_back, "call_back"), (refused, "refused"), else_="lost")


def _last_visit(patient_id):
    """The start of the patient's latest finished visit (a scalar subquery)."""
    visit = aliased(Appointment)
    return (
        select(func.max(visit.starts_at))
        .where(visit.patient_id == patient_id, visit.deleted_at.is_(None), visit.status == "done")
        .correlate_except(visit)
        .scalar_subquery()
    )


def _last_contact(patient_id):
    """When the patient's latest closed task was closed (a scalar subquery)."""
    task = aliased(Task)
    return (
        select(func.max(task.done_at))
        .where(task.patient_id == patient_id, task.status != "open", task.done_at.is_not(None))
        .correlate_except(task)
        .scalar_subquery()
    )


def _rows(session, query):
    return [
        PlanState(plan=row[0], patient=row[1], state=row.state, last_visit=row.last_visit,
                  last_contact=row.last_contact, coordinator=row[5], clinic=row[6])
        for row in session.execute(query)
    ]

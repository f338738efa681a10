"""The rules that fill the task book (task_rule rows: active, priority,
parameters — the owner's to configure). ``generate_tasks`` runs every active
rule once: ``flask --app app tasks generate`` daily, and the periodic job.

Each task is made at most once per subject: its ``dedupe_key`` names the
rule and what the task is about, and is unique in the database, so a rerun
— or two runs racing — finds the task instead of making another. The keys:

- confirm_tomorrow: ``confirm:<visit>:<start>`` — the booked (not yet
  confirmed) visits of the branch's next working day; on the day before a
  closed day, those of the next open day too. A visit moved to another
  time is another call.
- care_call_after_surgery: ``care:<visit>`` — ``days_after`` (1) after a
  finished visit of a surgeon or an implantologist, or of a surgical plan stage.
- hygiene_recall: ``recall:<last hygiene visit>`` — ``months`` (6) after a
  patient's last finished hygiene visit, when nothing is booked.
- plan_continuation: ``plan:<plan>:<last visit's start or 0>`` — the plans
  of the lost patients (tasks.lost: an accepted or running plan, nothing
  booked, no call-back time set, no refusal since the last visit).
- vip_birthday: ``birthday:<patient>:<year>`` — patients tagged ``tag``
  (VIP) on their birthday (29 February on the 28th in other years).
- unsigned_documents: ``documents:<visit>:<start>`` — the next working
  day's visits whose patient has still to sign what the documents gate
  asks for (documents.gate).
- overdue_visit: scheduling.overdue, which makes its own tasks.

The patients of the recall, care and birthday rules are also written to:
the rule plans a message of the same key in the outbox (messaging.outbox),
if the patient agreed to SMS or e-mail; the task is the call.

Task titles are stored in the clinic's language (DEFAULT_LANGUAGE)."""
from calendar import isleap, monthrange
from datetime import date, time, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, extract, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from ..db import existing, utcnow
from ..documents.gate import missing_for_visits
from ..messaging.outbox import plan_patient_messages
from ..org.models import Clinic, Specialty, Staff
from ..patients.models import Patient, PatientTag
from ..planning.models import PlanStage
from ..scheduling.availability import at_local, branch_hours, closed_days, local_day
from ..scheduling.models import Appointment
from ..scheduling.overdue import mark_overdue
from ..scheduling.services import HOLDING, booked_from
from .lost import lost_plans
from .models import Task, TaskRule
from .titles import TITLES

# Specialties whose finished visits are followed by a care call.
SURGICAL = ("surgery", "implantology")
# How many days ahead "the next open day" is looked for after closed ones.
LONGEST_CLOSURE_DAYS = 14
# The rules whose patients are also written to (messaging.outbox), and the kind of message.
MESSAGES = {"hygiene_recall": "recall", "care_call_after_surgery": "care", "vip_birthday": "birthday"}
# A run that makes this many tasks refreshes PostgreSQL's statistics of the tables it grew.
ANALYZE_AFTER = 1000
QUEUES = {
    "confirm_tomorrow": "reception",
    "care_call_after_surgery": "reception",
    "hygiene_recall": "call_center",
    "plan_continuation": "call_center",
    "vip_birthday": "reception",
    "unsigned_documents": "reception",
}


def generate_tasks(session, now=None):
    """Run every active rule; returns {rule code: tasks made now}. Flushes; the caller commits."""
    now = now or utcnow()
    rules = {rule.code: rule for rule in session.execute(select(TaskRule).where(TaskRule.active.is_(True))).scalars()}
    made = {}
    for code, subjects in (
        ("confirm_tomorrow", _visits_to_confirm),
        ("care_call_after_surgery", _visits_after_surgery),
        ("hygiene_recall", _hygiene_recalls),
        ("plan_continuation", _plans_to_continue),
        ("vip_birthday", _birthdays),
        ("unsigned_documents", _unsigned_documents),
    ):
        rule = rules.get(code)
        if rule is not None:
            found = list(subjects(session, rule, now))
            made[code] = _add_all(session, rule, now, found)
            if code in MESSAGES:
                _plan_messages(session, MESSAGES[code], found, now)
    if "overdue_visit" in rules:
        made["overdue_visit"] = len(mark_overdue(session, now=now))
    session.flush()
    if sum(made.values()) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Thousands of rows at once leave PostgreSQL's statistics behind until autovacuum
        # catches up; meanwhile it scans task for each batch of keys (measured: a rerun
        # of 25 000 recalls took 18 s instead of 2 s). Refreshed now, in this transaction.
        session.execute(text("ANALYZE task, message"))
    return made


def _plan_messages(session, kind, subjects, now):
    """The message each of a rule's subjects also gets (messaging.outbox), keyed like its task."""
    clinics = {clinic.id: clinic for clinic in session.execute(select(Clinic)).scalars()}
    plan_patient_messages(session, kind, [(subject["key"], subject["patient"], clinics.get(subject["clinic_id"]))
                                          for subject in subjects], now)


def _add_all(session, rule, now, subjects):
    """Make the rule's task about each subject whose key is not taken yet;
    returns how many were made. All in one flush; if another run made some
    meanwhile (a unique-key clash), one by one, each in its own savepoint."""
    subjects = list(subjects)
    taken = existing(session, Task.dedupe_key, [subject["key"] for subject in subjects])
    # An open task of the rule about the same patient, visit and plan — made by hand, or before keys
    # existed — is the same call: no second one.
    open_ones = set(session.execute(
        select(Task.patient_id, Task.appointment_id, Task.plan_id).where(Task.rule_id == rule.id, Task.status == "open")
    ).all())
    fresh = [subject for subject in subjects if subject["key"] not in taken and _about(subject) not in open_ones]
    if not fresh:
        return 0
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        title = str(TITLES[rule.code])
    try:
        with session.begin_nested():
            session.add_all([_task(rule, now, title, **subject) for subject in fresh])
        return len(fresh)
    except IntegrityError:
        made = 0
        for subject in fresh:
            try:
                with session.begin_nested():
                    session.add(_task(rule, now, title, **subject))
                made += 1
            except IntegrityError:
                continue
        return made


def _about(subject):
    """(patient, visit, plan) ids of a subject, as an open task of the rule would name them."""
    return tuple(row.id if row is not None else None
                 for row in (subject["patient"], subject.get("appointment"), subject.get("plan")))


def _task(rule, now, title, key, patient, clinic_id, appointment=None, plan=None):
    return Task(tab=rule.tab, priority=rule.priority, rule=rule, title=title, patient=patient, appointment=appointment,
                plan=plan, clinic_id=clinic_id, queue=QUEUES[rule.code], due_at=now, status="open", dedupe_key=key)


def _key_time(moment):
    return f"{moment:%Y%m%dT%H%MZ}"


# -- the rules' subjects --------------------------------------------------------------


def _visits_to_confirm(session, rule, now):
    for visit in _next_days_visits(session, now, Appointment.status == "booked"):
        yield {"key": f"confirm:{visit.id}:{_key_time(visit.starts_at)}", "patient": visit.patient,
               "clinic_id": visit.clinic_id, "appointment": visit}


def _unsigned_documents(session, rule, now):
    """The next working day's visits whose patient has still to sign what the documents gate asks for."""
    visits = list(_next_days_visits(session, now, Appointment.status.in_(HOLDING)))
    missing = missing_for_visits(session, visits, now)  # the documents read once for all of them
    for visit in visits:
        if missing[visit.id]:
            yield {"key": f"documents:{visit.id}:{_key_time(visit.starts_at)}", "patient": visit.patient,
                   "clinic_id": visit.clinic_id, "appointment": visit}


def _next_days_visits(session, now, *conditions):
    """Each branch's live visits of its next working day (with the closed days before it), meeting ``conditions``."""
    for clinic in session.execute(select(Clinic).where(Clinic.active.is_(True))).scalars():
        days = _days_to_confirm(session, clinic, local_day(clinic, now))
        yield from session.execute(
            select(Appointment)
            .where(
                Appointment.clinic_id == clinic.id, Appointment.deleted_at.is_(None), *conditions,
                Appointment.starts_at >= at_local(clinic, days[0], time(0)),
                Appointment.starts_at < at_local(clinic, days[-1] + timedelta(days=1), time(0)),
            )
            .options(joinedload(Appointment.patient))
            .order_by(Appointment.starts_at, Appointment.id)
        ).scalars().all()


def _days_to_confirm(session, clinic, today):
    """Tomorrow, and while that day is not an open one, the days after it up to the next open day."""
    closed = closed_days(session, clinic.id, today, today + timedelta(days=LONGEST_CLOSURE_DAYS))
    days = [today + timedelta(days=1)]
    while (days[-1] in closed or branch_hours(clinic, days[-1]) is None) and len(days) < LONGEST_CLOSURE_DAYS:
        days.append(days[-1] + timedelta(days=1))
    return days


def _visits_after_surgery(session, rule, now):
    days_after = int(rule.params.get("days_after", 1))
    doctor_specialty, stage_specialty = aliased(Specialty), aliased(Specialty)
    surgical = or_(doctor_specialty.code.in_(SURGICAL), stage_specialty.code.in_(SURGICAL))
    candidates = session.execute(
        select(Appointment)
        .join(Staff, Appointment.doctor_id == Staff.id)
        .outerjoin(doctor_specialty, Staff.specialty_id == doctor_specialty.id)
        .outerjoin(PlanStage, Appointment.plan_stage_id == PlanStage.id)
        .outerjoin(stage_specialty, PlanStage.specialty_id == stage_specialty.id)
        .where(
            Appointment.deleted_at.is_(None), Appointment.status == "done", surgical,
            # the branches' days are checked below; a day either side covers their zones
            Appointment.starts_at >= now - timedelta(days=days_after + 1),
            Appointment.starts_at < now - timedelta(days=days_after - 1),
        )
        .options(joinedload(Appointment.patient), joinedload(Appointment.clinic))
        .order_by(Appointment.starts_at, Appointment.id)
    ).scalars().all()
    for visit in candidates:
        if local_day(visit.clinic, visit.starts_at) == local_day(visit.clinic, now) - timedelta(days=days_after):
            yield {"key": f"care:{visit.id}", "patient": visit.patient, "clinic_id": visit.clinic_id,
                   "appointment": visit}


def _hygiene_recalls(session, rule, now):
    months = int(rule.params.get("months", 6))
    last_hygiene = (
        select(Appointment.patient_id, func.max(Appointment.starts_at).label("last"))
        .where(Appointment.deleted_at.is_(None), Appointment.status == "done", Appointment.kind == "hygiene")
        .group_by(Appointment.patient_id)
        .subquery()
    )
    visits = session.execute(
        select(Appointment)
        .join(last_hygiene, and_(Appointment.patient_id == last_hygiene.c.patient_id,
                                 Appointment.starts_at == last_hygiene.c.last))
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(
            Appointment.deleted_at.is_(None), Appointment.status == "done", Appointment.kind == "hygiene",
            Appointment.starts_at <= _months_before(now, months),
            Patient.deleted_at.is_(None), Patient.status == "active", ~booked_from(now, Appointment.patient_id),
        )
        .options(joinedload(Appointment.patient))
        .order_by(Appointment.id)
    ).scalars().all()
    for visit in visits:
        yield {"key": f"recall:{visit.id}", "patient": visit.patient, "clinic_id": visit.clinic_id}


def _plans_to_continue(session, rule, now):
    """The lost patients' plans (tasks.lost: nothing booked, no call-back time, no refusal since the last visit)."""
    for row in lost_plans(session, now=now):
        last = _key_time(row.last_visit) if row.last_visit is not None else 0
        yield {"key": f"plan:{row.plan.id}:{last}", "patient": row.patient,
               "clinic_id": row.clinic.id if row.clinic is not None else None, "plan": row.plan}


def _birthdays(session, rule, now):
    tag = str(rule.params.get("tag", "VIP"))
    for patient in session.execute(
        select(Patient)
        .where(
            Patient.deleted_at.is_(None), Patient.status == "active", Patient.birth_date.is_not(None),
            Patient.id.in_(select(PatientTag.patient_id).where(PatientTag.tag == tag)),
            # the months of the days it may be anywhere now; each patient's own day is checked below
            extract("month", Patient.birth_date).in_({(now + timedelta(days=d)).month for d in (-1, 0, 1)}),
        )
        .options(joinedload(Patient.home_clinic))
        .order_by(Patient.id)
    ).scalars():
        today = local_day(patient.home_clinic, now) if patient.home_clinic is not None else now.date()
        if _birthday_in(patient.birth_date, today.year) == today:
            yield {"key": f"birthday:{patient.id}:{today.year}", "patient": patient,
                   "clinic_id": patient.home_clinic_id}


def _birthday_in(born, year):
    """The day a birthday falls on in ``year``: 29 February is kept on the 28th in other years."""
    if born.month == 2 and born.day == 29 and not isleap(year):
        return date(year, 2, 28)
    return born.replace(year=year)


def _months_before(moment, months):
    """The same day and time ``months`` earlier (the month's last day when it is shorter)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    return moment.replace(year=year, month=month + 1, day=min(moment.day, monthrange(year, month + 1)[1]))

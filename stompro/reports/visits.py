"""Chair and visit figures: load of chairs and doctors, visits missed or
cancelled late, and hygiene recalls."""
from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, exists, func, select
from sqlalchemy.orm import aliased

from ..db import utcnow
from ..org.models import StaffRole
from ..org.roles import DOCTOR
from ..scheduling.models import Appointment, Closure, Shift
from ..tasks.models import TaskRule
from .scope import Scope, dialect_of, group_key, minutes_between
from .table import Chart, Column, assemble, ratio

LOAD_GROUPS = ("chair", "doctor", "branch", "weekday", "hour", "day")
NO_SHOW_GROUPS = ("doctor", "branch", "month", "weekday")
RECALL_GROUPS = ("branch", "doctor")
BOOKED = ("booked", "confirmed", "arrived", "in_chair", "done")  # a visit that holds (or held) its time


def load(session, scope, group_by="chair"):
    """Booked minutes ÷ available minutes. Available: the doctors' shifts
    in the range, less those on the branch's closed days. Booked: the
    visits that were not cancelled (a missed visit held its chair too).
    By hour, each visit and shift counts in the hours it spans."""
    dialect = dialect_of(session)
    doctors = exists().where(StaffRole.staff_id == Shift.staff_id, StaffRole.role == DOCTOR)
    closed = exists().where(Closure.clinic_id == Shift.clinic_id, Closure.first_day <= Shift.work_date,
                            Closure.last_day >= Shift.work_date)
    shift_where = (Shift.deleted_at.is_(None), doctors, ~closed, scope.during(Shift.starts_at, Shift.clinic_id))
    visit_where = (Appointment.deleted_at.is_(None), Appointment.status != "cancelled",
                   scope.during(Appointment.starts_at, Appointment.clinic_id))
    shift_minutes = func.round(minutes_between(Shift.starts_at, Shift.ends_at, dialect))
    visit_minutes = func.round(minutes_between(Appointment.starts_at, Appointment.ends_at, dialect))
    if group_by == "hour":
        available = _by_hour(session, scope, dialect, Shift.starts_at, Shift.clinic_id, shift_minutes, shift_where)
        booked = _by_hour(session, scope, dialect, Appointment.starts_at, Appointment.clinic_id, visit_minutes,
                          visit_where)
        hour = scope.bucket(Appointment.starts_at, Appointment.clinic_id, dialect, "hour")
        counts = dict(session.execute(select(hour, func.count()).where(*visit_where).group_by(hour)).all())
    else:
        shift_key = group_key(group_by, {"chair": Shift.room_id, "doctor": Shift.staff_id, "branch": Shift.clinic_id},
                              lambda: scope.bucket(Shift.starts_at, Shift.clinic_id, dialect, group_by))
        visit_key = group_key(group_by, {"chair": Appointment.room_id, "doctor": Appointment.doctor_id,
                                         "branch": Appointment.clinic_id},
                              lambda: scope.bucket(Appointment.starts_at, Appointment.clinic_id, dialect, group_by))
        available = dict(session.execute(
            select(shift_key, func.sum(shift_minutes)).where(*shift_where).group_by(shift_key)).all())
        booked, counts = {}, {}
        for key, minutes, count in session.execute(
                select(visit_key, func.sum(visit_minutes), func.count()).where(*visit_where).group_by(visit_key)):
            booked[key], counts[key] = minutes, count
    values = {key: _load(available.get(key), booked.get(key), counts.get(key))
              for key in set(available) | set(booked)}
    totals = _load(sum(int(v or 0) for v in available.values()), sum(int(v or 0) for v in booked.values()),
                   sum(counts.values()))
    columns = [
        Column("available", _l("Available, h:mm"), "minutes", better=""),
        Column("booked", _l("Booked, h:mm"), "minutes"),
        Column("load", _l("Load, %"), "percent"),
        Column("visits", _l("Visits"), "count"),
    ]
    return assemble(session, "load", _l("Chair and doctor load"), group_by, columns, values, totals,
                    chart=Chart(("load",)), sort_by="load")


def _load(available, booked, count):
    available, booked = int(available or 0), int(booked or 0)
    return {"available": available, "booked": booked, "load": ratio(booked, available), "visits": int(count or 0)}


def _by_hour(session, scope, dialect, start, clinic_id, minutes, where):
    """{hour: minutes} of rows spread over the hours they span: rows are
    read grouped by their starting minute and length, so the spreading is
    done once per distinct pair, however many rows."""
    starting, length = scope.bucket(start, clinic_id, dialect, "minute"), cast(minutes, Integer)
    spread = defaultdict(int)
    for first_minute, length, count in session.execute(
            select(starting, length, func.count()).where(*where).group_by(starting, length)):
        moment, end = int(first_minute), int(first_minute) + int(length or 0)
        while moment < end:
            hour_end = min(end, (moment // 60 + 1) * 60)
            spread[(moment // 60) % 24] += (hour_end - moment) * count
            moment = hour_end
    return spread


def no_shows(session, scope, group_by="doctor", now=None):
    """Of the visits booked in the range that have begun, the ones missed
    (no-show) or cancelled less than LATE_CANCELLATION_HOURS before their
    start. A visit cancelled earlier freed its time and is not counted as
    booked."""
    dialect = dialect_of(session)
    now = now or utcnow()
    hours = int(current_app.config["LATE_CANCELLATION_HOURS"])
    cancelled = Appointment.status == "cancelled"
    late = and_(cancelled, Appointment.cancelled_at.is_not(None),
                minutes_between(Appointment.cancelled_at, Appointment.starts_at, dialect) < hours * 60)
    key = group_key(group_by, {"doctor": Appointment.doctor_id, "branch": Appointment.clinic_id},
                    lambda: scope.bucket(Appointment.starts_at, Appointment.clinic_id, dialect, group_by))
    figures = (
        func.sum(case((~cancelled, 1), (late, 1), else_=0)),
        func.sum(case((Appointment.status == "no_show", 1), else_=0)),
        func.sum(case((late, 1), else_=0)),
    )
    where = (Appointment.deleted_at.is_(None), Appointment.starts_at < now,
             scope.during(Appointment.starts_at, Appointment.clinic_id))
    values = {group: _missed(*counts) for group, *counts in
              session.execute(select(key, *figures).where(*where).group_by(key))}
    totals = _missed(*session.execute(select(*figures).where(*where)).one())
    columns = [
        Column("booked", _l("Booked visits"), "count"),
        Column("no_shows", _l("No-shows"), "count", better="down"),
        Column("late_cancellations", _l("Late cancellations"), "count", better="down"),
        Column("missed_share", _l("Missed, %"), "percent", better="down"),
    ]
    return assemble(session, "no_shows", _l("No-shows and late cancellations"), group_by, columns,
                    {k: v for k, v in values.items() if v["booked"]}, totals,
                    chart=Chart(("no_shows", "late_cancellations"), stacked=True), sort_by="missed_share",
                    notes=[_l("A cancellation less than %(hours)s hours before the visit counts as late.",
                              hours=hours)])


def _missed(booked, no_show, late):
    booked, no_show, late = int(booked or 0), int(no_show or 0), int(late or 0)
    return {"booked": booked, "no_shows": no_show, "late_cancellations": late,
            "missed_share": ratio(no_show + late, booked)}


def recall(session, scope, group_by="branch"):
    """Hygiene recalls. Seen: patients with a finished hygiene visit in the
    range, and how many of them have a next hygiene visit booked (or had it
    since). Due: patients whose last finished hygiene visit was the recall
    rule's months (6) before a day of the range, and how many of them have
    booked their next one. A patient counts once, at their latest visit."""
    dialect = dialect_of(session)
    months = _recall_months(session)
    key = group_key(group_by, {"doctor": Appointment.doctor_id, "branch": Appointment.clinic_id},
                    lambda: scope.bucket(Appointment.starts_at, Appointment.clinic_id, dialect, group_by))
    later, between = aliased(Appointment), aliased(Appointment)
    hygiene_done = and_(Appointment.deleted_at.is_(None), Appointment.kind == "hygiene", Appointment.status == "done")
    next_booked = exists().where(later.patient_id == Appointment.patient_id, later.deleted_at.is_(None),
                                 later.kind == "hygiene", later.status.in_(BOOKED),
                                 later.starts_at > Appointment.starts_at)
    seen = _latest_per_patient(session.execute(
        select(Appointment.patient_id, Appointment.starts_at, key, next_booked)
        .where(hygiene_done, scope.during(Appointment.starts_at, Appointment.clinic_id))))
    earlier = Scope(_months_before(scope.first, months), _months_before(scope.last, months), scope.clinics,
                    scope.network)
    came_again = exists().where(between.patient_id == Appointment.patient_id, between.deleted_at.is_(None),
                                between.kind == "hygiene", between.status == "done",
                                between.starts_at > Appointment.starts_at)
    # the recall fell due unless the patient came for hygiene again before it did
    due = _latest_per_patient(session.execute(
        select(Appointment.patient_id, Appointment.starts_at, key, next_booked)
        .where(hygiene_done, earlier.during(Appointment.starts_at, Appointment.clinic_id), ~came_again)))
    values = defaultdict(lambda: {"seen": 0, "seen_booked": 0, "due": 0, "due_booked": 0})
    totals = {"seen": 0, "seen_booked": 0, "due": 0, "due_booked": 0}
    for kind, patients in (("seen", seen), ("due", due)):
        for group, booked in patients.values():
            for tally in (values[group], totals):
                tally[kind] += 1
                tally[f"{kind}_booked"] += bool(booked)
    for tally in (*values.values(), totals):
        tally["seen_share"] = ratio(tally["seen_booked"], tally["seen"])
        tally["due_share"] = ratio(tally["due_booked"], tally["due"])
    columns = [
        Column("seen", _l("Seen for hygiene"), "count"),
        Column("seen_booked", _l("Next visit booked"), "count"),
        Column("seen_share", _l("Booked, %"), "percent"),
        Column("due", _l("Recalls due"), "count"),
        Column("due_booked", _l("Recalls booked"), "count"),
        Column("due_share", _l("Recalls booked, %"), "percent"),
    ]
    return assemble(session, "recall", _l("Hygiene recalls"), group_by, columns, dict(values), totals,
                    chart=Chart(("seen_share", "due_share")), sort_by="seen",
                    notes=[_l("A recall falls due %(months)s months after the last hygiene visit.", months=months)])


def _latest_per_patient(rows):
    """{patient id: (group, booked)} at each patient's latest visit."""
    latest = {}
    for patient_id, starts_at, group, booked in rows:
        if patient_id not in latest or starts_at > latest[patient_id][0]:
            latest[patient_id] = (starts_at, group, booked)
    return {patient_id: (group, booked) for patient_id, (_, group, booked) in latest.items()}


def _recall_months(session):
    params = session.scalar(select(TaskRule.params).where(TaskRule.code == "hygiene_recall"))
    return int((params or {}).get("months", 6))


def _months_before(day, months):
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))

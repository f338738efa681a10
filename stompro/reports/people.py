"""Team figures: how the task book is worked, and staff time against the
shifts (the time clock's timesheet, timeclock.sheet)."""
import statistics
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, select

from ..db import utcnow
from ..tasks.models import Task
from ..timeclock.sheet import timesheets
from ..timefmt import next_month
from .scope import dialect_of, group_key, minutes_between
from .table import Chart, Column, assemble, ratio

TASK_GROUPS = ("person", "tab", "day", "branch")
STAFF_TIME_GROUPS = ("person", "branch")
SHEET_FIGURES = ("planned_minutes", "worked_minutes", "late_minutes", "early_leave_minutes", "overtime_minutes")


def tasks(session, scope, group_by="person", now=None):
    """Tasks due in the range (cancelled ones left out): done, done late
    (after their due time), overdue now (open past their due time), and the
    median time from a task's creation to its completion. A task is its
    doer's once done, else its assignee's; tasks of no branch count for
    the network."""
    dialect = dialect_of(session)
    now = now or utcnow()
    branch = func.coalesce(Task.clinic_id, literal(scope.clinic_ids[0]) if scope.network and scope.clinic_ids else None)
    key = group_key(group_by, {"person": func.coalesce(Task.done_by_id, Task.assignee_id), "tab": Task.tab,
                               "branch": branch},
                    lambda: scope.bucket(Task.due_at, branch, dialect, group_by))
    done = Task.status == "done"
    figures = (
        func.count(),
        func.sum(case((done, 1), else_=0)),
        func.sum(case((and_(done, Task.done_at > Task.due_at), 1), else_=0)),
        func.sum(case((and_(Task.status == "open", Task.due_at < now), 1), else_=0)),
    )
    where = (Task.status != "cancelled", scope.during(Task.due_at, branch))
    medians = _median_minutes(session, key, (*where, done, Task.done_at.is_not(None)), dialect)
    values = {group: _task_figures(*counts, medians.get(group))
              for group, *counts in session.execute(select(key, *figures).where(*where).group_by(key))}
    totals = _task_figures(*session.execute(select(*figures).where(*where)).one(), medians.get(TOTAL))
    columns = [
        Column("tasks", _l("Tasks due"), "count"),
        Column("done", _l("Done"), "count"),
        Column("done_late", _l("Done late"), "count", better="down"),
        Column("overdue", _l("Overdue now"), "count", better="down"),
        Column("done_share", _l("Done, %"), "percent"),
        Column("median_minutes", _l("Time to complete (median), h:mm"), "minutes", better="down"),
    ]
    return assemble(session, "tasks", _l("Task performance"), group_by, columns, values, totals,
                    chart=Chart(("done", "overdue"), stacked=True), sort_by="tasks")


TOTAL = object()  # the key of the whole range's median


def _median_minutes(session, key, where, dialect):
    """{group: the median minutes from creation to completion, TOTAL: the
    range's}; PostgreSQL computes it, SQLite has no median and hands the
    minutes over."""
    minutes = minutes_between(Task.created_at, Task.done_at, dialect)
    if dialect == "postgresql":
        median = func.percentile_cont(0.5).within_group(minutes)
        found = dict(session.execute(select(key, median).where(*where).group_by(key)).all())
        found[TOTAL] = session.execute(select(median).where(*where)).scalar()
        return {group: None if value is None else round(max(value, 0)) for group, value in found.items()}
    spans = defaultdict(list)
    for group, value in session.execute(select(key, minutes).where(*where)):
        spans[group].append(max(value, 0))
        spans[TOTAL].append(max(value, 0))
    return {group: round(statistics.median(values)) for group, values in spans.items()}


def _task_figures(count, done, late, overdue, median):
    count, done = int(count or 0), int(done or 0)
    return {"tasks": count, "done": done, "done_late": int(late or 0), "overdue": int(overdue or 0),
            "done_share": ratio(done, count), "median_minutes": median}


def staff_time(session, scope, group_by="person", now=None):
    """The timesheet's figures (timeclock.sheet) summed over the days of the
    range: planned and worked time, lateness (time and days), early leave,
    overtime and absences, per person or per branch (a person's time at each
    branch counts there)."""
    now = now or utcnow()
    groups = defaultdict(lambda: defaultdict(int))
    clinics = [None] if scope.network and group_by == "person" else scope.clinics
    month = scope.first.replace(day=1)
    while month <= scope.last:
        for clinic in clinics:
            for staff_id, sheet in timesheets(session, month, clinic=clinic, now=now).items():
                group = clinic.id if group_by == "branch" else staff_id
                for day in sheet.days:
                    if scope.first <= day.date <= scope.last:
                        tally = groups[group]
                        for name in SHEET_FIGURES:
                            tally[name] += getattr(day, name)
                        tally["late_days"] += day.late_minutes > 0
                        tally["absences"] += day.absent
        month = next_month(month)
    names = (*SHEET_FIGURES, "late_days", "absences")
    values = {group: {name: tally[name] for name in names} for group, tally in groups.items()
              if any(tally.values())}
    totals = {name: sum(tally[name] for tally in values.values()) for name in names}
    columns = [
        Column("planned_minutes", _l("Planned, h:mm"), "minutes"),
        Column("worked_minutes", _l("Worked, h:mm"), "minutes"),
        Column("late_minutes", _l("Late, h:mm"), "minutes", better="down"),
        Column("late_days", _l("Days late"), "count", better="down"),
        Column("early_leave_minutes", _l("Left early, h:mm"), "minutes", better="down"),
        Column("overtime_minutes", _l("Overtime, h:mm"), "minutes", better=""),
        Column("absences", _l("Absences"), "count", better="down"),
    ]
    return assemble(session, "staff_time", _l("Staff time"), group_by, columns, values, totals,
                    chart=Chart(("late_minutes", "overtime_minutes")), sort_by="late_minutes")

"""Team figures: how the task book is worked, and staff time against the
shifts (the time clock's timesheet, timeclock.sheet)."""
import statistics
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select

from ..db import utcnow
from ..tasks.models import Task
from ..timeclock.sheet import timesheets
from ..timefmt import next_month
from .scope import dialect_of, group_key
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
    rows = session.execute(
        select(key, Task.status, Task.due_at, Task.done_at, Task.created_at)
        .where(Task.status != "cancelled", scope.during(Task.due_at, branch))
    ).all()
    groups = defaultdict(_Tasks)
    total = _Tasks()
    for group, status, due_at, done_at, created_at in rows:
        for tally in (groups[group], total):
            tally.add(status, due_at, done_at, created_at, now)
    columns = [
        Column("tasks", _l("Tasks due"), "count"),
        Column("done", _l("Done"), "count"),
        Column("done_late", _l("Done late"), "count"),
        Column("overdue", _l("Overdue now"), "count"),
        Column("done_share", _l("Done, %"), "percent"),
        Column("median_minutes", _l("Time to complete (median), h:mm"), "minutes"),
    ]
    return assemble(session, "tasks", _l("Task performance"), group_by, columns,
                    {group: tally.figures() for group, tally in groups.items()}, total.figures(),
                    chart=Chart(("done", "overdue"), stacked=True), sort_by="tasks")


class _Tasks:
    def __init__(self):
        self.counts = defaultdict(int)
        self.minutes = []

    def add(self, status, due_at, done_at, created_at, now):
        self.counts["tasks"] += 1
        if status == "done":
            self.counts["done"] += 1
            if done_at is not None:
                self.counts["done_late"] += done_at > due_at
                self.minutes.append(max((done_at - created_at).total_seconds() / 60, 0))
        elif due_at < now:
            self.counts["overdue"] += 1

    def figures(self):
        return {
            **{name: self.counts[name] for name in ("tasks", "done", "done_late", "overdue")},
            "done_share": ratio(self.counts["done"], self.counts["tasks"]),
            "median_minutes": round(statistics.median(self.minutes)) if self.minutes else None,
        }


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
        Column("late_minutes", _l("Late, h:mm"), "minutes"),
        Column("late_days", _l("Days late"), "count"),
        Column("early_leave_minutes", _l("Left early, h:mm"), "minutes"),
        Column("overtime_minutes", _l("Overtime, h:mm"), "minutes"),
        Column("absences", _l("Absences"), "count"),
    ]
    return assemble(session, "staff_time", _l("Staff time"), group_by, columns, values, totals,
                    chart=Chart(("late_minutes", "overtime_minutes")), sort_by="late_minutes")

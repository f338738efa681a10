"""The manager's view of the task book: for each person and a day, the tasks
done, those still open that were due by the day's end, and how many of
those are overdue now — per tab; and the tabs whose overdue tasks pass
TASK_OVERDUE_ALERT, for the owner's home page.

Open tasks nobody is assigned count under the queue (person None). A day is
the clinic's (CLINIC_TIME_ZONE); tasks of every branch of ``clinics`` and
the network's queue count."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import case, func, or_, select

from ..db import utcnow
from ..org.models import Staff
from ..timefmt import from_local
from .book import WORK_TABS
from .models import Task


@dataclass
class PersonDay:
    person: Staff | None  # None: the queue, tasks nobody is assigned
    done: dict = field(default_factory=lambda: defaultdict(int))  # tab → count
    open: dict = field(default_factory=lambda: defaultdict(int))
    overdue: dict = field(default_factory=lambda: defaultdict(int))

    @property
    def totals(self):
        return sum(self.done.values()), sum(self.open.values()), sum(self.overdue.values())


def staff_day(session, day, clinics, now=None):
    """[PersonDay] of ``day``, people by name, the queue last."""
    now = now or utcnow()
    starts, ends = from_local(datetime.combine(day, time(0))), from_local(datetime.combine(day + timedelta(days=1), time(0)))
    mine = _of_branches(clinics)
    rows = {}

    def person_row(person):
        key = person.id if person is not None else None
        if key not in rows:
            rows[key] = PersonDay(person)
        return rows[key]

    for person, tab, count in session.execute(
        select(Staff, Task.tab, func.count())
        .join(Staff, Task.done_by_id == Staff.id)
        .where(mine, Task.status == "done", Task.done_at >= starts, Task.done_at < ends)
        .group_by(Staff.id, Task.tab)
    ).all():
        person_row(person).done[tab] += count
    for person, tab, count, overdue in session.execute(
        select(Staff, Task.tab, func.count(), func.sum(case((Task.due_at < now, 1), else_=0)))
        .outerjoin(Staff, Task.assignee_id == Staff.id)
        .where(mine, Task.status == "open", Task.due_at < ends)
        .group_by(Staff.id, Task.tab)
    ).all():
        row = person_row(person)
        row.open[tab] += count
        row.overdue[tab] += int(overdue or 0)
    return sorted(rows.values(), key=lambda r: (r.person is None, r.person.full_name if r.person else ""))


def overdue_alerts(session, clinics, now=None):
    """[(tab, overdue count)] of the tabs whose overdue open tasks pass TASK_OVERDUE_ALERT."""
    now = now or utcnow()
    threshold = int(current_app.config["TASK_OVERDUE_ALERT"])
    counts = session.execute(
        select(Task.tab, func.count())
        .where(_of_branches(clinics), Task.status == "open", Task.due_at < now, Task.tab.in_(WORK_TABS))
        .group_by(Task.tab)
    ).all()
    return sorted(((tab, count) for tab, count in counts if count > threshold), key=lambda pair: -pair[1])


def _of_branches(clinics):
    return or_(Task.clinic_id.in_([clinic.id for clinic in clinics]), Task.clinic_id.is_(None))

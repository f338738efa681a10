"""What the task book shows: the tabs with their open and overdue counts,
and one tab's tasks — overdue first (most urgent priority first), then the
ones due later; "closed" holds the tasks done or cancelled, newest first.
(The "archive" tab is work like the others: cards to move to the archive.)

A person sees the tasks of their branches and the network's queue (tasks
without a branch); "mine" narrows to the tasks assigned to them, "queue"
to those assigned to nobody, and a ``person`` (a colleague, see
``assignees``) to that person's."""
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..org.models import Staff, staff_clinic
from ..scheduling.models import Appointment
from .models import TABS, Task, TaskRule

CLOSED = "closed"  # not a tab of a task: the book's view of the tasks done or cancelled
WORK_TABS = TABS
SCOPES = ("all", "mine", "queue")
SHOWN = 200  # tasks on one page of a tab; the newest closed ones


@dataclass
class Tab:
    code: str
    priority: int | None  # the most urgent of its rules' (the owner sets them)
    open: int
    overdue: int


def assignees(session, clinics):
    """The people the book can be narrowed to: the active staff of ``clinics``, by name."""
    return session.execute(
        select(Staff).where(Staff.active.is_(True),
                            Staff.id.in_(select(staff_clinic.c.staff_id)
                                         .where(staff_clinic.c.clinic_id.in_([c.id for c in clinics]))))
        .order_by(Staff.last_name, Staff.first_name, Staff.id)
    ).scalars().all()


def tabs(session, actor, clinics, clinic=None, scope="all", now=None, person=None):
    """Every tab with its counts, the most urgent tab first, and the closed tasks last (without counts)."""
    now = now or utcnow()
    counts = dict.fromkeys(WORK_TABS, (0, 0))
    rows = session.execute(
        _visible(select(Task.tab, func.count(), func.sum(case((Task.due_at < now, 1), else_=0))), actor, clinics,
                 clinic, scope, person)
        .where(Task.status == "open")
        .group_by(Task.tab)
    ).all()
    counts.update({tab: (count, int(overdue or 0)) for tab, count, overdue in rows if tab in counts})
    priorities = dict(session.execute(
        select(TaskRule.tab, func.min(TaskRule.priority)).where(TaskRule.active.is_(True)).group_by(TaskRule.tab)
    ).all())
    shown = sorted((Tab(tab, priorities.get(tab), *counts[tab]) for tab in WORK_TABS),
                   key=lambda t: (t.priority or 6, WORK_TABS.index(t.code)))
    return [*shown, Tab(CLOSED, None, 0, 0)]


def tab_tasks(session, actor, clinics, tab, clinic=None, scope="all", now=None, person=None):
    """The tasks of a tab as the book lists them (see the module's docstring)."""
    now = now or utcnow()
    query = _visible(select(Task), actor, clinics, clinic, scope, person).options(
        joinedload(Task.patient), joinedload(Task.appointment).joinedload(Appointment.doctor),
        joinedload(Task.appointment).joinedload(Appointment.clinic), joinedload(Task.plan),
        joinedload(Task.clinic), joinedload(Task.assignee), joinedload(Task.done_by), joinedload(Task.rule),
    )
    if tab == CLOSED:
        query = query.where(Task.status != "open").order_by(
            Task.done_at.desc().nulls_last(), Task.id.desc())
    else:
        overdue = case((Task.due_at < now, 0), else_=1)
        query = query.where(Task.status == "open", Task.tab == tab).order_by(
            overdue, case((Task.due_at < now, Task.priority), else_=0), Task.due_at, Task.id)
    return session.execute(query.limit(SHOWN)).unique().scalars().all()


def _visible(query, actor, clinics, clinic, scope, person=None):
    """Tasks of the person's branches (or of ``clinic``, one of them) and the network's queue."""
    branch_ids = [c.id for c in clinics] if clinic is None else [clinic.id]
    query = query.where(or_(Task.clinic_id.in_(branch_ids), Task.clinic_id.is_(None)))
    if scope == "mine":
        query = query.where(Task.assignee_id == actor.id)
    elif scope == "queue":
        query = query.where(Task.assignee_id.is_(None))
    if person is not None:
        query = query.where(Task.assignee_id == person.id)
    return query

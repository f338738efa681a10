"""The task book's rules for a single task: making one by hand, changing it,
recording the call's result, closing and cancelling it.

Who closed a task and when are the server's (the signed-in person, now); a
closed task goes to the archive as it was. Tasks are never deleted: a task
no longer needed is cancelled. A task of a branch is that branch's staff's
(owners and the call center work for every branch); a task without a branch
is the network's queue."""
from datetime import timedelta

from flask import current_app
from flask_babel import format_date
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import bounds
from ..db import utcnow
from ..errors import DomainError
from ..org.branches import require_branch
from ..admin.choices import VALUE_LABELS
from ..scheduling.availability import clinic_zone
from .models import CALL_RESULTS, QUEUES, TABS, TASK_STATUSES, Task, TaskRule

# The results that close a task; the others keep it open for the next call.
CLOSING_RESULTS = ("reached", "booked", "refused")
# The rules whose calls are only to get the patient booked: a booked visit closes them (close_booking_tasks).
BOOKED_BY_A_VISIT = ("hygiene_recall", "plan_continuation", "overdue_visit")
# The calls about a visit that lose their point once it reaches these statuses (close_visit_calls):
# confirming it, and rebooking it when it was missed but the patient came after all.
CALLS_BEFORE_A_VISIT = {
    "confirm_tomorrow": ("arrived", "in_chair", "done", "no_show", "cancelled"),
    "overdue_visit": ("arrived", "in_chair", "done"),
}
# When a task whose call was not answered is due again, unless told.
NO_ANSWER_RETRY = timedelta(hours=2)
TASK_FIELDS = ("tab", "priority", "title", "patient", "appointment", "plan", "assignee", "queue", "due_at", "clinic")
OUTCOME_FIELDS = ("status", "call_result", "call_back_at", "outcome_note")


def create_task(session, actor, **fields):
    """A task made by hand; it starts open."""
    task = Task(status="open")
    _set_task_fields(actor, task, {name: fields.get(name) for name in TASK_FIELDS})
    session.add(task)
    session.flush()
    if any(fields.get(name) for name in OUTCOME_FIELDS if name != "status") or fields.get("status") not in (None, "open"):
        record_outcome(session, actor, task, **{name: fields.get(name) for name in OUTCOME_FIELDS})
    return task


def update_task(session, actor, task, **fields):
    """Change what the task is about, then its outcome (see record_outcome)."""
    require_branch(actor, task.clinic_id)
    about = {name: fields[name] for name in TASK_FIELDS if name in fields}
    if any(getattr(task, name) != value for name, value in about.items()):
        if task.status != "open":
            raise DomainError(_l("A closed task is kept as it was; make a new task instead."), field="title")
        _set_task_fields(actor, task, {**{name: getattr(task, name) for name in TASK_FIELDS}, **about})
    outcome = {name: fields[name] for name in OUTCOME_FIELDS if name in fields}
    if any(getattr(task, name) != value for name, value in outcome.items()):
        record_outcome(session, actor, task, **{**{name: getattr(task, name) for name in OUTCOME_FIELDS}, **outcome})
    session.flush()
    return task


def record_outcome(session, actor, task, status="open", call_result=None, call_back_at=None, outcome_note=None,
                   now=None):
    """The call's result and the task's status. "Call back" needs the time;
    closing (done or cancelled) records who and when."""
    require_branch(actor, task.clinic_id)
    if task.status != "open" and status != task.status:
        raise DomainError(_l("This task is closed; make a new task instead."), field="status")
    if status not in TASK_STATUSES:
        raise DomainError(_l("Unknown status."), field="status")
    if call_result is not None and call_result not in CALL_RESULTS:
        raise DomainError(_l("Unknown call result."), field="call_result")
    if call_result == "call_back" and call_back_at is None:
        raise DomainError(_l("“Call back” needs the time to call back."), field="call_back_at")
    if call_result == "call_back" and call_back_at != task.call_back_at and call_back_at < (now or utcnow()):
        raise DomainError(_l("The time to call back has passed; choose a later one."), field="call_back_at")
    bounds.require(bounds.moment_problem(call_back_at), "call_back_at")
    bounds.require(bounds.text_problem(outcome_note), "outcome_note")
    task.call_result = call_result
    task.call_back_at = call_back_at if call_result == "call_back" else None
    task.outcome_note = (outcome_note or "").strip() or None
    if status != "open" and task.status == "open":
        task.done_by = actor
        task.done_at = now or utcnow()
    task.status = status
    session.flush()
    return task


def add_task_once(session, key, title, **fields):
    """A task the panel makes by itself (a missed visit, a message that
    could not go), at most once per ``key`` — the task's unique dedupe key:
    None when the key is taken. ``title`` (lazy) is stored in the clinic's
    language, DEFAULT_LANGUAGE; the task is open and due now unless told."""
    if session.execute(select(Task.id).where(Task.dedupe_key == key)).first() is not None:
        return None
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        title = str(title)
    task = Task(dedupe_key=key, title=title, status="open", **{"due_at": utcnow(), **fields})
    session.add(task)
    return task


def complete_task(session, actor, task, note=None, now=None):
    """Paperwork done (a card archived, documents prepared): the task closes
    with the note, no call counted."""
    if task.status != "open":
        raise DomainError(_l("This task is closed; make a new task instead."), field="result")
    return record_outcome(session, actor, task, status="done", outcome_note=note, now=now)


def close_booking_tasks(session, actor, visit, now=None):
    """A visit was booked, or a missed one moved to a new time: the patient's
    open calls whose only aim was that booking (the rules in BOOKED_BY_A_VISIT)
    close as "booked", by whoever booked, whichever branch's they were —
    the operator need not find them again. Returns the tasks closed."""
    now = now or utcnow()
    tasks = session.execute(
        select(Task).join(TaskRule, Task.rule_id == TaskRule.id)
        .where(Task.patient_id == visit.patient_id, Task.status == "open", TaskRule.code.in_(BOOKED_BY_A_VISIT))
    ).scalars().all()
    if not tasks:
        return []
    when = visit.starts_at.astimezone(clinic_zone(visit.clinic))
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        note = str(_l("Visit booked: %(date)s %(time)s, %(doctor)s", date=format_date(when.date(), "d MMMM"),
                      time=f"{when:%H:%M}", doctor=visit.doctor.short_name))
    for task in tasks:
        task.status, task.call_result, task.call_back_at, task.outcome_note = "done", "booked", None, note
        task.done_by, task.done_at = actor, now
    session.flush()
    return tasks


def close_visit_calls(session, actor, visit, now=None):
    """The visit moved on (the patient came, or it was cancelled or missed):
    its open calls that only made sense before (CALLS_BEFORE_A_VISIT) are
    cancelled, saying why, so the book holds no call about a visit already
    over. Returns the tasks closed."""
    codes = [code for code, statuses in CALLS_BEFORE_A_VISIT.items() if visit.status in statuses]
    if not codes:
        return []
    tasks = session.execute(
        select(Task).join(TaskRule, Task.rule_id == TaskRule.id)
        .where(Task.appointment_id == visit.id, Task.status == "open", TaskRule.code.in_(codes))
    ).scalars().all()
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        note = str(_l("Not needed any more: the visit is “%(status)s”.", status=VALUE_LABELS[visit.status]))
    for task in tasks:
        task.status, task.outcome_note, task.done_by, task.done_at = "cancelled", note, actor, now or utcnow()
    session.flush()
    return tasks


def record_call(session, actor, task, result, note=None, reason=None, call_back_at=None, now=None):
    """One call made for an open task, in one step; every call counts as an attempt.

    - reached, booked: done (the patient was reached, or booked a visit);
    - refused: done, with the patient's reason (required);
    - no_answer: stays open, due again at ``call_back_at`` (default: in
      NO_ANSWER_RETRY), so it sinks until then;
    - call_back: stays open, due at the time the patient asked (required, not past).
    """
    now = now or utcnow()
    if task.status == "done" and task.call_result == result == "booked":
        return task  # the visit booked from the slot finder has closed it already
    if task.status != "open":
        raise DomainError(_l("This task is closed; make a new task instead."), field="result")
    if result not in CALL_RESULTS:
        raise DomainError(_l("Choose what came of the call."), field="result")
    reason = (reason or "").strip()
    if result == "refused" and not reason:
        raise DomainError(_l("Write why the patient refused."), field="reason")
    if result == "no_answer":
        call_back_at = call_back_at or now + NO_ANSWER_RETRY
        if call_back_at < now:
            raise DomainError(_l("The time to try again has passed; choose a later one."), field="call_back_at")
    note = "\n".join(part for part in (reason, (note or "").strip()) if part) or None
    status = "done" if result in CLOSING_RESULTS else "open"
    record_outcome(session, actor, task, status=status, call_result=result,
                   call_back_at=call_back_at if result == "call_back" else None, outcome_note=note, now=now)
    task.attempts = (task.attempts or 0) + 1
    if result in ("no_answer", "call_back"):
        task.due_at = call_back_at
    session.flush()
    return task


def cancel_task(session, actor, task):
    """What the list's delete does: the task is cancelled, never erased."""
    if task.status == "cancelled":
        return task
    if task.status == "done":
        raise DomainError(_l("A done task is kept in the archive as it was."))
    return record_outcome(session, actor, task, status="cancelled", call_result=task.call_result,
                          call_back_at=task.call_back_at, outcome_note=task.outcome_note)


def _set_task_fields(actor, task, fields):
    if fields["tab"] not in TABS:
        raise DomainError(_l("Choose the tab of the task book."), field="tab")
    priority = fields["priority"]
    if priority is None or not 1 <= priority <= 5:
        raise DomainError(_l("Priority is from 1 (highest) to 5."), field="priority")
    title = (fields["title"] or "").strip()
    if not title:
        raise DomainError(_l("Write what is to be done."), field="title")
    bounds.require(bounds.text_problem(title, 200, multiline=False), "title")
    if fields["due_at"] is None:
        raise DomainError(_l("Give the time the task is due."), field="due_at")
    bounds.require(bounds.moment_problem(fields["due_at"]), "due_at")
    patient, visit, plan = fields["patient"], fields["appointment"], fields["plan"]
    if patient is not None and patient.deleted_at is not None:
        raise DomainError(_l("This patient's card was deleted."), field="patient")
    for name, row in (("appointment", visit), ("plan", plan)):
        if row is not None and patient is not None and row.patient_id != patient.id:
            raise DomainError(_l("This is another patient's."), field=name)
    assignee = fields["assignee"]
    if assignee is not None and not assignee.active:
        raise DomainError(_l("This person no longer works at the clinic."), field="assignee")
    clinic = fields["clinic"] or (visit.clinic if visit is not None else None)
    require_branch(actor, clinic)
    if fields["queue"] not in (None, "", *QUEUES):
        raise DomainError(_l("Choose the queue."), field="queue")
    task.tab, task.priority, task.title = fields["tab"], priority, title
    task.patient = patient if patient is not None else (visit.patient if visit is not None else None)
    task.appointment, task.plan, task.assignee, task.clinic = visit, plan, assignee, clinic
    task.queue = (fields["queue"] or "").strip() or None
    task.due_at = fields["due_at"]

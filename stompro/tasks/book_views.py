"""The task book (/admin/tasks/): the call center's home page and the
administrators' working tool. Tabs with their counts, a tab's tasks overdue
first, and the result of a call recorded in one step through
tasks.services.record_call."""
from datetime import datetime, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import bounds
from ..admin.base import RoleGuard, current_roles
from ..admin.choices import VALUE_LABELS
from ..admin.links import reachable_url
from ..admin.permissions import Permissions
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.branches import clinics_of, require_branch
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER
from ..patients.phones import format_phone
from ..scheduling.availability import at_local, clinic_zone
from ..timefmt import format_span, from_local, parse_day, to_local
from .book import CLOSED, SCOPES, WORK_TABS, assignees, tab_tasks, tabs
from .report import overdue_alerts, staff_day
from ..messaging.instead import write_instead_of_calling
from .models import Task
from .services import complete_task, record_call

# The tabs of paperwork, not calls: a task there is marked done.
PAPERWORK = ("archive", "documents")
WORKERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR})
MANAGERS = frozenset({OWNER, ADMINISTRATOR})
TAB_LABELS = {
    "regular_calls": _l("Confirmations"),
    "care_calls": _l("Care calls"),
    "scheduled_calls": _l("Scheduled calls"),
    "birthdays": _l("Birthdays"),
    "overdue_visits": _l("Missed visits"),
    "documents": _l("Documents"),
    "archive": _l("Archive"),
    CLOSED: _l("Closed tasks"),
}
# What the call dialog shows again of an entry the server refused.
RETRY_FIELDS = ("note", "reason", "call_back_at", "text")
SCOPE_LABELS = {"all": _l("Everyone's"), "mine": _l("My tasks"), "queue": _l("Nobody's yet")}


class TaskBookView(RoleGuard, BaseView):
    permissions = Permissions(list=WORKERS, edit=WORKERS)

    @property
    def extra_css(self):
        return [url_for("static", filename="tasks/book.css")]

    def create_blueprint(self, admin):
        """The view's blueprint also gives every page ``task_alerts`` for the owner's home page."""
        blueprint = super().create_blueprint(admin)
        blueprint.app_context_processor(lambda: {"task_alerts": task_alerts})
        return blueprint

    @expose("/")
    def index(self):
        return self._book(request.args)

    def _book(self, choice, retry=None):
        """The book as ``choice`` (tab, scope, clinic) asks; with ``retry``, its call dialog open again."""
        me = current_user._get_current_object()
        mine = clinics_of(db.session, me)
        clinic = next((c for c in mine if str(c.id) == choice.get("clinic")), None)
        if choice.get("clinic") and clinic is None:
            abort(403)
        tab = choice.get("tab") if choice.get("tab") in (*WORK_TABS, CLOSED) else None
        scope = choice.get("scope") if choice.get("scope") in SCOPES else "all"
        people = assignees(db.session, mine)
        person = next((p for p in people if str(p.id) == choice.get("person")), None)
        if choice.get("person") and person is None:
            abort(403)
        now = utcnow()
        shown_tabs = tabs(db.session, me, mine, clinic, scope, now, person)
        tab = tab or next((t.code for t in shown_tabs if t.open), shown_tabs[0].code)
        tasks = tab_tasks(db.session, me, mine, tab, clinic, scope, now, person)
        return self.render(
            "tasks/book.html", tabs=shown_tabs, tab=tab, tasks=[_row(task, now) for task in tasks],
            tab_labels=TAB_LABELS, scopes=SCOPE_LABELS, scope=scope, branches=mine, clinic=clinic,
            label=VALUE_LABELS, paperwork=PAPERWORK, board_url=reachable_url("schedule.index"), can_manage=bool(current_roles() & MANAGERS),
            query={"tab": tab, "scope": scope, "clinic": clinic.id if clinic else None,
                   "person": person.id if person else None}, people=people, person=person,
            retry=retry,
        )

    @expose("/day")
    def day(self):
        """The manager's view: each person's tasks of a day, per tab (owners and administrators)."""
        if not current_roles() & MANAGERS:
            abort(403)
        me = current_user._get_current_object()
        today = to_local(utcnow()).date()
        day = parse_day(request.args.get("day")) or today
        return self.render(
            "tasks/day.html", day=day, previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
            today=today, rows=staff_day(db.session, day, clinics_of(db.session, me)), tabs=WORK_TABS,
            tab_labels=TAB_LABELS,
        )

    @expose("/<int:task_id>/instead", methods=("POST",))
    def instead(self, task_id):
        """The call replaced by a message (``text``; empty: the standard one), the task closed."""
        task, back = self._posted_task(task_id)
        try:
            write_instead_of_calling(db.session, current_user._get_current_object(), task,
                                     text=_text(request.form.get("text")))
            db.session.commit()
        except DomainError as error:
            return self._refused(task, "instead", error)
        flash(_("The message is queued: %(patient)s; the task is done.", patient=task.patient.full_name), "success")
        return redirect(back)

    def _refused(self, task, result, error):
        """Nothing recorded: the book again, its dialog open with what was typed and why."""
        db.session.rollback()
        flash(_("Nothing was recorded: %(reason)s", reason=error.message), "error")
        retry = {"task": task.id, "result": result, "field": error.field, "message": str(error.message),
                 "values": {name: request.form.get(name) or "" for name in RETRY_FIELDS}}
        return self._book(request.form, retry=retry), 422

    def _posted_task(self, task_id):
        """The task of the URL and the book's address to return to, as the form had it."""
        task = db.session.get(Task, task_id)
        if task is None:
            abort(404)
        back = url_for("tasks.index", tab=request.form.get("tab") or task.tab, scope=request.form.get("scope") or None,
                       clinic=request.form.get("clinic") or None, person=request.form.get("person") or None)
        return task, back

    @expose("/<int:task_id>/call", methods=("POST",))
    def call(self, task_id):
        """One call's result: ``result``, ``note``, ``reason`` (refused), ``call_back_at`` (dd.mm.yyyy HH:MM)."""
        task, back = self._posted_task(task_id)
        me = current_user._get_current_object()
        try:
            require_branch(me, task.clinic_id)
            if request.form.get("result") == "done" and task.tab in PAPERWORK:
                complete_task(db.session, me, task, note=_text(request.form.get("note")))
            else:
                record_call(db.session, me, task, request.form.get("result"), note=_text(request.form.get("note")),
                            reason=_text(request.form.get("reason")),
                            call_back_at=_moment(task, request.form.get("call_back_at")))
            db.session.commit()
        except DomainError as error:
            return self._refused(task, request.form.get("result"), error)
        result = VALUE_LABELS.get(task.call_result, task.call_result) if task.call_result else _("Done")
        flash(_("Recorded: %(result)s — %(patient)s.", result=result,
                patient=task.patient.full_name if task.patient else task.title), "success")
        return redirect(back)


def task_alerts():
    """The owner's home page: [(tab label, overdue count)] of the tabs past TASK_OVERDUE_ALERT, with the book's address."""
    if OWNER not in current_roles():
        return None
    alerts = overdue_alerts(db.session, clinics_of(db.session, current_user))
    return [(TAB_LABELS[tab], count, url_for("tasks.index", tab=tab)) for tab, count in alerts]


def _row(task, now):
    """What a task's line says, on its branch's clock."""
    visit, zone = task.appointment, clinic_zone(task.clinic) if task.clinic else None
    return {
        "task": task,
        "overdue": task.status == "open" and task.due_at < now,
        "due": _clock(task.due_at, zone),
        "done": _clock(task.done_at, zone) if task.done_at else "",
        "phone": format_phone(task.patient.phone) if task.patient and task.patient.phone else "",
        "visit": (f"{format_span(visit.starts_at, visit.ends_at, clinic_zone(visit.clinic))}, {visit.doctor.short_name}"
                  if visit is not None else ""),
        "card_url": reachable_url("patient_card.show", patient_id=task.patient_id) if task.patient_id else None,
        "plan_url": reachable_url("plan.show", plan_id=task.plan_id) if task.plan_id else None,
    }


def _clock(moment, zone):
    return f"{moment.astimezone(zone) if zone else to_local(moment):%d.%m.%Y %H:%M}"


def _text(value):
    text = str(value or "").strip()
    bounds.require(bounds.text_problem(text), "note")
    return text or None


def _moment(task, value):
    """A time typed on the task's branch clock (dd.mm.yyyy HH:MM) → UTC; None when empty."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        typed = datetime.strptime(text, "%d.%m.%Y %H:%M")
    except ValueError:
        raise DomainError(_l("Enter the date and time as dd.mm.yyyy HH:MM."), field="call_back_at") from None
    moment = at_local(task.clinic, typed.date(), typed.time()) if task.clinic else from_local(typed)
    bounds.require(bounds.moment_problem(moment), "call_back_at")
    return moment

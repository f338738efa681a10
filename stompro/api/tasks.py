"""The task book for other tools: the tasks of the caller's branches (and
the network's queue), and a call's result recorded as the panel records it
(tasks.services.record_call). Times are ISO 8601 with the branch's offset."""
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..bounds import bounded_id
from ..errors import DomainError
from ..extensions import db
from ..messaging.instead import write_instead_of_calling
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER
from ..tasks.models import CALL_RESULTS, TABS, TASK_STATUSES, Task
from ..tasks.services import record_call
from . import bp
from .messages import message_json
from .appointments import ID, _moment, _visible_clinic_ids, local_moment
from .auth import current_staff, requires_roles
from .errors import ApiError, rejected
from .payload import iso_moment, json_object

TASK_WORKERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR})
LISTED = 500  # tasks in one answer, soonest due first


@bp.get("/tasks")
@requires_roles(TASK_WORKERS)
def list_tasks():
    args = request.args
    query = select(Task).where(or_(Task.clinic_id.in_(_visible_clinic_ids()), Task.clinic_id.is_(None)))
    for name, allowed in (("tab", TABS), ("status", TASK_STATUSES)):
        if args.get(name) is not None:
            if args[name] not in allowed:
                raise ApiError(422, fields={name: _l("Give one of: %(values)s.", values=", ".join(allowed))})
            query = query.where(getattr(Task, name) == args[name])
    for name, column in (("clinic_id", Task.clinic_id), ("assignee_id", Task.assignee_id)):
        if args.get(name) is not None:
            value = args[name].strip()
            if not value.isdigit() or int(value) > 2147483647:
                raise ApiError(422, fields={name: _l("Give the id of a record that exists.")})
            query = query.where(column == int(value))
    tasks = db.session.execute(query.order_by(Task.due_at, Task.id).limit(LISTED)).scalars().all()
    return {"tasks": [task_json(task) for task in tasks]}


@bp.post(f"/tasks/<{ID}:task_id>/result")
@requires_roles(TASK_WORKERS)
def task_result(task_id):
    task = _task_or_404(task_id)
    body = json_object(allowed=("result", "note", "reason", "call_back_at"))
    result = body.get("result")
    if result not in CALL_RESULTS:
        raise ApiError(422, fields={"result": _l("Give one of: %(values)s.", values=", ".join(CALL_RESULTS))})
    for name in ("note", "reason"):
        if not isinstance(body.get(name), (str, type(None))):
            raise ApiError(422, fields={name: _l("Give text.")})
    call_back_at = _moment(body["call_back_at"], "call_back_at") if body.get("call_back_at") is not None else None
    try:
        record_call(db.session, current_staff(), task, result, note=body.get("note"), reason=body.get("reason"),
                    call_back_at=call_back_at)
    except DomainError as error:
        db.session.rollback()
        raise rejected(error) from None
    db.session.commit()
    return task_json(task)


def task_json(task):
    def moment(value):
        if value is None:
            return None
        return local_moment(value, task.clinic) if task.clinic is not None else iso_moment(value)

    return {
        "id": task.id, "tab": task.tab, "priority": task.priority, "title": task.title,
        "patient_id": task.patient_id, "appointment_id": task.appointment_id, "plan_id": task.plan_id,
        "due_at": moment(task.due_at), "status": task.status, "attempts": task.attempts,
        "call_result": task.call_result, "call_back_at": moment(task.call_back_at),
    }


def _task_or_404(task_id):
    row_id = bounded_id(task_id)
    task = db.session.get(Task, row_id) if row_id is not None else None
    if task is None or (task.clinic_id is not None and task.clinic_id not in _visible_clinic_ids()):
        raise ApiError(404, _l("There is no task #%(id)s.", id=task_id))
    return task


@bp.post(f"/tasks/<{ID}:task_id>/sms")
@requires_roles(TASK_WORKERS)
def task_sms(task_id):
    """The call replaced by a message: ``text``, else the template ``template`` (default call_instead)."""
    task = _task_or_404(task_id)
    body = json_object(allowed=("template", "text"))
    for name in ("template", "text"):
        if not isinstance(body.get(name), (str, type(None))):
            raise ApiError(422, fields={name: _l("Give text.")})
    try:
        message = write_instead_of_calling(db.session, current_staff(), task, text=body.get("text"),
                                           template=body.get("template") or None)
    except DomainError as error:
        db.session.rollback()
        raise rejected(error) from None
    db.session.commit()
    return message_json(message), 201


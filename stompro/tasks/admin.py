"""The task book as records, and the rules that generate tasks."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER, OWNER_ONLY
from ..patients.admin import patient_lookup, staff_lookup
from .models import Task, TaskRule

CATEGORY = _l("Tasks")
TASK_WORKERS = {OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR}


class TaskAdmin(StomproModelView):
    permissions = Permissions.managed_by(TASK_WORKERS, export={OWNER}, delete={OWNER})
    simple_list_pager = True
    column_list = ("due_at", "tab", "priority", "title", "patient", "assignee", "queue", "status", "call_result")
    column_filters = ("tab", "status", "priority", "due_at", "assignee", "call_result")
    column_searchable_list = ("title",)
    column_sortable_list = ("due_at", "priority", "status")
    column_default_sort = ("due_at", False)
    form_columns = (
        "tab", "priority", "title", "patient", "appointment", "plan", "assignee", "queue", "due_at",
        "status", "call_result", "call_back_at", "outcome_note",
    )
    form_ajax_refs = {
        "patient": patient_lookup(), "assignee": staff_lookup("assignee"),
        "appointment": {"fields": ("id",)}, "plan": {"fields": ("id", "title")},
    }


class TaskRuleAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, CALL_CENTER}, delete=set())
    column_list = ("code", "name", "tab", "priority", "active")
    column_default_sort = "code"
    form_columns = ("code", "name", "tab", "priority", "active", "description")


def register(admin):
    admin.add_view(TaskAdmin(Task, db, name=_l("Task book"), category=CATEGORY, endpoint="task"))
    admin.add_view(TaskRuleAdmin(TaskRule, db, name=_l("Task rules"), category=CATEGORY, endpoint="task_rule"))

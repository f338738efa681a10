"""The task book as records, and the rules that generate tasks. Tasks save
through stompro.tasks.services and show only the rows of the person's
branches (and the network's queue)."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView, Writes
from ..admin.choices import VALUE_LABELS, labelled
from ..admin.filters import clinic_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.lookups import PatientLookup, RowLookup, StaffLookup
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER, OWNER_ONLY
from ..patients.models import Patient
from ..planning.models import TreatmentPlan
from ..scheduling.models import Appointment
from .book_views import TaskBookView
from .lost_views import LostPatientsView
from .models import QUEUES, Task, TaskRule
from .services import cancel_task, create_task, update_task

CATEGORY = _l("Tasks")
TASK_WORKERS = {OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR}


def _with_status(row):
    """A visit or a plan as the picker lists it: with its status, so two
    visits at one time (one of them cancelled) are told apart."""
    return f"{row} · {VALUE_LABELS.get(row.status, row.status)}"


class PatientRowLookup(RowLookup):
    """Live rows of a patient's (visits, plans), found by the patient's name,
    newest first, each with its status."""

    def __init__(self, name, model, newest_first):
        super().__init__(
            name, model, fields=(Patient.last_name, Patient.first_name),
            where=lambda: (model.deleted_at.is_(None), Patient.deleted_at.is_(None)),
            order_by=(newest_first.desc(), model.id.desc()), label=_with_status,
        )

    def allowed(self):
        return super().allowed().join(Patient, self.model.patient_id == Patient.id)


class TaskAdmin(StomproModelView):
    permissions = Permissions.managed_by(TASK_WORKERS, export={OWNER})
    writes = Writes(create=create_task, update=update_task, delete=cancel_task)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("due_at", "tab", "priority", "title", "patient", "assignee", "queue", "clinic", "status", "call_result")
    column_filters = (
        "tab", "status", "priority", "due_at",
        staff_filter(Task.assignee_id, LABELS["assignee"]),
        clinic_filter(Task.clinic_id, LABELS["clinic"]),
        "call_result",
    )
    column_searchable_list = ("title",)
    column_choices = {"queue": labelled(QUEUES)}
    form_choices = {"queue": labelled(QUEUES)}
    column_sortable_list = ("due_at", "priority", "status")
    column_default_sort = ("due_at", False)
    form_columns = (
        "tab", "priority", "title", "patient", "appointment", "plan", "clinic", "assignee", "queue", "due_at",
        "status", "call_result", "call_back_at", "outcome_note",
    )
    form_ajax_refs = {
        "patient": PatientLookup(), "assignee": StaffLookup("assignee"),
        "appointment": PatientRowLookup("appointment", Appointment, Appointment.starts_at),
        "plan": PatientRowLookup("plan", TreatmentPlan, TreatmentPlan.created_at),
    }


class TaskRuleAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, CALL_CENTER}, delete=set())
    column_list = ("code", "name", "tab", "priority", "active")
    column_default_sort = "code"
    form_columns = ("code", "name", "tab", "priority", "active", "description")


def register(admin):
    admin.add_view(TaskBookView(name=_l("Task book"), category=CATEGORY, endpoint="tasks", url="/admin/tasks"))
    admin.add_view(TaskAdmin(Task, db, name=_l("All tasks"), category=CATEGORY, endpoint="task"))
    admin.add_view(TaskRuleAdmin(TaskRule, db, name=_l("Task rules"), category=CATEGORY, endpoint="task_rule"))
    admin.add_view(LostPatientsView(name=_l("Lost patients"), category=CATEGORY, endpoint="lost_patients", url="/admin/lost-patients"))

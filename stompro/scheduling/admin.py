"""Appointments and shifts as records (the board comes with scheduling).
Both save through stompro.scheduling.services and show only the rows of
the person's branches."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..admin.base import StomproModelView, Writes
from ..admin.filters import clinic_filter, rows_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.lookups import PatientLookup, RowLookup, StaffLookup
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.models import Room
from ..org.roles import ADMINISTRATOR, CALL_CENTER, CASHIER, COORDINATOR, DOCTOR, OWNER
from ..patients.models import Patient
from ..planning.models import PlanStage, PlanVariant, TreatmentPlan
from .models import Appointment, Shift
from .services import NEXT_STATUSES, add_shift, book_visit, change_shift, change_visit, remove_shift

CATEGORY = _l("Schedule")


def _stage_label(stage):
    plan = stage.variant.plan
    return f"{plan.patient.full_name}: {plan} · {stage.position}"


class PlanStageLookup(RowLookup):
    """Stages of chosen variants of live plans, found by the patient's name or the plan's title."""

    def __init__(self, name="plan_stage"):
        super().__init__(
            name, PlanStage, fields=(Patient.last_name, Patient.first_name, TreatmentPlan.title),
            where=lambda: (
                PlanStage.deleted_at.is_(None), PlanVariant.chosen.is_(True), TreatmentPlan.deleted_at.is_(None),
                TreatmentPlan.status.in_(("accepted", "in_progress")), Patient.deleted_at.is_(None),
            ),
            order_by=(Patient.last_name, PlanStage.position), label=_stage_label,
        )

    def allowed(self):
        return (
            select(PlanStage)
            .join(PlanVariant, PlanStage.variant_id == PlanVariant.id)
            .join(TreatmentPlan, PlanVariant.plan_id == TreatmentPlan.id)
            .join(Patient, TreatmentPlan.patient_id == Patient.id)
            .where(*self.where())
        )


class AppointmentAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        {OWNER, ADMINISTRATOR, CALL_CENTER, DOCTOR},
        readers={COORDINATOR, CASHIER},
        export={OWNER, ADMINISTRATOR},
        delete=set(),
    )
    writes = Writes(create=book_visit, update=change_visit)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("starts_at", "ends_at", "patient", "doctor", "room", "clinic", "kind", "status")
    column_filters = (
        "starts_at", "status", "kind",
        staff_filter(Appointment.doctor_id, LABELS["doctor"], roles={DOCTOR}),
        rows_filter(Appointment.room_id, LABELS["room"], Room, Room.name),
        clinic_filter(Appointment.clinic_id, LABELS["clinic"]),
    )
    column_sortable_list = ("starts_at", "status")
    column_default_sort = ("starts_at", True)
    form_columns = (
        "clinic", "room", "doctor", "patient", "starts_at", "ends_at", "kind", "plan_stage", "note",
        "status", "cancel_reason",
    )
    form_ajax_refs = {"patient": PatientLookup(), "doctor": StaffLookup("doctor", roles={DOCTOR}, colleagues=True),
                      "plan_stage": PlanStageLookup()}
    eager_loads = ("room.clinic",)

    def get_create_form(self):
        form_class = super().get_create_form()
        del form_class.status  # a new visit is booked; its status moves afterwards
        del form_class.cancel_reason
        return form_class

    def edit_form(self, obj=None):
        """The status list offers where the visit can go from here."""
        form = super().edit_form(obj)
        if obj is not None:
            reachable = (obj.status, *NEXT_STATUSES[obj.status])
            form.status.choices = [(value, label) for value, label in form.status.choices if value in reachable]
        return form


class ShiftAdmin(StomproModelView):
    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, readers={DOCTOR, CALL_CENTER}, export={OWNER})
    writes = Writes(create=add_shift, update=change_shift, delete=remove_shift)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("work_date", "staff", "clinic", "room", "starts_at", "ends_at")
    column_filters = (
        "work_date",
        staff_filter(Shift.staff_id, LABELS["staff"]),
        clinic_filter(Shift.clinic_id, LABELS["clinic"]),
    )
    column_sortable_list = ("work_date", "starts_at")
    column_default_sort = ("starts_at", True)
    form_columns = ("staff", "clinic", "room", "starts_at", "ends_at")
    form_ajax_refs = {"staff": StaffLookup(colleagues=True)}
    eager_loads = ("room.clinic",)


def register(admin):
    admin.add_view(AppointmentAdmin(Appointment, db, name=_l("Visits"), category=CATEGORY, endpoint="appointment"))
    admin.add_view(ShiftAdmin(Shift, db, name=_l("Shifts"), category=CATEGORY, endpoint="shift"))

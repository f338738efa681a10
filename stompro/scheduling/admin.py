"""Appointments and shifts as records (the board comes with scheduling)."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, CASHIER, COORDINATOR, DOCTOR, OWNER
from ..patients.admin import patient_lookup, staff_lookup
from .models import Appointment, Shift

CATEGORY = _l("Schedule")


class AppointmentAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        {OWNER, ADMINISTRATOR, CALL_CENTER, DOCTOR},
        readers={COORDINATOR, CASHIER},
        export={OWNER, ADMINISTRATOR},
        delete={OWNER, ADMINISTRATOR},
    )
    simple_list_pager = True
    column_list = ("starts_at", "ends_at", "patient", "doctor", "room", "clinic", "kind", "status")
    column_filters = ("starts_at", "status", "kind", "doctor", "room", "clinic")
    column_sortable_list = ("starts_at", "status")
    column_default_sort = ("starts_at", True)
    form_columns = (
        "clinic", "room", "doctor", "patient", "starts_at", "ends_at", "kind", "status", "plan_stage",
        "arrived_at", "started_at", "finished_at", "cancel_reason", "note",
    )
    form_ajax_refs = {"patient": patient_lookup(), "doctor": staff_lookup("doctor"), "plan_stage": {"fields": ("id",)}}
    eager_loads = ("room.clinic",)


class ShiftAdmin(StomproModelView):
    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, readers={DOCTOR, CALL_CENTER}, export={OWNER})
    simple_list_pager = True
    column_list = ("work_date", "staff", "clinic", "room", "starts_at", "ends_at")
    column_filters = ("work_date", "staff", "clinic")
    column_sortable_list = ("work_date", "starts_at")
    column_default_sort = ("starts_at", True)
    form_ajax_refs = {"staff": staff_lookup()}
    eager_loads = ("room.clinic",)


def register(admin):
    admin.add_view(AppointmentAdmin(Appointment, db, name=_l("Visits"), category=CATEGORY, endpoint="appointment"))
    admin.add_view(ShiftAdmin(Shift, db, name=_l("Shifts"), category=CATEGORY, endpoint="shift"))

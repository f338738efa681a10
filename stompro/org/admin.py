"""Branches, chairs, specialties and staff accounts (the owner's settings)."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.filters import clinic_filter
from ..admin.forms import WeekdaysField, weekday_names
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..extensions import db
from ..patients.phones import format_phone
from ..scheduling.availability import zone_name
from .account import AccountView
from .models import Clinic, Room, Specialty, Staff
from .roles import ADMINISTRATOR, EVERYONE, OWNER_ONLY
from .staff_admin import StaffAdmin

CATEGORY = _l("Organization")


class ClinicAdmin(StomproModelView):
    """A branch closed for good is deactivated: its history stays."""

    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR}, export=OWNER_ONLY, delete=set())
    column_list = ("name", "address", "phone", "time_zone", "opens_at", "closes_at", "document_gate", "active")
    column_searchable_list = ("name", "address")
    column_default_sort = "name"
    form_excluded_columns = StomproModelView.form_excluded_columns + ("rooms",)
    form_overrides = {"working_days": WeekdaysField}
    column_formatters = {
        "phone": lambda view, context, clinic, name: format_phone(clinic.phone) if clinic.phone else "",
        "time_zone": lambda view, context, clinic, name: f"{zone_name(clinic)} ({clinic.time_zone})",
    }
    column_formatters_detail = {
        **column_formatters, "working_days": lambda view, context, clinic, name: weekday_names(clinic.working_days),
    }


class RoomAdmin(StomproModelView):
    """A chair taken out of use is deactivated: its visits stay."""

    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR}, export=OWNER_ONLY, delete=set())
    column_list = ("clinic", "name", "kind", "active")
    column_filters = (clinic_filter(Room.clinic_id, LABELS["clinic"]), "kind", "active")
    column_sortable_list = (("clinic", "clinic.name"), "name", "kind")
    column_default_sort = "name"
    form_choices = {"kind": [("chair", _l("Chair")), ("cabinet", _l("Cabinet")), ("xray", _l("X-ray room"))]}


class SpecialtyAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers=EVERYONE, export=OWNER_ONLY, delete=set())
    column_list = ("code", "name_ru", "name_en", "sort_order")
    column_default_sort = "sort_order"


def register(admin):
    admin.add_view(ClinicAdmin(Clinic, db, name=_l("Branches"), category=CATEGORY, endpoint="clinic"))
    admin.add_view(RoomAdmin(Room, db, name=_l("Chairs and rooms"), category=CATEGORY, endpoint="room"))
    admin.add_view(StaffAdmin(Staff, db, name=_l("Staff"), category=CATEGORY, endpoint="staff"))
    admin.add_view(SpecialtyAdmin(Specialty, db, name=_l("Specialties"), category=CATEGORY, endpoint="specialty"))
    admin.add_view(AccountView(name=_l("My account"), endpoint="account", url="/account"))

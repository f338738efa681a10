"""Branches, chairs, specialties and staff accounts (the owner's settings)."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.forms import FormOnlyPasswordField, FormOnlySelectMultipleField
from ..errors import DomainError
from ..extensions import db
from ..admin.permissions import Permissions
from .roles import ADMINISTRATOR, EVERYONE, OWNER_ONLY, ROLE_LABELS, ROLES
from .models import Clinic, Room, Specialty, Staff
from .services import set_password, set_roles

CATEGORY = _l("Organization")



class ClinicAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR}, export=OWNER_ONLY)
    column_list = ("name", "address", "phone", "time_zone", "opens_at", "closes_at", "active")
    column_searchable_list = ("name", "address")
    column_default_sort = "name"
    form_excluded_columns = StomproModelView.form_excluded_columns + ("rooms",)


class RoomAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR}, export=OWNER_ONLY)
    column_list = ("clinic", "name", "kind", "active")
    column_filters = ("clinic", "kind", "active")
    column_sortable_list = (("clinic", "clinic.name"), "name", "kind")
    column_default_sort = "name"
    form_choices = {"kind": [("chair", _l("Chair")), ("cabinet", _l("Cabinet")), ("xray", _l("X-ray room"))]}


class SpecialtyAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers=EVERYONE, export=OWNER_ONLY)
    column_list = ("code", "name_ru", "name_en", "sort_order")
    column_default_sort = "sort_order"


class StaffAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR})
    column_list = ("login", "last_name", "first_name", "specialty", "role_rows", "language", "active", "last_login_at")
    column_searchable_list = ("login", "last_name", "first_name")
    column_filters = ("active", "specialty", "language")
    column_default_sort = "last_name"
    column_details_exclude_list = ("password_hash",)
    column_export_exclude_list = ("password_hash",)
    form_columns = (
        "login", "last_name", "first_name", "middle_name", "email", "phone", "specialty",
        "clinics", "color", "language", "active", "roles", "new_password", "note",
    )
    form_choices = {"language": [("ru", "Русский"), ("en", "English")]}
    form_extra_fields = {
        "roles": FormOnlySelectMultipleField(_l("Roles"), choices=[(r, ROLE_LABELS[r]) for r in ROLES]),
        "new_password": FormOnlyPasswordField(_l("New password")),
    }

    def on_form_prefill(self, form, id):
        staff = self.get_one(id)
        form.roles.data = sorted(staff.roles)

    def on_model_change(self, form, model, is_created):
        if form.new_password.data:
            set_password(model, form.new_password.data)
        elif is_created:
            raise DomainError(_l("A new account needs a password."), field="new_password")
        if not form.roles.data:
            raise DomainError(_l("Give the person at least one role."), field="roles")
        set_roles(db.session, model, form.roles.data)


def register(admin):
    admin.add_view(ClinicAdmin(Clinic, db, name=_l("Branches"), category=CATEGORY, endpoint="clinic"))
    admin.add_view(RoomAdmin(Room, db, name=_l("Chairs and rooms"), category=CATEGORY, endpoint="room"))
    admin.add_view(StaffAdmin(Staff, db, name=_l("Staff"), category=CATEGORY, endpoint="staff"))
    admin.add_view(SpecialtyAdmin(Specialty, db, name=_l("Specialties"), category=CATEGORY, endpoint="specialty"))

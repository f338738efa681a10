"""The owner's screen of staff accounts.

Every save goes through org.services as the screen's ``writes`` (create_staff;
update_staff, set_roles and set_clinics); deactivation (after a confirmation
page), reactivation and password resets are row and list actions that call
their services too. Nobody is ever deleted, and no column, filter, search,
details page or export shows a password hash or the session epoch."""
from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_text
from flask_admin.contrib.sqla import filters
from flask_admin.model.template import BaseListRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from wtforms import PasswordField, SelectMultipleField

from ..admin.base import StomproModelView, Writes
from ..admin.filters import LiveOptions, rows_filter
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from .forms import ResetPasswordForm
from .models import Clinic, Specialty, Staff, StaffRole
from .roles import ADMINISTRATOR, NOBODY, OWNER_ONLY, ROLE_LABELS, ROLES
from .services import (
    MIN_PASSWORD_LENGTH,
    create_staff,
    deactivate_staff,
    reactivate_staff,
    reset_password,
    set_clinics,
    set_roles,
    update_staff,
)
from ..timeclock.kiosk import set_pin
from .views import safe_next, keep_session

# What the create and edit forms write through update_staff / create_staff.
DETAIL_FIELDS = ("login", "last_name", "first_name", "middle_name", "email", "phone", "specialty", "color", "language", "note")
SHOWN_COLUMNS = (
    "login", "last_name", "first_name", "middle_name", "email", "phone", "specialty", "role_rows", "clinics",
    "color", "language", "active", "must_change_password", "last_login_at", "note", "created_at", "updated_at",
)


class _RelatedFilter(LiveOptions, filters.BaseSQLAFilter):
    """Staff holding a related row (a role, a branch), written as EXISTS so the
    list keeps one row per person."""

    def __init__(self, name, options, condition, convert=str):
        super().__init__(Staff.id, name, options=options)
        self.condition = condition
        self.convert = convert

    def validate(self, value):
        try:
            self.convert(value)
        except (TypeError, ValueError):
            return False
        return True

    def clean(self, value):
        return self.convert(value)

    def apply(self, query, value, alias=None):
        return query.filter(self.condition(value))

    def operation(self):
        return admin_text("equals")  # Flask-Admin's own words for its other filters


def _role_options():
    return [(role, str(ROLE_LABELS[role])) for role in ROLES]


def _clinic_options():
    return [(str(c.id), c.name) for c in db.session.execute(select(Clinic).order_by(Clinic.name)).scalars()]


class _StaffRowAction(BaseListRowAction):
    """A row button for the owner: reset the password, deactivate (through a
    confirmation page) or reactivate."""

    ICONS = {"password": "fa fa-key", "deactivate": "fa fa-ban", "reactivate": "fa fa-check-circle"}

    def __init__(self, kind, title):
        super().__init__(title=title)
        self.kind = kind

    def render(self, context, row_id, row):
        view = context.resolve("admin_view")
        if not view.can_edit:
            return ""
        return_url = context.resolve("return_url")
        icon, title = self.ICONS[self.kind], str(self.title)
        own_row = current_user.is_authenticated and row.id == current_user.id
        if self.kind == "password" and not own_row:
            url = view.get_url(".reset_password_view", id=row_id, url=return_url)
        elif self.kind == "deactivate" and row.active and not own_row:
            url = view.get_url(".deactivate_view", id=row_id, url=return_url)
        elif self.kind == "reactivate" and not row.active:
            return Markup(
                '<form class="icon" method="POST" action="{}">'
                '<input type="hidden" name="csrf_token" value="{}">'
                '<input type="hidden" name="id" value="{}"><input type="hidden" name="url" value="{}">'
                '<button type="submit" title="{}"><span class="{}"></span></button></form>'
            ).format(view.get_url(".reactivate_view"), generate_csrf(), row_id, return_url, title, icon)
        else:
            return ""
        return Markup('<a class="icon" href="{}" title="{}"><span class="{}"></span></a>').format(url, title, icon)


def _details(values):
    return {name: values[name] for name in DETAIL_FIELDS if name in values}


def _create(session, actor, *, roles=(), clinics=(), new_password=None, new_pin=None, **values):
    """A new account from the owner's form: its password is temporary."""
    staff = create_staff(
        session,
        password=new_password,
        roles=roles or (),
        clinics=clinics or (),
        must_change_password=True,
        **_details(values),
    )
    if new_pin:
        set_pin(session, actor, staff, new_pin)
    return staff


def _update(session, actor, staff, *, roles=(), clinics=(), new_pin=None, **values):
    update_staff(session, staff, **_details(values))
    if new_pin:
        set_pin(session, actor, staff, new_pin)
    set_roles(session, staff, roles or (), actor=actor)
    set_clinics(session, staff, clinics or ())


class StaffAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR}, export=OWNER_ONLY, delete=NOBODY)
    writes = Writes(create=_create, update=_update)  # never deleted: deactivated
    column_list = ("login", "last_name", "first_name", "specialty", "role_rows", "clinics", "language", "active", "last_login_at")
    column_details_list = SHOWN_COLUMNS
    column_export_list = SHOWN_COLUMNS
    column_sortable_list = ("login", "last_name", "first_name", "language", "active", "last_login_at")
    column_searchable_list = ("login", "last_name", "first_name", "email")
    column_default_sort = "last_name"
    # Not a secret, only whether the person still signs in with a temporary password.
    column_labels = {**LABELS, "must_change_password": _l("Temporary credentials")}
    column_extra_row_actions = [
        _StaffRowAction("password", _l("Reset the password")),
        _StaffRowAction("deactivate", _l("Deactivate")),
        _StaffRowAction("reactivate", _l("Reactivate")),
    ]
    form_columns = (
        "login", "last_name", "first_name", "middle_name", "email", "phone", "specialty",
        "clinics", "color", "language", "roles", "new_password", "new_pin", "note",
    )
    form_choices = {"language": [("ru", "Русский"), ("en", "English")]}
    form_extra_fields = {
        # A list with the chosen roles as tags (a plain multiple select needs Ctrl+click).
        "roles": SelectMultipleField(_l("Roles"), choices=[(r, ROLE_LABELS[r]) for r in ROLES],
                                     render_kw={"data-role": "select2", "required": True}),
        "new_password": PasswordField(
            _l("Temporary password"),
            description=_l("The person chooses their own password at the first sign-in."),
        ),
        "new_pin": PasswordField(
            _l("Time-clock PIN"),
            description=_l("4 to 8 digits the person types at the reception's kiosk; leave it blank to keep the PIN."),
            render_kw={"inputmode": "numeric", "autocomplete": "new-password"},
        ),
    }

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            filters.BooleanEqualFilter(Staff.active, _l("Active")),
            _RelatedFilter(_l("Role"), _role_options, lambda role: Staff.role_rows.any(StaffRole.role == role)),
            _RelatedFilter(LABELS["clinic"], _clinic_options, lambda id: Staff.clinics.any(Clinic.id == id), int),
            rows_filter(Staff.specialty_id, LABELS["specialty"], Specialty, Specialty.sort_order),
            filters.FilterEqual(Staff.language, _l("Language"), options=(("ru", "Русский"), ("en", "English"))),
            filters.BooleanEqualFilter(Staff.must_change_password, self.column_labels["must_change_password"]),
        )
        super().__init__(*args, **kwargs)

    # -- forms ----------------------------------------------------------------

    def get_edit_form(self):
        """The edit form has no password: the owner resets it on its own page."""

        class EditForm(self.scaffold_form()):
            new_password = None

        return EditForm

    def on_form_prefill(self, form, id):
        staff = self.get_one(id)
        form.roles.data = sorted(staff.roles)

    def update_model(self, form, model):
        if not super().update_model(form, model):
            return False
        if model.id == current_user.id:
            keep_session(model)  # the owner changed their own roles or branches: this session goes on
        return True

    # -- deactivate, reactivate, reset the password ---------------------------

    def _require_edit(self):
        if not self.allowed("edit"):
            abort(403)

    def _return_url(self):
        return safe_next(request.values.get("url")) or self.get_url(".index_view")

    def _staff_or_404(self, staff_id):
        try:
            staff = db.session.get(Staff, int(staff_id))
        except (TypeError, ValueError):
            staff = None
        if staff is None:
            abort(404)
        return staff

    def _apply(self, staff_ids, change, done_message):
        """Run ``change`` on each person in one transaction; all or nothing."""
        try:
            changed = sum(1 for staff_id in staff_ids if change(self._staff_or_404(staff_id)))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return False
        flash(done_message % {"count": changed}, "success")
        return True

    def _deactivate(self, staff):
        return deactivate_staff(db.session, staff, actor=current_user._get_current_object())

    def _reactivate(self, staff):
        return reactivate_staff(db.session, staff)

    @expose("/deactivate/", methods=("GET", "POST"))
    def deactivate_view(self):
        """GET asks for confirmation; POST deactivates."""
        self._require_edit()
        if request.method == "GET":
            staff = self._staff_or_404(request.args.get("id"))
            return self.render("account/confirm_deactivation.html", staff=staff, return_url=self._return_url())
        self._apply([request.form.get("id")], self._deactivate, _("Deactivated: %(count)s."))
        return redirect(self._return_url())

    @expose("/reactivate/", methods=("POST",))
    def reactivate_view(self):
        self._require_edit()
        self._apply([request.form.get("id")], self._reactivate, _("Reactivated: %(count)s."))
        return redirect(self._return_url())

    @expose("/password/", methods=("GET", "POST"))
    def reset_password_view(self):
        self._require_edit()
        staff = self._staff_or_404(request.args.get("id"))
        form = ResetPasswordForm()
        return_url = self._return_url()
        if form.validate_on_submit():
            try:
                reset_password(db.session, staff, form.new_password.data, actor=current_user._get_current_object())
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                form.new_password.errors = [*form.new_password.errors, str(error.message)]
            else:
                flash(
                    _("The password of %(name)s is reset; they choose their own at the next sign-in.", name=staff.full_name),
                    "success",
                )
                return redirect(return_url)
        return self.render(
            "account/reset_password.html", staff=staff, form=form, return_url=return_url, min_length=MIN_PASSWORD_LENGTH
        )

    @action(
        "deactivate",
        _l("Deactivate"),
        _l("Deactivate the selected people? They can no longer sign in, and every session and API token of theirs ends."),
    )
    def action_deactivate(self, ids):
        self._apply(ids, self._deactivate, _("Deactivated: %(count)s."))

    @action("reactivate", _l("Reactivate"))
    def action_reactivate(self, ids):
        self._apply(ids, self._reactivate, _("Reactivated: %(count)s."))

    def is_action_allowed(self, name):
        if name in ("deactivate", "reactivate"):
            return self.allowed("edit")
        return super().is_action_allowed(name)

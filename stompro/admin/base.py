"""The role-aware ModelView every admin screen derives from."""
from datetime import date, datetime
from decimal import Decimal

from flask import abort, flash, redirect, request, url_for
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from ..db import SoftDeletable, Versioned
from ..errors import ConflictError, DomainError
from ..extensions import db
from ..integrity import explain_integrity_error
from ..records import soft_delete
from ..timefmt import format_money, format_moment
from .choices import enumerated_columns, labelled
from .forms import AdminForm, FilterConverter, ModelConverter
from .labels import LABELS
from .permissions import VIEW_ACTIONS, Permissions

STALE_MESSAGE = _l(
    "Someone else changed this record while you were editing it. "
    "Open it again to see their changes, then repeat yours."
)

TYPE_FORMATTERS = dict(typefmt.BASE_FORMATTERS)
TYPE_FORMATTERS.update(
    {
        datetime: lambda view, value, name: format_moment(value),
        date: lambda view, value, name: value.strftime("%d.%m.%Y"),
        Decimal: lambda view, value, name: format_money(value),
    }
)
EXPORT_FORMATTERS = dict(typefmt.EXPORT_FORMATTERS)
EXPORT_FORMATTERS.update({datetime: lambda view, value, name: format_moment(value)})


def current_roles():
    return current_user.roles if current_user.is_authenticated else frozenset()


class RoleGuard:
    """is_accessible / 403 / login redirect for admin views of any kind."""

    permissions = Permissions()

    def allowed(self, action):
        return current_user.is_authenticated and self.permissions.allows(action, current_roles())

    def is_accessible(self):
        return self.allowed("list")

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class StomproModelView(RoleGuard, ModelView):
    """Declare ``permissions``; the rest — 403s, CSRF, soft delete, optimistic
    locking, readable constraint errors, clinic-time display — is handled here."""

    form_base_class = AdminForm
    model_form_converter = ModelConverter
    filter_converter = FilterConverter()
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_export = EXPORT_FORMATTERS
    column_display_pk = True
    column_labels = LABELS
    can_view_details = True
    page_size = 50
    can_set_page_size = True
    export_types = ["csv"]
    export_max_rows = 10000
    form_excluded_columns = ("created_at", "updated_at", "deleted_at", "version")
    column_exclude_list = ("created_at", "updated_at", "deleted_at", "version")
    column_details_exclude_list = ("deleted_at",)

    def __init__(self, model, session, *args, **kwargs):
        enums = enumerated_columns(model)
        self.form_choices = {**{c: labelled(v) for c, v in enums.items()}, **(self.form_choices or {})}
        self.column_choices = {**{c: labelled(v) for c, v in enums.items()}, **(self.column_choices or {})}
        super().__init__(model, session, *args, **kwargs)

    # -- permissions -------------------------------------------------------

    @property
    def can_create(self):
        return self.allowed("create")

    @property
    def can_edit(self):
        return self.allowed("edit")

    @property
    def can_delete(self):
        return self.allowed("delete")

    @property
    def can_export(self):
        return self.allowed("export")

    def _handle_view(self, name, **kwargs):
        denied = super()._handle_view(name, **kwargs)
        if denied is not None:
            return denied
        action = VIEW_ACTIONS.get(name, "list")
        if not self.allowed(action):
            abort(403)
        return None

    # -- soft delete ---------------------------------------------------------

    @property
    def soft_deletes(self):
        return issubclass(self.model, SoftDeletable)

    def _hide_deleted(self, query):
        return query.filter(self.model.deleted_at.is_(None)) if self.soft_deletes else query

    # Relationships shown in the list besides the direct ones in column_list,
    # e.g. ("room.clinic",) when Room.__str__ names its clinic.
    eager_loads = ()

    def get_query(self):
        query = self._hide_deleted(super().get_query())
        for path in self._list_relationship_paths():
            option = None
            model = self.model
            for name in path.split("."):
                attribute = getattr(model, name)
                option = joinedload(attribute) if option is None else option.joinedload(attribute)
                model = attribute.property.mapper.class_
            query = query.options(option)
        return query

    def _list_relationship_paths(self):
        """Many-to-one relationships the list shows, loaded in the same query."""
        relationships = sa_inspect(self.model).relationships
        paths = set(self.eager_loads)
        for column in self.column_list or ():
            name = column if isinstance(column, str) else getattr(column, "key", None)
            if not name:
                continue
            head = name.split(".")[0]
            if head in relationships and not relationships[head].uselist:
                paths.add(name.rsplit(".", 1)[0] if "." in name else name)
        return sorted(paths)

    def get_count_query(self):
        return self._hide_deleted(super().get_count_query())

    def get_one(self, id):
        row = super().get_one(id)
        if row is not None and self.soft_deletes and row.deleted_at is not None:
            return None
        return row

    def delete_model(self, model):
        def work():
            self.on_model_delete(model)
            if self.soft_deletes:
                soft_delete(db.session, model)
            else:
                db.session.delete(model)

        if not self._write(work, failure=_l("The record was not deleted.")):
            return False
        self.after_model_delete(model)
        return True

    # -- saving ---------------------------------------------------------------

    def scaffold_form(self):
        form_class = super().scaffold_form()
        if issubclass(self.model, Versioned):
            form_class.version = HiddenField()
        return form_class

    def create_model(self, form):
        model = self.build_new_instance()

        def work():
            form.populate_obj(model)
            db.session.add(model)
            self._on_model_change(form, model, True)

        if not self._write(work, form):
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form, model):
        def work():
            self._check_version(form, model)
            form.populate_obj(model)
            self._on_model_change(form, model, False)

        if not self._write(work, form):
            return False
        self.after_model_change(form, model, False)
        return True

    def _check_version(self, form, model):
        if not isinstance(model, Versioned) or not hasattr(form, "version"):
            return
        submitted = form.version.data
        del form.version
        if str(submitted) != str(model.version):
            raise ConflictError(STALE_MESSAGE)

    def _write(self, work, form=None, failure=_l("The record was not saved.")):
        """Run ``work`` and commit; on a broken rule roll back, then explain."""
        try:
            work()
            db.session.commit()
            return True
        except DomainError as error:
            field, message = error.field, error.message
        except StaleDataError:
            field, message = None, STALE_MESSAGE
        except IntegrityError as error:
            field, message = explain_integrity_error(error)
        db.session.rollback()
        self._explain(form, field, message)
        flash(failure, "error")
        return False

    def _explain(self, form, field, message):
        target = getattr(form, field, None) if form is not None and field else None
        if target is None and form is not None and field and field.endswith("_id"):
            target = getattr(form, field[:-3], None)
        if target is not None and hasattr(target, "errors"):
            if not isinstance(target.errors, list):
                target.errors = list(target.errors)
            target.errors.append(str(message))
        flash(message, "error")

"""The role-aware ModelView every admin screen derives from."""
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from types import SimpleNamespace
from typing import Callable

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_admin.model.fields import AjaxSelectField
from flask_admin.model.helpers import get_mdict_item_or_list
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from .. import bounds
from ..audit.access import record_access
from ..db import SoftDeletable, Versioned
from ..errors import ConflictError, DomainError
from ..extensions import db
from ..integrity import explain_integrity_error
from ..org.branches import branch_condition, clinics_of
from ..patients.models import Patient
from ..records import soft_delete
from ..timefmt import format_money, format_moment
from .choices import enumerated_columns, labelled
from .filters import LiveOptions
from .forms import AdminForm, FilterConverter, FormOnlyMixin, ModelConverter
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
        time: lambda view, value, name: value.strftime("%H:%M"),
        Decimal: lambda view, value, name: format_money(value),
        bool: lambda view, value, name: str(_l("Yes") if value else _l("No")),
    }
)
EXPORT_FORMATTERS = dict(typefmt.EXPORT_FORMATTERS)
EXPORT_FORMATTERS.update(
    {
        datetime: lambda view, value, name: format_moment(value),
        date: lambda view, value, name: value.strftime("%d.%m.%Y"),
        time: lambda view, value, name: value.strftime("%H:%M"),
        bool: lambda view, value, name: str(_l("Yes") if value else _l("No")),
    }
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAGE_SIZES = (20, 50, 100)
MAX_PAGE = 100_000
MAX_SEARCH = 100


def current_roles():
    return current_user.roles if current_user.is_authenticated else frozenset()


def neutralized(value):
    """A cell a spreadsheet shows as text, never runs (OWASP's CSV injection rule)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Writes:
    """How the generic screen of a table that carries rules writes it: only
    through these domain service functions (stompro/tables.py lists the
    tables). A missing function means that action is not offered at all.

    - ``create(session, actor, **values)`` returns the new row;
    - ``update(session, actor, row, **values)``;
    - ``delete(session, actor, row)``: soft-deletes, cancels or refuses;
    - ``save(session, actor, row, is_created, **form_only)``: for tables
      whose form fills the row itself (inline parts), checks and completes it
      after the form has written it, given the form's own fields (a
      confirmation); a DomainError undoes the whole save.

    ``values`` are what the form's fields hold, converted (rows for pickers,
    UTC moments for clinic times); services set authorship and times."""

    create: Callable | None = None
    update: Callable | None = None
    delete: Callable | None = None
    save: Callable | None = None

    def allows(self, action):
        if action == "create":
            return self.create is not None or self.save is not None
        if action == "edit":
            return self.update is not None or self.save is not None
        if action == "delete":
            return self.delete is not None
        return True


READ_ONLY = Writes()


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


class PostsNeedEdit:
    """For a custom screen (a BaseView with RoleGuard) whose POSTs change
    records: a POST needs the "edit" permission, a GET only "list"."""

    def _handle_view(self, name, **kwargs):
        denied = super()._handle_view(name, **kwargs)
        if denied is None and request.method == "POST" and not self.allowed("edit"):
            return self.inaccessible_callback(name, **kwargs)
        return denied


class StomproModelView(RoleGuard, ModelView):
    """Declare ``permissions`` (who), ``writes`` (how a table that carries
    rules changes: through its services) and ``branch_column`` (whose rows);
    the rest — 403s, CSRF, soft delete, optimistic locking, readable
    constraint errors, bounded input, clinic time, the access log — is
    handled here."""

    form_base_class = AdminForm
    model_form_converter = ModelConverter
    filter_converter = FilterConverter()
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    column_type_formatters_export = EXPORT_FORMATTERS
    column_display_pk = True
    column_labels = LABELS
    can_view_details = True
    page_size = 50
    can_set_page_size = True
    page_size_options = PAGE_SIZES
    export_types = ["csv"]
    export_max_rows = 10000
    form_excluded_columns = ("created_at", "updated_at", "deleted_at", "version")
    column_exclude_list = ("created_at", "updated_at", "deleted_at", "version")
    column_details_exclude_list = ("deleted_at", "version")

    # None: a reference table the form writes as typed. Else a Writes.
    writes = None
    # The model's column naming the branch a row belongs to; set on the
    # tables whose rows only that branch's staff see (schedules, tasks, the
    # cash desk, documents, the time clock).
    branch_column = None
    # What opening one row's details shows of a patient's medical records
    # (an audit.models.ACCESS_KINDS value), written to the access log.
    patient_access = None

    def __init__(self, model, session, *args, **kwargs):
        enums = enumerated_columns(model)
        self.form_choices = {**{c: labelled(v) for c, v in enums.items()}, **(self.form_choices or {})}
        self.column_choices = {**{c: labelled(v) for c, v in enums.items()}, **(self.column_choices or {})}
        super().__init__(model, session, *args, **kwargs)

    @property
    def extra_js(self):
        """The scripts' words in the reader's language, then the clinic's dates."""
        from ..i18n import current_language

        return [
            url_for("browser_locale.script", language=current_language()),
            url_for("static", filename="admin/clinic_dates.js"),
        ]

    # -- permissions -------------------------------------------------------

    def _may(self, action):
        return self.allowed(action) and (self.writes is None or self.writes.allows(action))

    @property
    def can_create(self):
        return self._may("create")

    @property
    def can_edit(self):
        return self._may("edit")

    @property
    def can_delete(self):
        return self._may("delete")

    @property
    def can_export(self):
        return self.allowed("export")

    # What a person who may change other records is told when they open a
    # form of a table that changes only elsewhere (a read-only ``writes``).
    read_only_message = _l("These records change only through their own screens, by the clinic's rules.")

    def _handle_view(self, name, **kwargs):
        denied = super()._handle_view(name, **kwargs)
        if denied is not None:
            return denied
        action = VIEW_ACTIONS.get(name, "list")
        if self._may(action):
            return None
        changes_elsewhere = self.writes is not None and not self.writes.allows(action)
        if request.method == "GET" and changes_elsewhere and self.allowed("list"):
            flash(self.read_only_message, "info")
            row_id = request.args.get("id")
            return redirect(self.get_url(".details_view", id=row_id) if row_id else self.get_url(".index_view"))
        abort(403)

    # -- which rows: live ones, of my branches -----------------------------------

    @property
    def soft_deletes(self):
        return issubclass(self.model, SoftDeletable)

    def _visible(self, query):
        if self.soft_deletes:
            query = query.filter(self.model.deleted_at.is_(None))
        if self.branch_column:
            query = query.filter(branch_condition(getattr(self.model, self.branch_column), current_user))
        return query

    # Relationships shown in the list besides the direct ones in column_list,
    # e.g. ("room.clinic",) when Room.__str__ names its clinic.
    eager_loads = ()

    def get_query(self):
        query = self._visible(super().get_query())
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

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        """Rows that tie on the sorted column (visits at one time) come in
        the order of their ids, so that pages never repeat or skip a row."""
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        return query.order_by(self.model.id.desc()), joins

    def get_count_query(self):
        return self._visible(super().get_count_query())

    def get_one(self, id):
        """The row of a URL or form, if this person may see it: live, of
        their branches, and an id that can exist at all."""
        row_id = bounds.bounded_id(id)
        if row_id is None:
            return None
        return self._visible(db.session.query(self.model).filter(self.model.id == row_id)).one_or_none()

    # -- what a list may be asked ------------------------------------------------

    def _get_list_extra_args(self):
        """Page, page size and search held to sane bounds (a 30-digit page
        number or a NUL in the search must not reach the database)."""
        args = super()._get_list_extra_args()
        args.page = args.page if 0 <= (args.page or 0) <= MAX_PAGE else 0
        args.page_size = args.page_size if args.page_size in PAGE_SIZES else 0
        if args.search and bounds.text_problem(args.search, MAX_SEARCH, multiline=False):
            flash(_l("The search text is too long or contains control characters."), "error")
            args.search = None
        return args

    def _get_list_filter_args(self):
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        kept = []
        for filter_args in filters:
            value = filter_args[2]
            if isinstance(value, str) and bounds.text_problem(value, MAX_SEARCH, multiline=False):
                flash(self.get_invalid_value_msg(value[:MAX_SEARCH], None), "error")
            else:
                kept.append(filter_args)
        return kept

    def get_invalid_value_msg(self, value, filter):
        """A refused filter value, with the format expected when there is one."""
        expected = getattr(filter, "expected", None)
        if expected is not None:
            return f"{admin_gettext('Invalid Filter Value: %(value)s', value=value)} {expected}"
        return super().get_invalid_value_msg(value, filter)

    def _get_filter_groups(self):
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]
                if isinstance(flt, LiveOptions):
                    item["options"] = [(value, str(label)) for value, label in flt.get_options(self)]
        return groups

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        """An empty cell, not "None", for a coded column with no value (a task
        without a call result); Flask-Admin's choices skip the type formatters."""
        value = super()._get_list_value(context, model, name, column_formatters, column_type_formatters)
        return "" if value is None else value

    def get_export_value(self, model, name):
        return neutralized(super().get_export_value(model, name))

    # -- reading one record: the access log ------------------------------------------

    def _row_or_404(self):
        """The row of the URL, or a 404 — for a deleted row, an impossible id
        or another branch's row alike, so that a page never tells it exists."""
        row_id = get_mdict_item_or_list(request.args, "id")
        if row_id is None:
            return None
        row = self.get_one(row_id)
        if row is None:
            abort(404)
        return row

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        self._row_or_404()
        return super().edit_view()

    @expose("/details/")
    def details_view(self):
        row = self._row_or_404()
        if self.patient_access and row is not None:
            patient_id = row.id if isinstance(row, Patient) else row.patient_id
            record_access(db.session, current_user, patient_id, self.patient_access)
        return super().details_view()

    # -- forms: my branches only -------------------------------------------------------

    def create_form(self, obj=None):
        return self._prompt_pickers(self._branch_choices(super().create_form(obj)))

    def edit_form(self, obj=None):
        return self._prompt_pickers(self._branch_choices(super().edit_form(obj)))

    @staticmethod
    def _prompt_pickers(form):
        """A picker says what to do with it (Flask-Admin's "Please select model")."""
        for field in form:
            if isinstance(field, AjaxSelectField):
                field.render_kw = {"data-placeholder": gettext("Start typing to search"), **(field.render_kw or {})}
        return form

    def _branch_choices(self, form):
        """The branch and chair pickers offer the person's own branches."""
        if not self.branch_column:
            return form
        mine = clinics_of(db.session, current_user)
        clinic, room = getattr(form, "clinic", None), getattr(form, "room", None)
        if clinic is not None and hasattr(clinic, "query_factory"):
            clinic.query_factory = lambda: mine
            if clinic.data is None and not clinic.raw_data and len(mine) == 1:
                clinic.data = mine[0]  # a new form's default, never a replacement for what was sent
        if room is not None and hasattr(room, "query_factory"):
            room.query_factory = lambda: [r for c in mine for r in c.rooms if r.active]
        return form

    # -- saving ---------------------------------------------------------------

    def scaffold_form(self):
        form_class = super().scaffold_form()
        if issubclass(self.model, Versioned):
            form_class.version = HiddenField()
        return form_class

    def create_model(self, form):
        me = current_user._get_current_object()
        made = []

        def work():
            if self.writes is not None and self.writes.create is not None:
                model = self.writes.create(db.session, me, **self.submitted(form))
            else:
                model = self.build_new_instance()
                with db.session.no_autoflush:  # the save hook completes the row before it is written
                    form.populate_obj(model)
                    db.session.add(model)
                    if self.writes is not None and self.writes.save is not None:
                        self.writes.save(db.session, me, model, True, **self.form_only(form))
            made.append(model)
            self._on_model_change(form, model, True)

        if not self._write(work, form):
            return False
        self.after_model_change(form, made[0], True)
        return made[0]

    def update_model(self, form, model):
        me = current_user._get_current_object()

        def work():
            self._check_version(form, model)
            if self.writes is not None and self.writes.update is not None:
                self.writes.update(db.session, me, model, **self.submitted(form))
            else:
                with db.session.no_autoflush:
                    form.populate_obj(model)
                    if self.writes is not None and self.writes.save is not None:
                        self.writes.save(db.session, me, model, False, **self.form_only(form))
            self._on_model_change(form, model, False)

        if not self._write(work, form):
            return False
        self.after_model_change(form, model, False)
        return True

    def delete_model(self, model):
        me = current_user._get_current_object()

        def work():
            self.on_model_delete(model)
            if self.writes is not None:
                self.writes.delete(db.session, me, model)
            elif self.soft_deletes:
                soft_delete(db.session, model)
            else:
                db.session.delete(model)
                db.session.flush()

        if not self._write(work, failure=_l("The record was not deleted.")):
            return False
        self.after_model_delete(model)
        return True

    @staticmethod
    def form_only(form):
        """The form's own fields (FormOnlyMixin): a confirmation, a new password …"""
        return {name: field.data for name, field in form._fields.items() if isinstance(field, FormOnlyMixin)}

    @staticmethod
    def submitted(form):
        """What the form's fields hold, converted as the model would take it
        (pickers → rows, clinic time → UTC), by field name."""
        typed = SimpleNamespace()
        for name, field in form._fields.items():
            if name not in ("csrf_token", "version"):
                field.populate_obj(typed, name)
        return vars(typed)

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
            target.errors.append(message if isinstance(message, Markup) else str(message))
        flash(message, "error")


"""The owner's audit log (read-only) and recycle bin."""
import json

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from ..admin.base import READ_ONLY, PostsNeedEdit, RoleGuard, StomproModelView
from ..admin.filters import TextChoiceFilter, staff_filter
from ..admin.links import table_names
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.roles import OWNER_ONLY
from ..records import restore, soft_deletable_models
from .models import AuditLog, PatientAccess

CATEGORY = _l("Control")
LOG_NEVER_CHANGES = _l("A log is written by the panel itself and never changed.")


def _changes(view, context, model, name):
    return Markup("<pre class='mb-0 small'>{}</pre>").format(
        json.dumps(model.changes, ensure_ascii=False, indent=1, sort_keys=True)
    )


def deleted_by(session, table, row_ids):
    """{row id: who moved it to the recycle bin} (the latest such audit row)."""
    found = session.execute(
        select(AuditLog.row_id, AuditLog.actor_name, AuditLog.actor_login)
        .where(AuditLog.table_name == table, AuditLog.row_id.in_(row_ids), AuditLog.action == "soft_delete")
        .order_by(AuditLog.id)
    ).all()
    return {row_id: name or login for row_id, name, login in found}


def _table_name(view, context, row, name):
    return table_names().get(row.table_name, row.table_name)


def _table_options():
    return sorted(table_names().items(), key=lambda pair: pair[1])


class AuditLogAdmin(StomproModelView):
    permissions = Permissions.read_only(OWNER_ONLY, export=OWNER_ONLY)
    writes = READ_ONLY
    read_only_message = LOG_NEVER_CHANGES
    simple_list_pager = True
    column_list = ("at", "actor_login", "actor_name", "action", "table_name", "row_id", "changes")
    column_filters = ("at", "actor_login", "action", TextChoiceFilter(AuditLog.table_name, LABELS["table_name"],
                                                                       options=_table_options), "row_id")
    column_sortable_list = ("at", "table_name", "row_id")
    column_default_sort = ("at", True)
    column_formatters = {"changes": _changes, "table_name": _table_name}
    column_formatters_detail = {"changes": _changes, "table_name": _table_name}


class PatientAccessAdmin(StomproModelView):
    """Who opened whose medical records, and when: the owner's reading of the access log."""

    permissions = Permissions.read_only(OWNER_ONLY, export=OWNER_ONLY)
    writes = READ_ONLY
    read_only_message = LOG_NEVER_CHANGES
    simple_list_pager = True
    column_list = ("at", "staff", "patient", "what", "channel")
    column_filters = ("at", staff_filter(PatientAccess.staff_id, LABELS["staff"]), "staff_login", "patient_id", "what",
                      "channel")
    column_sortable_list = ("at",)
    column_default_sort = ("at", True)
    column_labels = {**LABELS, "patient_id": _l("Patient number")}
    eager_loads = ("staff", "patient")


class RecycleBinView(PostsNeedEdit, RoleGuard, BaseView):
    """Soft-deleted rows of every clinical and financial table; the owner restores them."""

    permissions = Permissions(list=OWNER_ONLY, edit=OWNER_ONLY)
    PAGE = 200

    @expose("/")
    def index(self):
        models = soft_deletable_models()
        table = request.args.get("table")
        if table not in models:
            table = sorted(models)[0]
        model = models[table]
        rows = db.session.execute(
            select(model).where(model.deleted_at.is_not(None)).order_by(model.deleted_at.desc()).limit(self.PAGE)
        ).scalars().all()
        names = table_names()
        return self.render(
            "admin/recycle_bin.html", tables=sorted(models, key=lambda t: names.get(t, t)), table=table, rows=rows,
            names=names, deleted_by=deleted_by(db.session, table, [row.id for row in rows]),
        )

    @expose("/restore", methods=["POST"])
    def restore_row(self):
        table = request.form.get("table", "")
        try:
            row = restore(db.session, table, int(request.form.get("id", "0")))
        except (DomainError, ValueError) as error:
            db.session.rollback()
            flash(getattr(error, "message", _l("Nothing to restore.")), "error")
        else:
            db.session.commit()
            flash(_l("Restored: %(row)s", row=row), "success")
        return redirect(url_for(".index", table=table))


def register(admin):
    admin.add_view(AuditLogAdmin(AuditLog, db, name=_l("Audit log"), category=CATEGORY, endpoint="audit_log"))
    admin.add_view(PatientAccessAdmin(PatientAccess, db, name=_l("Access to medical records"), category=CATEGORY,
                                      endpoint="patient_access"))
    admin.add_view(RecycleBinView(name=_l("Recycle bin"), category=CATEGORY, endpoint="recycle_bin"))

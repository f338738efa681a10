"""The owner's audit log (read-only) and recycle bin."""
import json

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from ..admin.base import READ_ONLY, RoleGuard, StomproModelView
from ..admin.filters import staff_filter
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.roles import OWNER_ONLY
from ..records import restore, soft_deletable_models
from .models import AuditLog, PatientAccess

CATEGORY = _l("Control")


def _changes(view, context, model, name):
    return Markup("<pre class='mb-0 small'>{}</pre>").format(
        json.dumps(model.changes, ensure_ascii=False, indent=1, sort_keys=True)
    )


class AuditLogAdmin(StomproModelView):
    permissions = Permissions.read_only(OWNER_ONLY, export=OWNER_ONLY)
    writes = READ_ONLY
    simple_list_pager = True
    column_list = ("at", "actor_login", "actor_name", "action", "table_name", "row_id", "changes")
    column_filters = ("at", "actor_login", "action", "table_name", "row_id")
    column_sortable_list = ("at", "table_name", "row_id")
    column_default_sort = ("at", True)
    column_formatters = {"changes": _changes}
    column_formatters_detail = {"changes": _changes}


class PatientAccessAdmin(StomproModelView):
    """Who opened whose medical records, and when: the owner's reading of the access log."""

    permissions = Permissions.read_only(OWNER_ONLY, export=OWNER_ONLY)
    writes = READ_ONLY
    simple_list_pager = True
    column_list = ("at", "staff", "patient", "what", "channel", "path")
    column_filters = ("at", staff_filter(PatientAccess.staff_id, LABELS["staff"]), "staff_login", "patient_id", "what",
                      "channel")
    column_sortable_list = ("at",)
    column_default_sort = ("at", True)
    column_labels = {**LABELS, "patient_id": _l("Patient number")}
    eager_loads = ("staff", "patient")


class RecycleBinView(RoleGuard, BaseView):
    """Soft-deleted rows of every clinical and financial table; the owner restores them."""

    permissions = Permissions(list=OWNER_ONLY, edit=OWNER_ONLY)
    PAGE = 200

    def _handle_view(self, name, **kwargs):
        denied = super()._handle_view(name, **kwargs)
        if denied is None and request.method == "POST" and not self.allowed("edit"):
            return self.inaccessible_callback(name, **kwargs)
        return denied

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
        return self.render("admin/recycle_bin.html", tables=sorted(models), table=table, rows=rows)

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

"""The owner's report screens (/admin/reports/…): every report of the
registry with a range, a branch and a grouping, compared with the period
before, as a chart and a table, exported as CSV, XLSX and PDF."""
from datetime import date, timedelta
from urllib.parse import quote

from flask import Response, abort, flash, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..admin.base import RoleGuard
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.branches import clinics_of
from ..org.roles import OWNER_ONLY
from .groups import GROUP_LABELS
from .registry import FAMILIES, REPORTS
from .scope import Scope, add_months, make_scope, this_month, today
from .table import compare, display

MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "pdf": "application/pdf"}


def chosen_scope(args):
    """The Scope the query string asks for (``from``, ``to`` as ISO days,
    ``clinic_id``), else this month of the network; a bad choice is said in
    a flash message naming the field and this month is shown instead."""
    first, last = this_month(today())
    try:
        first = _day(args.get("from"), first, "from")
        last = _day(args.get("to"), last, "to")
        return make_scope(db.session, first, last, args.get("clinic_id"), clinics_of(db.session, current_user))
    except DomainError as error:
        flash(_("%(field)s: %(reason)s", field=FIELD_LABELS.get(error.field, error.field), reason=error.message),
              "error")
        first, last = this_month(today())
        return make_scope(db.session, first, last, None, clinics_of(db.session, current_user))


FIELD_LABELS = {"from": _l("First day"), "to": _l("Last day"), "clinic_id": _l("Branch"), "group_by": _l("Group by")}


def _day(value, default, field):
    if value in (None, ""):
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(_l("Give the day as YYYY-MM-DD."), field=field) from None


def quick_ranges(scope):
    """[(label, Scope)]: this month, last month, the last three months, this
    year so far — of the branches chosen."""
    day = today()
    first, last = this_month(day)
    before_first, before_last = this_month(first.replace(day=1) - timedelta(days=1))
    return [
        (_("This month"), Scope(first, last, scope.clinics, scope.network)),
        (_("Last month"), Scope(before_first, before_last, scope.clinics, scope.network)),
        (_("Last three months"), Scope(add_months(before_first, -2), before_last, scope.clinics, scope.network)),
        (_("This year"), Scope(day.replace(month=1, day=1), day, scope.clinics, scope.network)),
    ]


def scope_text(scope):
    branches = _("all branches") if scope.network else ", ".join(clinic.name for clinic in scope.clinics)
    return f"{scope.first:%d.%m.%Y}–{scope.last:%d.%m.%Y} · {branches}"


class ReportsView(RoleGuard, BaseView):
    """The owner reads every figure; nobody else (a branch manager's role
    would be one more entry in ``permissions``)."""

    permissions = Permissions(list=OWNER_ONLY)

    @expose("/")
    def index(self):
        scope = chosen_scope(request.args)
        return self.render("reports/index.html", families=[
            (family, [definition for definition in REPORTS.values() if definition.family == family])
            for family in FAMILIES], query=_query(scope))

    @expose("/<report_name>")
    def report(self, report_name):
        from . import charts  # matplotlib takes half a second to import: only these pages need it

        definition, scope, group_by = self._choice(report_name)
        report = definition.compute(db.session, scope, group_by)
        previous_scope = scope.previous()
        previous = definition.compute(db.session, previous_scope, None).totals  # the totals are all it needs
        query = _query(scope, group_by)
        return self.render(
            "reports/report.html", definition=definition, report=report, scope=scope, scope_text=scope_text(scope),
            previous_text=scope_text(previous_scope), comparison=compare(report, previous),
            chart=charts.data_uri(report, "svg"), groups=[(key, GROUP_LABELS[key]) for key in definition.groups],
            group_by=group_by, clinics=clinics_of(db.session, current_user), query=query,
            reports=REPORTS.values(), quick_query=_query(scope), shown=display,
            ranges=[(label, url_for(".report", report_name=report_name, **_query(ranged, group_by)))
                    for label, ranged in quick_ranges(scope)],
            exports=[(label, url_for(".export", report_name=report_name, extension=extension, **query))
                     for extension, label in (("csv", "CSV"), ("xlsx", "XLSX"), ("pdf", "PDF"))],
        )

    @expose("/<report_name>/export.<extension>")
    def export(self, report_name, extension):
        from . import exports  # with matplotlib and openpyxl, which only exports need

        if extension not in MIMETYPES:
            abort(404)
        definition, scope, group_by = self._choice(report_name)
        report = definition.compute(db.session, scope, group_by)
        if extension == "pdf":
            previous = definition.compute(db.session, scope.previous(), None).totals
            body = exports.pdf_bytes(report, scope_text(scope), previous)
        elif extension == "xlsx":
            body = exports.xlsx_bytes(report, scope_text(scope))
        else:
            body = exports.csv_bytes(report)
        filename = exports.filename(report, scope, extension)
        disposition = "inline" if extension == "pdf" else "attachment"
        return Response(body, mimetype=MIMETYPES[extension], headers={
            "Content-Disposition": f"{disposition}; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})

    def _choice(self, name):
        definition = REPORTS.get(name)
        if definition is None:
            abort(404)
        scope = chosen_scope(request.args)
        group_by = request.args.get("group_by") or definition.default_group
        if group_by not in definition.groups:
            flash(_("%(field)s: %(reason)s", field=FIELD_LABELS["group_by"],
                    reason=_("this report has no such grouping.")), "error")
            group_by = definition.default_group
        return definition, scope, group_by


def _query(scope, group_by=None):
    """The query string that shows ``scope`` again (for links and exports)."""
    query = {"from": scope.first.isoformat(), "to": scope.last.isoformat()}
    if not scope.network:
        query["clinic_id"] = scope.clinic_ids[0]
    if group_by:
        query["group_by"] = group_by
    return query


def register(admin):
    admin.add_view(ReportsView(name=_l("Reports"), endpoint="reports", url="/admin/reports"))

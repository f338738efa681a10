"""The plan printout in the browser (an HTML preview of the same document)
and as a PDF, for everyone who may read plans."""
from urllib.parse import quote

from flask import Response, abort, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..admin.base import RoleGuard
from ..admin.links import reachable_url
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, PLANNING
from .printout import WHICH, printout_html, printout_pdf
from .services import load_plan

READERS = PLANNING | {ADMINISTRATOR, CASHIER}


class PlanPrintoutView(RoleGuard, BaseView):
    permissions = Permissions(list=READERS)

    def is_visible(self):
        return False  # opened from the plan screen, not the menu

    def _plan(self, plan_id):
        """As the plan screen: a deleted plan, or a plan of a deleted patient, is a 404."""
        plan = load_plan(db.session, plan_id)
        if plan is None:
            abort(404)
        record_access(db.session, current_user, plan.patient_id, "plan")
        return plan

    @staticmethod
    def _which():
        which = request.args.get("which", "all")
        return which if which in WHICH else "all"

    @expose("/")
    def index(self):
        """A printout belongs to a plan: pick one from the list."""
        return redirect(url_for("treatment_plan.index_view"))

    @expose("/<int:plan_id>")
    def preview(self, plan_id):
        plan, which = self._plan(plan_id), self._which()
        page = {"plan": plan, "which": which, "back": reachable_url("plan.show", plan_id=plan.id)}
        try:
            document = printout_html(db.session, plan, which)
        except DomainError as error:
            return self.render("planning/printout_preview.html", document=None, error=error.message, **page), 422
        return self.render("planning/printout_preview.html", document=document, error=None, **page)

    @expose("/<int:plan_id>.pdf")
    def pdf(self, plan_id):
        plan, which = self._plan(plan_id), self._which()
        try:
            body = printout_pdf(db.session, plan, which)
        except DomainError as error:
            return Response(str(error.message), status=422, mimetype="text/plain")
        response = Response(body, mimetype="application/pdf")
        response.headers["Content-Disposition"] = content_disposition(plan)
        return response


def content_disposition(plan):
    """Inline, named after the plan (ASCII) and, for browsers that read
    RFC 5987 names, after the patient's surname as well."""
    fallback = f"plan-{plan.id}.pdf"
    named = quote(f"plan-{plan.id}-{plan.patient.last_name}.pdf")
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{named}"


def register(admin):
    admin.add_view(PlanPrintoutView(name=_l("Plan printout"), endpoint="plan_printout"))

"""The insurer's invoice of the month on screen, PDF and CSV (billing.insurance)."""
from flask import Response, abort, current_app, render_template, request
from flask_admin import BaseView, expose
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import RoleGuard
from ..admin.permissions import Permissions
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.roles import CASHIER, OWNER
from ..patients.models import InsuranceProgram
from ..pdf import render_pdf
from ..records import row_by_id
from ..timefmt import format_money, format_moment, parse_month, to_local
from .insurance import insurer_registry, registry_csv


class InsuranceRegistryView(RoleGuard, BaseView):
    permissions = Permissions(list=frozenset({OWNER, CASHIER}))

    @expose("/")
    def index(self):
        programs = db.session.execute(select(InsuranceProgram).order_by(InsuranceProgram.company_id,
                                                                        InsuranceProgram.name)).scalars().all()
        registry = self._registry(programs)
        return self.render("billing/insurance_registry.html", registry=registry, programs=programs,
                           money=format_money)

    @expose("/registry.csv")
    def csv(self):
        registry = self._registry()
        name = f"registry-{registry.program.id}-{registry.month:%Y-%m}.csv"
        return Response(registry_csv(registry), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=\"{name}\""})

    @expose("/registry.pdf")
    def pdf(self):
        registry = self._registry()
        language = current_app.config["DEFAULT_LANGUAGE"]
        with force_locale(language):
            html = render_template("billing/insurance_registry_print.html", registry=registry, money=format_money,
                                   language=language, printed=format_moment(utcnow()))
        name = f"registry-{registry.program.id}-{registry.month:%Y-%m}.pdf"
        return Response(render_pdf(html), mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename=\"{name}\""})

    def _registry(self, programs=None):
        """``program`` (an id; the first one when left out) and ``month`` (YYYY-MM; this month when left out)."""
        program = row_by_id(db.session, InsuranceProgram, request.args.get("program"))
        if program is None:
            program = (programs or db.session.execute(select(InsuranceProgram).order_by(
                InsuranceProgram.company_id, InsuranceProgram.name)).scalars().all() or [None])[0]
        if program is None:
            abort(404)
        try:
            month = parse_month(request.args.get("month")) if request.args.get("month") else None
        except DomainError:
            month = None
        month = month or to_local(utcnow()).date().replace(day=1)
        return insurer_registry(db.session, current_user, program.company, program, month)

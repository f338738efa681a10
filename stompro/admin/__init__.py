"""Builds the Admin inside the app factory, in the clinic's menu order."""
from pathlib import Path

from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..extensions import db
from ..org.branches import clinics_of
from ..org.roles import ADMINISTRATOR, CALL_CENTER, CASHIER, COORDINATOR, DOCTOR, EVERYONE, OWNER
from ..security import csp_nonce
from .base import RoleGuard, current_roles
from .permissions import Permissions
from .theme import SWATCH
from .browser_locale import bp as browser_locale_bp
from .theme import bp as theme_bp


class HomeView(RoleGuard, AdminIndexView):
    """The start page; like every admin page it needs a signed-in person.
    The call center starts on the task book, the reception on the schedule
    board, a doctor on their day, a cashier at the cash desk, the owner on
    the figures of today and this month, a coordinator on the plans
    awaiting presentation or the patient's decision."""

    permissions = Permissions(list=EVERYONE)

    @expose("/")
    def index(self):
        roles = current_roles()
        landing = ("tasks" if CALL_CENTER in roles else "schedule" if ADMINISTRATOR in roles
                   else "my_day" if DOCTOR in roles else "cash_desk" if CASHIER in roles else None)
        view = next((v for v in self.admin._views if v.endpoint == landing), None)
        if view is not None and view.is_accessible():
            return view.index()
        from ..planning.queue import awaiting_decision
        from ..planning.views import value_label
        from ..reports.home import owner_figures

        if OWNER in roles:
            as_of, figures = owner_figures(db.session, clinics_of(db.session, current_user))
            return self.render("reports/home.html", figures=figures, as_of=as_of)
        if COORDINATOR in roles:
            return self.render("planning/awaiting.html", plans=awaiting_decision(db.session, current_user),
                               status_label=value_label)
        return self.render("admin/home.html")


def build_admin(app):
    from ..audit.admin import register as register_audit
    from ..billing.admin import register as register_billing
    from ..catalog.admin import register as register_catalog
    from ..chart.admin import register as register_chart
    from ..documents.admin import register as register_documents
    from ..messaging.admin import register as register_messaging
    from ..org.admin import register as register_org
    from ..patients.admin import register as register_patients
    from ..planning.admin import register as register_planning
    from ..reports.views import register as register_reports
    from ..scheduling.admin import register as register_scheduling
    from ..tasks.admin import register as register_tasks
    from ..timeclock.admin import register as register_timeclock

    admin = Admin(
        app,
        name="StomPRO",
        theme=Bootstrap4Theme(swatch=SWATCH, fluid=True),
        index_view=HomeView(name=_l("Home"), url="/admin"),
        # Messages Flask-Admin's own Russian catalog lacks (translations/ru/LC_MESSAGES/admin.po).
        translations_path=str(Path(__file__).resolve().parent.parent / "translations"),
        csp_nonce_generator=csp_nonce,
    )
    for register in (
        register_reports,
        register_patients,
        register_chart,
        register_planning,
        register_scheduling,
        register_tasks,
        register_messaging,
        register_documents,
        register_billing,
        register_timeclock,
        register_catalog,
        register_org,
        register_audit,
    ):
        register(admin)
    app.register_blueprint(theme_bp)
    app.register_blueprint(browser_locale_bp)
    app.extensions["stompro_admin"] = admin
    return admin

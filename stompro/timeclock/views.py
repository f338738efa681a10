"""The time clock's screens: the reception's kiosk (a name and a PIN), a
person's own clock and month, and the owner's timesheet per branch and per
person (screen, PDF, CSV). The rules are timeclock.services and kiosk.py;
the figures, sheet.py."""
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..admin.base import PostsNeedEdit, RoleGuard, current_roles
from ..admin.permissions import Permissions
from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.branches import clinics_of
from ..org.models import Clinic, Staff
from ..org.roles import ADMINISTRATOR, EVERYONE, OWNER
from ..pdf import render_pdf
from ..records import row_by_id
from ..scheduling.availability import clinic_zone
from ..timefmt import parse_month, to_local
from .kiosk import punch
from .services import clock_in, clock_out, open_entries, open_entry
from .sheet import branch_sheets, late_today, sheet_csv, staff_sheet

KIOSK_KEEPERS = frozenset({OWNER, ADMINISTRATOR})


def minutes_text(minutes):
    """420 → "7:00" (hours and minutes), as timesheets are read."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def _clock(moment, clinic):
    return f"{moment.astimezone(clinic_zone(clinic)):%H:%M}" if moment else ""


class KioskView(PostsNeedEdit, RoleGuard, BaseView):
    """Runs in the reception's browser, signed in as the reception."""

    permissions = Permissions(list=KIOSK_KEEPERS, edit=KIOSK_KEEPERS)

    @expose("/")
    def index(self):
        clinic = self._clinic(request.args.get("clinic"))
        people = db.session.execute(
            select(Staff).where(Staff.active.is_(True), Staff.clinics.any(Clinic.id == clinic.id))
            .order_by(Staff.last_name, Staff.first_name)
        ).scalars().all()
        inside = open_entries(db.session, people)
        return self.render("timeclock/kiosk.html", clinic=clinic, clinics=clinics_of(db.session, current_user),
                           people=people, inside={pid: _clock(e.clock_in, e.clinic) for pid, e in inside.items()},
                           chosen=request.args.get("staff", ""))

    @expose("/", methods=("POST",))
    def punch(self):
        """``clinic_id``, ``staff_id``, ``pin``: clock that person in, or out when they are in."""
        clinic = self._clinic(request.form.get("clinic_id"))
        person = row_by_id(db.session, Staff, request.form.get("staff_id"))
        back = redirect(url_for("kiosk.index", clinic=clinic.id))
        if person is None or clinic not in person.clinics:
            flash(_("Pick your name."), "error")
            return back
        try:
            action, entry = punch(db.session, person, (request.form.get("pin") or "")[:16], clinic,
                                  request.remote_addr)
            db.session.commit()
        except DomainError as error:
            db.session.commit()  # a wrong PIN is counted even so
            flash(_("%(name)s: %(reason)s", name=person.full_name, reason=error.message), "error")
            return redirect(url_for("kiosk.index", clinic=clinic.id, staff=person.id))  # the name stays chosen
        at = _clock(entry.clock_out if action == "out" else entry.clock_in, entry.clinic)
        message = _("%(name)s clocked in at %(time)s.") if action == "in" else _("%(name)s clocked out at %(time)s.")
        flash(message % {"name": person.full_name, "time": at}, "success")
        return back

    def _clinic(self, value):
        mine = clinics_of(db.session, current_user)
        chosen = row_by_id(db.session, Clinic, value)
        if chosen is not None and chosen not in mine:
            abort(403)
        if chosen is None and not mine:
            abort(403)
        return chosen or mine[0]


class MyTimeView(PostsNeedEdit, RoleGuard, BaseView):
    """A person's own clock and month."""

    permissions = Permissions(list=EVERYONE, edit=EVERYONE)

    @expose("/")
    def index(self):
        me = current_user._get_current_object()
        month = _month_or_this(request.args.get("month"))
        entry = open_entry(db.session, me)
        return self.render("timeclock/my_time.html", sheet=staff_sheet(db.session, me, month), month=month,
                           open_entry=entry, clinics=clinics_of(db.session, me), hm=minutes_text,
                           clock=_clock, since=_clock(entry.clock_in, entry.clinic) if entry else "")

    @expose("/", methods=("POST",))
    def toggle(self):
        """``clinic_id`` for clocking in; clocking out closes the open entry."""
        me = current_user._get_current_object()
        try:
            if open_entry(db.session, me) is not None:
                clock_out(db.session, me, me)
                flash(_("You clocked out."), "success")
            else:
                clinic = row_by_id(db.session, Clinic, request.form.get("clinic_id"))
                if clinic is None:
                    raise DomainError(_("Choose the branch."), field="clinic")
                clock_in(db.session, me, me, clinic)
                flash(_("You clocked in."), "success")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        return redirect(url_for("my_time.index"))


class TimesheetView(RoleGuard, BaseView):
    """The owner's monthly timesheet for payroll."""

    permissions = Permissions(list=frozenset({OWNER}))

    def create_blueprint(self, admin):
        """The view's blueprint also gives every page ``late_arrivals``, for the owner's home page."""
        blueprint = super().create_blueprint(admin)
        blueprint.app_context_processor(lambda: {"late_arrivals": late_arrivals})
        return blueprint

    @expose("/")
    def index(self):
        clinic, month = self._clinic(), _month_or_this(request.args.get("month"))
        person = row_by_id(db.session, Staff, request.args.get("staff"))
        if person is not None:
            return self.render("timeclock/person_sheet.html", sheet=staff_sheet(db.session, person, month, clinic),
                               month=month, clinic=clinic, hm=minutes_text, clock=_clock)
        return self.render("timeclock/timesheet.html", sheets=branch_sheets(db.session, clinic, month), month=month,
                           clinic=clinic, clinics=clinics_of(db.session, current_user), hm=minutes_text,
                           late=late_today(db.session, [clinic.id]))

    @expose("/sheet.csv")
    def csv(self):
        clinic, month = self._clinic(), _month_or_this(request.args.get("month"))
        name = f"timesheet-{clinic.id}-{month:%Y-%m}.csv"
        return Response(sheet_csv(branch_sheets(db.session, clinic, month)), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=\"{name}\""})

    @expose("/sheet.pdf")
    def pdf(self):
        clinic, month = self._clinic(), _month_or_this(request.args.get("month"))
        language = current_app.config["DEFAULT_LANGUAGE"]
        with force_locale(language):
            html = render_template("timeclock/timesheet_print.html", sheets=branch_sheets(db.session, clinic, month),
                                   month=month, clinic=clinic, hm=minutes_text, language=language,
                                   printed=to_local(utcnow()).strftime("%d.%m.%Y %H:%M"))
        name = f"timesheet-{clinic.id}-{month:%Y-%m}.pdf"
        return Response(render_pdf(html), mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})

    def _clinic(self):
        mine = clinics_of(db.session, current_user)
        chosen = row_by_id(db.session, Clinic, request.args.get("clinic"))
        if chosen is not None and chosen not in mine:
            abort(403)
        if chosen is None and not mine:
            abort(404)
        return chosen or mine[0]


def _month_or_this(value):
    if value:
        try:
            return parse_month(value)
        except DomainError as error:
            flash(str(error.message), "error")
    return to_local(utcnow()).date().replace(day=1)


def late_arrivals():
    """What the owner's home page shows: today's late arrivals of their
    branches as [(name, branch, shift start, came at or "", minutes)]."""
    if OWNER not in current_roles():
        return []
    rows = late_today(db.session, [clinic.id for clinic in clinics_of(db.session, current_user)])
    return [(shift.staff.full_name, shift.clinic.name, _clock(shift.starts_at, shift.clinic),
             _clock(came, shift.clinic), minutes_text(minutes)) for shift, came, minutes in rows]


def register_views(admin, category):
    admin.add_view(KioskView(name=_l("Kiosk"), category=category, endpoint="kiosk", url="/admin/kiosk"))
    admin.add_view(MyTimeView(name=_l("My time"), category=category, endpoint="my_time", url="/admin/my-time"))
    admin.add_view(TimesheetView(name=_l("Timesheet"), category=category, endpoint="timesheet",
                                 url="/admin/timesheet"))

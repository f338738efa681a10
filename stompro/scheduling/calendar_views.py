"""The panel's downloads of the .ics calendars (scheduling.calendar): a
patient's coming visits from the patient card, a doctor's schedule from the
doctor's day.

Calendar apps cannot send the API's bearer token, so a person signed in to
the panel downloads the file and imports it (or sends it to the patient).
We chose this over a subscription URL with a token of its own: such a URL
is a password that travels in links, logs and calendar providers' servers,
readable by anyone who gets it, and would need its own revocation; the
panel's session already ends at sign-out, a new password and deactivation,
and the same service decides who reads what."""
from flask import abort
from flask_admin import BaseView, expose
from flask_login import current_user

from ..admin.base import RoleGuard
from ..admin.permissions import Permissions
from ..errors import NotAllowed
from ..extensions import db
from ..org.roles import EVERYONE
from ..patients.models import Patient
from ..records import live_row
from .calendar import calendar_response, doctor_calendar, find_doctor, patient_calendar


class CalendarView(RoleGuard, BaseView):
    """/admin/calendar/patients/<id>/appointments.ics and /admin/calendar/staff/<id>/appointments.ics;
    scheduling.calendar says who reads which."""

    permissions = Permissions(list=EVERYONE)

    def is_visible(self):
        return False

    @expose("/")
    def index(self):
        abort(404)

    @expose("/patients/<int:patient_id>/appointments.ics")
    def patient(self, patient_id):
        patient = live_row(db.session, Patient, patient_id)
        if patient is None:
            abort(404)
        return self._download(lambda: patient_calendar(db.session, current_user, patient), f"visits-{patient.id}")

    @expose("/staff/<int:staff_id>/appointments.ics")
    def staff(self, staff_id):
        doctor = find_doctor(db.session, staff_id)
        if doctor is None:
            abort(404)
        return self._download(lambda: doctor_calendar(db.session, current_user, doctor), f"schedule-{doctor.id}")

    @staticmethod
    def _download(calendar, name):
        try:
            return calendar_response(calendar(), name)
        except NotAllowed:
            abort(403)

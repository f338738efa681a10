"""Calendars (.ics) of a patient's coming visits and of a doctor's schedule
(scheduling.calendar). Calendar apps cannot send the bearer token: people
download the same files from the panel (scheduling.calendar_views)."""
from flask_babel import lazy_gettext as _l

from ..errors import NotAllowed
from ..extensions import db
from ..org.roles import ADMINISTRATOR, DOCTOR, EVERYONE, OWNER
from ..scheduling.calendar import calendar_response, doctor_calendar, find_doctor, patient_calendar
from . import bp
from .auth import current_staff, requires_roles
from .chart import patient_or_404
from .errors import ApiError

ID = "int(max=2147483647)"  # ids are 32-bit integers


@bp.get(f"/patients/<{ID}:patient_id>/appointments.ics")
@requires_roles(EVERYONE)
def patient_appointments_ics(patient_id):
    patient = patient_or_404(patient_id)
    try:
        data = patient_calendar(db.session, current_staff(), patient)
    except NotAllowed as error:
        raise ApiError(403, error.message) from None
    return calendar_response(data, f"visits-{patient.id}")


@bp.get(f"/staff/<{ID}:staff_id>/appointments.ics")
@requires_roles({OWNER, ADMINISTRATOR, DOCTOR})
def staff_appointments_ics(staff_id):
    doctor = find_doctor(db.session, staff_id)
    if doctor is None:
        raise ApiError(404, _l("There is no doctor #%(id)s.", id=staff_id))
    try:
        data = doctor_calendar(db.session, current_staff(), doctor)
    except NotAllowed as error:
        raise ApiError(403, error.message) from None
    return calendar_response(data, f"schedule-{doctor.id}")

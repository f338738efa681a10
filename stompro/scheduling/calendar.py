"""Calendars (.ics, RFC 5545) of a patient's coming visits and of a
doctor's schedule, for a phone's or a desktop's calendar app.

One VEVENT per visit that holds its time (cancelled and missed visits are
left out, so a refreshed calendar drops them), with a UID that stays the
visit's whatever changes (``appointment-<id>@CALENDAR_DOMAIN``) and a
SEQUENCE that grows with every change, so an imported visit that moved is
updated in place. Start and end carry the branch's time zone (TZID and its
VTIMEZONE). The text names the kind of visit, the doctor, the branch and the
chair, nothing of the patient's treatment.

Who may read: a patient's calendar, the staff of the patient's branches
(their home branch or a branch they have visits in; owners and the call
center, every branch); a doctor's, the doctor, the administrators of their
branches and the owners."""
from datetime import timedelta

from flask import Response, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..admin.choices import VALUE_LABELS
from ..bounds import bounded_id
from ..db import utcnow
from ..errors import NotAllowed
from ..org.branches import clinic_ids_of, works_network_wide
from ..org.models import Staff
from ..org.roles import ADMINISTRATOR, DOCTOR, OWNER
from .availability import clinic_zone
from .models import Appointment
from .services import HOLDING

CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//StomPRO//Visits//EN"
# A doctor's calendar: the last month, for what was done, and a year ahead.
DOCTOR_PAST = timedelta(days=30)
DOCTOR_AHEAD = timedelta(days=365)
# RFC 5545's status of an event: a visit not yet confirmed with the patient is tentative.
EVENT_STATUS = {"booked": "TENTATIVE"}


def patient_calendar(session, actor, patient, now=None):
    """The .ics of the patient's visits from now on."""
    require_patient_calendar_reader(session, actor, patient)
    now = now or utcnow()
    visits = _visits(session, Appointment.patient_id == patient.id, Appointment.ends_at > now)
    return _calendar(
        _("Visits: %(patient)s", patient=patient.full_name), visits,
        summary=lambda visit: _("%(kind)s — %(doctor)s", kind=_label(visit.kind), doctor=visit.doctor.full_name),
    )


def doctor_calendar(session, actor, doctor, now=None):
    """The .ics of the doctor's visits from DOCTOR_PAST ago to DOCTOR_AHEAD from now."""
    require_doctor_calendar_reader(actor, doctor)
    now = now or utcnow()
    visits = _visits(session, Appointment.doctor_id == doctor.id, Appointment.starts_at >= now - DOCTOR_PAST,
                     Appointment.starts_at < now + DOCTOR_AHEAD)
    return _calendar(
        _("Schedule: %(doctor)s", doctor=doctor.full_name), visits,
        summary=lambda visit: _("%(patient)s — %(kind)s", patient=visit.patient.full_name, kind=_label(visit.kind)),
    )


def find_doctor(session, staff_id):
    """The doctor with this id (active or not: their schedule stays), or None."""
    row_id = bounded_id(staff_id)
    staff = session.get(Staff, row_id) if row_id is not None else None
    return staff if staff is not None and DOCTOR in staff.roles else None


def require_patient_calendar_reader(session, actor, patient):
    """The staff of the patient's branches: their home branch, or one they have visits in."""
    if works_network_wide(actor):
        return
    mine = clinic_ids_of(actor)
    if patient.home_clinic_id in mine:
        return
    visited = session.execute(
        select(Appointment.id).where(
            Appointment.patient_id == patient.id, Appointment.deleted_at.is_(None), Appointment.clinic_id.in_(mine),
        ).limit(1)
    ).first()
    if visited is None:
        raise NotAllowed(_l("This patient is not a patient of your branches."))


def require_doctor_calendar_reader(actor, doctor):
    """The doctor, the administrators of the doctor's branches, the owners."""
    if actor.id == doctor.id or OWNER in actor.roles:
        return
    if ADMINISTRATOR in actor.roles and clinic_ids_of(actor) & clinic_ids_of(doctor):
        return
    raise NotAllowed(_l("A doctor's schedule is seen by the doctor and the administrators of their branches."))


def event_uid(visit):
    return f"appointment-{visit.id}@{current_app.config['CALENDAR_DOMAIN']}"


def _visits(session, *conditions):
    return session.execute(
        select(Appointment)
        .where(Appointment.deleted_at.is_(None), Appointment.status.in_(HOLDING), *conditions)
        .options(
            joinedload(Appointment.clinic), joinedload(Appointment.room),
            joinedload(Appointment.doctor).lazyload(Staff.role_rows), joinedload(Appointment.patient),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).scalars().all()


def _calendar(name, visits, summary):
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = utcnow()
    for visit in visits:
        calendar.add_component(_event(visit, summary(visit), stamp))
    if visits:
        # Each zone's rules only for the years the visits span: a short file.
        first, last = visits[0].starts_at.date(), max(visit.ends_at for visit in visits).date()
        calendar.add_missing_timezones(first_date=first - timedelta(days=1), last_date=last + timedelta(days=1))
    return calendar.to_ical()


def _event(visit, summary, stamp):
    zone = clinic_zone(visit.clinic)
    event = Event()
    event.add("uid", event_uid(visit))
    event.add("dtstamp", stamp)
    event.add("dtstart", visit.starts_at.astimezone(zone))
    event.add("dtend", visit.ends_at.astimezone(zone))
    event.add("sequence", visit.version - 1)  # every change of the visit counts up from 0
    event.add("status", EVENT_STATUS.get(visit.status, "CONFIRMED"))
    event.add("summary", summary)
    event.add("location", ", ".join(part for part in (visit.clinic.name, visit.clinic.address, visit.room.name) if part))
    event.add("description", _("%(kind)s with %(doctor)s, %(room)s.", kind=_label(visit.kind),
                               doctor=visit.doctor.full_name, room=visit.room.name))
    return event


def _label(code):
    return str(VALUE_LABELS.get(code, code))


def calendar_response(data, name):
    """The .ics as a download named ``name``.ics (the panel and the API alike)."""
    return Response(data, content_type=CONTENT_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}.ics"'})

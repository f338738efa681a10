"""The schedule: free slots, visits (book, list, move with the cascade,
cancel, status) and booking a whole plan.

Times are ISO 8601 with an offset: answers give the branch's own
(2027-02-10T10:00:00+03:00); requests may use any offset, never none.
Booking is for the front desk, the coordinators and the owner, in their own
branches; a doctor reads. A visit in the way is 409 with the visit
(``conflict``); bad input 422 with ``fields``; either way nothing is written."""
import json
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..bounds import bounded_id
from ..documents.gate import DocumentsMissing
from ..errors import ConflictError, DomainError, NotAllowed
from ..extensions import db
from ..org.branches import branch_condition, clinics_of
from ..org.models import Room, Specialty, Staff
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, DOCTOR, OWNER
from ..patients.models import Patient
from ..planning.models import PlanStage
from ..planning.services import load_plan
from ..records import live_row
from ..scheduling.availability import clinic_zone, local_day
from ..scheduling.cascade import apply_move, preview_move
from ..scheduling.models import APPOINTMENT_KINDS, Appointment
from ..scheduling.plan_booking import DEFAULT_HORIZON_DAYS, apply_plan_booking, preview_plan_booking
from ..scheduling.services import book_visit, commit_or_clash, set_visit_status
from ..scheduling.slots import find_slots
from . import bp
from .auth import current_staff, requires_roles
from .errors import ApiError, error_response, rejected
from .payload import flag, json_object

BOOKERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR})
SCHEDULE_READERS = BOOKERS | {DOCTOR}
ID = "int(max=2147483647)"
VISIT_URL = f"/appointments/<{ID}:appointment_id>"
LONGEST_LIST_DAYS = 92
LONGEST_SLOT_LIMIT = 200

NAIVE_TIME = _l("Give the time with its offset, such as 2027-02-10T10:00:00+03:00.")
NOT_A_TIME = _l("Give a time in ISO 8601 with its offset, such as 2027-02-10T10:00:00+03:00.")
NOT_A_DAY = _l("Give a date as YYYY-MM-DD.")
NOT_AN_ID = _l("Give the id of a record that exists.")
REQUIRED = _l("This field is required.")
# The services' field names as the API spells them.
API_FIELDS = {
    "starts_at": "start", "ends_at": "end", "doctor": "doctor_id", "room": "room_id", "patient": "patient_id",
    "clinic": "room_id", "plan_stage": "plan_stage_id", "cancel_reason": "reason", "plan": "plan_id",
}


def local_moment(moment, clinic):
    """A UTC moment as ISO 8601 with the branch's offset."""
    return moment.astimezone(clinic_zone(clinic)).isoformat(timespec="seconds")


def appointment_json(visit):
    return {
        "id": visit.id,
        "patient_id": visit.patient_id,
        "doctor_id": visit.doctor_id,
        "room_id": visit.room_id,
        "clinic_id": visit.clinic_id,
        "start": local_moment(visit.starts_at, visit.clinic),
        "end": local_moment(visit.ends_at, visit.clinic),
        "kind": visit.kind,
        "status": visit.status,
        "plan_stage_id": visit.plan_stage_id,
        "version": visit.version,
    }


# --- reading input -------------------------------------------------------------------


def _moment(value, name):
    """An aware UTC datetime from ISO 8601 text with an offset, or 422."""
    if not isinstance(value, str):
        raise ApiError(422, fields={name: REQUIRED if value is None else NOT_A_TIME})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(422, fields={name: NOT_A_TIME}) from None
    if moment.tzinfo is None:
        raise ApiError(422, fields={name: NAIVE_TIME})
    return moment.astimezone(timezone.utc)


def _required_day(value, name):
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ApiError(422, fields={name: REQUIRED if value is None else NOT_A_DAY}) from None


def _row(model, value, name, required=True):
    """The live row whose id is ``value``, None when it is optional and
    absent, else 422 naming the field."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ApiError(422, fields={name: REQUIRED if value is None else NOT_AN_ID})
    row_id = bounded_id(value)
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None or getattr(row, "deleted_at", None) is not None:
        raise ApiError(422, fields={name: NOT_AN_ID})
    return row


def _visit_or_404(appointment_id):
    visit = live_row(db.session, Appointment, appointment_id)
    if visit is None or visit.clinic_id not in _visible_clinic_ids():
        raise ApiError(404, _l("There is no visit #%(id)s.", id=appointment_id))
    return visit


def _visible_clinic_ids():
    return {clinic.id for clinic in clinics_of(db.session, current_staff())}


# --- answering -----------------------------------------------------------------------


def conflict_response(error):
    """409 naming the visit in the way (or the visit that changed)."""
    response = error_response(ApiError(409, error.message))
    visit = getattr(error, "visit", None)
    if visit is not None:
        conflict = {
            "appointment_id": visit.id,
            "start": local_moment(visit.starts_at, visit.clinic),
            "end": local_moment(visit.ends_at, visit.clinic),
            "doctor_id": visit.doctor_id,
            "room_id": visit.room_id,
        }
        response.set_data(json.dumps({**response.get_json(), "conflict": conflict}, ensure_ascii=False))
    return response


class _Conflict(Exception):
    """A 409 answer ready to send: its body carries the conflict, which an
    ApiError's cannot."""

    def __init__(self, response):
        self.response = response


@contextmanager
def _schedule_change():
    """Refusals as answers: 403 for a branch or role, 409 for a conflict or
    documents still to sign, 422 for bad input; the session is rolled back
    (nothing written)."""
    try:
        yield
    except NotAllowed as error:
        db.session.rollback()
        raise ApiError(403, error.message) from None
    except ConflictError as error:
        response = conflict_response(error)
        db.session.rollback()
        raise _Conflict(response) from None
    except DocumentsMissing as error:  # the patient is not ready to be treated: 409, with what to sign
        db.session.rollback()
        response = jsonify(error=str(error.message), missing=[item.json() for item in error.missing])
        response.status_code = 409
        raise _Conflict(response) from None
    except DomainError as error:
        db.session.rollback()
        error.field = API_FIELDS.get(error.field, error.field)
        raise rejected(error) from None


@bp.errorhandler(_Conflict)
def _conflict_answer(error):
    return error.response


# --- slots ---------------------------------------------------------------------------


@bp.get("/slots")
@requires_roles(SCHEDULE_READERS)
def slots():
    args = request.args
    doctor = _row(Staff, args.get("doctor_id"), "doctor_id", required=False)
    specialty = None
    if args.get("specialty") is not None:
        specialty = db.session.execute(select(Specialty).where(Specialty.code == args["specialty"])).scalar_one_or_none()
        if specialty is None:
            raise ApiError(422, fields={"specialty": _l("Give the code of a specialty, such as therapy.")})
    if doctor is None and specialty is None:
        raise ApiError(422, fields={"doctor_id": _l("Give a doctor or a specialty.")})
    clinics = clinics_of(db.session, current_staff())
    clinic = None
    if args.get("clinic_id") is not None:
        clinic = next((c for c in clinics if str(c.id) == args["clinic_id"].strip()), None)
        if clinic is None:
            raise ApiError(422, fields={"clinic_id": _l("Give the id of one of your branches.")})
    patient = _row(Patient, args.get("patient_id"), "patient_id", required=False)
    duration = _whole(args.get("duration"), "duration", 1, 720)
    limit = _whole(args.get("limit", "20"), "limit", 1, LONGEST_SLOT_LIMIT)
    first_day = _required_day(args.get("from"), "from")
    last_day = _required_day(args.get("to"), "to")
    with _schedule_change():
        found = find_slots(
            db.session, duration=timedelta(minutes=duration), first_day=first_day, last_day=last_day, doctor=doctor,
            specialty=specialty, clinic=clinic, clinics=clinics, patient=patient, limit=limit,
        )
    return {"slots": [
        {
            "start": local_moment(slot.start, slot.clinic),
            "end": local_moment(slot.end, slot.clinic),
            "doctor_id": slot.doctor.id,
            "room_id": slot.room.id,
            "clinic_id": slot.clinic.id,
        }
        for slot in found
    ]}


def _whole(value, name, least, most):
    try:
        number = int(value) if isinstance(value, str) and value.strip().isdigit() else None
    except ValueError:
        number = None
    if number is None or not least <= number <= most:
        message = REQUIRED if value is None else _l("Give a whole number from %(least)s to %(most)s.", least=least,
                                                   most=most)
        raise ApiError(422, fields={name: message})
    return number


# --- visits --------------------------------------------------------------------------


@bp.post("/appointments")
@requires_roles(BOOKERS)
def book():
    body = json_object(allowed=("patient_id", "doctor_id", "room_id", "start", "end", "kind", "plan_stage_id",
                                "note"))
    patient = _row(Patient, body.get("patient_id"), "patient_id")
    doctor = _row(Staff, body.get("doctor_id"), "doctor_id")
    room = _row(Room, body.get("room_id"), "room_id")
    starts_at, ends_at = _moment(body.get("start"), "start"), _moment(body.get("end"), "end")
    kind = body.get("kind", "treatment")
    if kind not in APPOINTMENT_KINDS:
        raise ApiError(422, fields={"kind": _l("The kind is one of: %(kinds)s.", kinds=", ".join(APPOINTMENT_KINDS))})
    stage = _row(PlanStage, body.get("plan_stage_id"), "plan_stage_id", required=False)
    note = body.get("note")
    if not isinstance(note, (str, type(None))):
        raise ApiError(422, fields={"note": _l("The note is text.")})
    with _schedule_change():
        visit = commit_or_clash(db.session, lambda: book_visit(
            db.session, current_staff(), clinic=room.clinic, room=room, doctor=doctor, patient=patient,
            starts_at=starts_at, ends_at=ends_at, kind=kind, plan_stage=stage, note=note,
        ))
    return appointment_json(visit), 201


@bp.get("/appointments")
@requires_roles(SCHEDULE_READERS)
def list_appointments():
    args = request.args
    query = select(Appointment).where(
        Appointment.deleted_at.is_(None), branch_condition(Appointment.clinic_id, current_staff())
    )
    if args.get("clinic_id") is not None:
        clinic_id = bounded_id(args["clinic_id"])
        if clinic_id is None:
            raise ApiError(422, fields={"clinic_id": NOT_AN_ID})
        day = _required_day(args.get("date"), "date")
        visits = _within_days(query.where(Appointment.clinic_id == clinic_id), day, day)
    elif args.get("patient_id") is not None:
        patient = _row(Patient, args["patient_id"], "patient_id")
        visits = db.session.execute(
            query.where(Appointment.patient_id == patient.id).order_by(Appointment.starts_at, Appointment.id)
        ).scalars().all()
    elif args.get("doctor_id") is not None:
        doctor = _row(Staff, args["doctor_id"], "doctor_id")
        first_day, last_day = _required_day(args.get("from"), "from"), _required_day(args.get("to"), "to")
        if last_day < first_day or (last_day - first_day).days > LONGEST_LIST_DAYS:
            raise ApiError(422, fields={"to": _l("Give at most %(days)s days, the last not before the first.",
                                                 days=LONGEST_LIST_DAYS)})
        visits = _within_days(query.where(Appointment.doctor_id == doctor.id), first_day, last_day)
    else:
        raise ApiError(422, fields={"clinic_id": _l("Give clinic_id and date, patient_id, or doctor_id with from and to.")})
    return {"appointments": [appointment_json(visit) for visit in visits]}


def _within_days(query, first_day, last_day):
    """Visits on the branches' own days from ``first_day`` to ``last_day``:
    SQL takes a UTC range wide enough for any zone (±14 h), the branch's
    day of each visit decides."""
    start = datetime.combine(first_day, time(0), timezone.utc) - timedelta(hours=14)
    end = datetime.combine(last_day + timedelta(days=1), time(0), timezone.utc) + timedelta(hours=14)
    visits = db.session.execute(
        query.where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Appointment.id)
    ).scalars()
    return [visit for visit in visits if first_day <= local_day(visit.clinic, visit.starts_at) <= last_day]


@bp.post(f"{VISIT_URL}/move")
@requires_roles(BOOKERS)
def move(appointment_id):
    visit = _visit_or_404(appointment_id)
    body = json_object(allowed=("start", "doctor_id", "room_id", "apply", "versions"))
    starts_at = _moment(body.get("start"), "start")
    doctor = _row(Staff, body.get("doctor_id"), "doctor_id", required=False)
    room = _row(Room, body.get("room_id"), "room_id", required=False)
    versions = _versions(body.get("versions"))
    with _schedule_change():
        if flag(body, "apply"):
            reschedule = commit_or_clash(db.session, lambda: apply_move(
                db.session, current_staff(), visit, starts_at, doctor=doctor, room=room, versions=versions))
        else:
            reschedule = preview_move(db.session, current_staff(), visit, starts_at, doctor=doctor, room=room)
    return {
        "moves": [
            {
                "appointment_id": move.visit.id,
                "old_start": local_moment(move.old_start, move.visit.clinic),
                "new_start": local_moment(move.new_start, move.visit.clinic),
                "new_end": local_moment(move.new_end, move.visit.clinic),
                "doctor_id": move.doctor.id,
                "room_id": move.room.id,
                "version": move.version,
            }
            for move in reschedule.moves
        ],
        "unplaced": [{"appointment_id": other.id, "reason": str(reason)} for other, reason in reschedule.unplaced],
    }


def _versions(value):
    """{visit id: version} as a preview showed them, or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(422, fields={"versions": _l("Give the versions as {\"visit id\": version}.")})
    versions = {}
    for key, version in value.items():
        visit_id = bounded_id(key)
        if visit_id is None or isinstance(version, bool) or not isinstance(version, int):
            raise ApiError(422, fields={"versions": _l("Give the versions as {\"visit id\": version}.")})
        versions[visit_id] = version
    return versions


@bp.post(f"{VISIT_URL}/cancel")
@requires_roles(BOOKERS)
def cancel(appointment_id):
    visit = _visit_or_404(appointment_id)
    reason = json_object(allowed=("reason",)).get("reason")
    if not isinstance(reason, (str, type(None))):
        raise ApiError(422, fields={"reason": _l("The reason is text.")})
    with _schedule_change():
        commit_or_clash(db.session, lambda: set_visit_status(db.session, current_staff(), visit, "cancelled", reason))
    return appointment_json(visit)


@bp.post(f"{VISIT_URL}/status")
@requires_roles(BOOKERS)
def change_status(appointment_id):
    visit = _visit_or_404(appointment_id)
    body = json_object(allowed=("status", "reason"))
    status, reason = body.get("status"), body.get("reason")
    if not isinstance(status, str):
        raise ApiError(422, fields={"status": REQUIRED})
    if not isinstance(reason, (str, type(None))):
        raise ApiError(422, fields={"reason": _l("The reason is text.")})
    with _schedule_change():
        commit_or_clash(db.session, lambda: set_visit_status(db.session, current_staff(), visit, status, reason))
    return appointment_json(visit)


# --- a whole plan --------------------------------------------------------------------


@bp.post(f"/plans/<{ID}:plan_id>/book")
@requires_roles(BOOKERS)
def book_plan(plan_id):
    plan = load_plan(db.session, plan_id)
    if plan is None:
        raise ApiError(404, _l("There is no plan #%(id)s.", id=plan_id))
    body = json_object(allowed=("apply", "from", "horizon_days")) if request.get_data() else {}
    first_day = _required_day(body["from"], "from") if body.get("from") is not None else None
    horizon = body.get("horizon_days", DEFAULT_HORIZON_DAYS)
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        raise ApiError(422, fields={"horizon_days": _l("Give a whole number of days.")})
    apply = flag(body, "apply")
    with _schedule_change():
        if apply:
            booking = commit_or_clash(db.session, lambda: apply_plan_booking(
                db.session, current_staff(), plan, first_day, horizon))
        else:
            booking = preview_plan_booking(db.session, current_staff(), plan, first_day, horizon)
    answer = {
        "bookings": [
            {
                "plan_stage_id": placed.stage.id,
                "doctor_id": placed.doctor.id,
                "room_id": placed.room.id,
                "clinic_id": placed.clinic.id,
                "start": local_moment(placed.start, placed.clinic),
                "end": local_moment(placed.end, placed.clinic),
                **({"appointment_id": placed.appointment.id} if placed.appointment is not None else {}),
            }
            for placed in booking.bookings
        ],
        "unplaced": [{"plan_stage_id": stage.id, "reason": str(reason)} for stage, reason in booking.unplaced],
    }
    return answer, 201 if apply and booking.bookings else 200

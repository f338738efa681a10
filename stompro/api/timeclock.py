"""The time clock for other tools: the caller clocks in or out, and a
person's month against their shifts (the owner reads anyone's, everyone
their own) — the same rules as the kiosk (timeclock.services, sheet.py)."""
from flask import request
from flask_babel import lazy_gettext as _l

from ..db import utcnow
from ..errors import DomainError
from ..extensions import db
from ..org.branches import clinics_of
from ..org.models import Staff
from ..org.roles import EVERYONE, OWNER
from ..records import row_by_id
from ..scheduling.availability import clinic_zone
from ..scheduling.models import Shift
from ..timeclock.services import clock_in, clock_out
from ..timeclock.sheet import staff_sheet
from ..timefmt import parse_month, to_local
from . import bp
from .auth import current_staff, requires_roles
from .errors import ApiError, rejected
from .payload import iso_moment, json_object


@bp.post("/timeclock")
@requires_roles(EVERYONE)
def punch_clock():
    """``{"action": "in" | "out"}``: in at the branch of today's shift (else the caller's first branch)."""
    me = current_staff()
    body = json_object(allowed=("action",))
    action = body.get("action")
    if action not in ("in", "out"):
        raise ApiError(422, fields={"action": _l("Give one of: %(values)s.", values="in, out")})
    try:
        if action == "in":
            entry = clock_in(db.session, me, me, _todays_branch(me))
        else:
            entry = clock_out(db.session, me, me)
    except DomainError as error:
        db.session.rollback()
        raise rejected(error) from None
    db.session.commit()
    return {"id": entry.id, "staff_id": entry.staff_id, "clinic_id": entry.clinic_id,
            "clock_in": iso_moment(entry.clock_in),
            "clock_out": iso_moment(entry.clock_out) if entry.clock_out else None}, (201 if action == "in" else 200)


@bp.get("/timeclock/sheet")
@requires_roles(EVERYONE)
def timeclock_sheet():
    me = current_staff()
    person = me
    if request.args.get("staff_id"):
        person = row_by_id(db.session, Staff, request.args["staff_id"]) if request.args["staff_id"].isdigit() else None
        if person is None:
            raise ApiError(422, fields={"staff_id": _l("Give the id of a record that exists.")})
        if person.id != me.id and OWNER not in me.roles:
            raise ApiError(403, _l("Only the owner reads another person's timesheet."))
    try:
        month = parse_month(request.args.get("month") or f"{to_local(utcnow()):%Y-%m}")
    except DomainError as error:
        raise rejected(error) from None
    sheet = staff_sheet(db.session, person, month)
    return {"staff_id": person.id, "month": f"{month:%Y-%m}", "days": [day.json() for day in sheet.days],
            "totals": sheet.totals}


def _todays_branch(me):
    mine = clinics_of(db.session, me)
    if not mine:
        raise DomainError(_l("You work in no branch."), field="clinic")
    now = utcnow()
    shifts = db.session.execute(
        db.select(Shift).where(Shift.staff_id == me.id, Shift.deleted_at.is_(None), Shift.clinic_id.in_(
            [clinic.id for clinic in mine]), Shift.ends_at > now).order_by(Shift.starts_at).limit(3)
    ).scalars().all()
    today = [s for s in shifts if s.work_date == now.astimezone(clinic_zone(s.clinic)).date()]
    return today[0].clinic if today else mine[0]

"""The time clock: when a person came to work in a branch and when they left.

Every function takes the session and the acting staff member, flushes and
never commits, and raises DomainError naming the field at fault.

- A person clocks themselves in and out, at the reception's kiosk with
  their PIN (kiosk.py) or from their own session: clock_in / clock_out, at
  the server's time, in a branch they work in.
- Anything else — an entry added by hand, a time changed — is the owner's
  correction and says why (``correction_reason``); the entry as it was
  stays in the audit log.

- An entry is a person's (active, working in that branch) clock-in in a
  branch and, once they leave, the clock-out.
- Clock-in is never in the future; clock-out is after clock-in, never in the
  future, and at most LONGEST_ENTRY later (a forgotten clock-out is
  corrected, not left running for days).
- One person has at most one open entry (no clock-out yet), and their
  entries never overlap; an open entry runs until it is closed.
- Entries are moved to the recycle bin only by the owner.
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, true
from sqlalchemy.orm import joinedload

from .. import bounds
from ..db import utcnow
from ..errors import DomainError, NotAllowed
from ..org.branches import require_branch
from ..org.roles import OWNER
from ..records import same_value, soft_delete
from ..timefmt import format_moment
from .models import TimeClock

ENTRY_FIELDS = ("staff", "clinic", "clock_in", "clock_out", "note")
CORRECTION_FIELDS = ENTRY_FIELDS + ("correction_reason",)
LONGEST_ENTRY = timedelta(hours=24)


def add_entry(session, actor, staff=None, clinic=None, clock_in=None, clock_out=None, note=None,
              correction_reason=None, now=None):
    """The owner adds an entry of ``staff`` in ``clinic`` by hand (open when
    ``clock_out`` is None), saying why."""
    reason = _correction(actor, correction_reason)
    entry = TimeClock(correction_reason=reason)
    _set_entry(session, actor, entry, staff, clinic, clock_in, clock_out, note, now or utcnow())
    session.add(entry)
    session.flush()
    return entry


def update_entry(session, actor, entry, now=None, correction_reason=None, **changes):
    """The owner corrects an entry (``changes`` among ENTRY_FIELDS), saying
    why; one saved as it is changes nothing and is never refused."""
    unknown = set(changes) - set(ENTRY_FIELDS)
    if unknown:
        raise TypeError(f"not a time-clock field: {', '.join(sorted(unknown))}")
    require_branch(actor, entry.clinic_id)
    if entry.deleted_at is not None:
        raise DomainError(_l("This entry was deleted."))
    values = _wanted(entry, changes)
    if all(same_value(getattr(entry, name), value) for name, value in values.items()):
        return entry  # saved as it is: nothing to check (the person may have left the branch since)
    entry.correction_reason = _correction(actor, correction_reason)
    _set_entry(session, actor, entry, now=now or utcnow(), **values)
    session.flush()
    return entry


def _wanted(entry, changes):
    values = {name: changes.get(name, getattr(entry, name)) for name in ENTRY_FIELDS}
    for name in ("clock_in", "clock_out"):  # the forms show minutes: an unchanged minute keeps the seconds
        stored = getattr(entry, name)
        if stored is not None and values[name] is not None and same_value(stored, values[name]):
            values[name] = stored
    return values


def _correction(actor, reason):
    if OWNER not in actor.roles:
        raise NotAllowed(_l("Only the owner corrects the time clock; a person clocks in and out at the kiosk."))
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Write why the entry is corrected."), field="correction_reason")
    bounds.require(bounds.text_problem(text), "correction_reason")
    return text


def delete_entry(session, actor, entry):
    """The owner moves an entry to the recycle bin."""
    if OWNER not in actor.roles:
        raise NotAllowed(_l("Only the owner moves a time-clock entry to the recycle bin."))
    require_branch(actor, entry.clinic_id)
    soft_delete(session, entry)


def clock_in(session, actor, staff, clinic, now=None):
    """``staff`` starts work in ``clinic`` now (the kiosk, or their own session)."""
    now = now or utcnow()
    entry = TimeClock()
    _set_entry(session, actor, entry, staff, clinic, now.replace(microsecond=0), None, None, now)
    session.add(entry)
    session.flush()
    return entry


def clock_out(session, actor, staff, now=None):
    """``staff`` leaves now: their open entry is closed."""
    now = now or utcnow()
    entry = open_entry(session, staff)
    if entry is None:
        raise DomainError(_l("This person has not clocked in."), field="staff")
    require_branch(actor, entry.clinic_id)
    out = max(now.replace(microsecond=0), entry.clock_in + timedelta(seconds=1))  # out within the second of in
    _set_entry(session, actor, entry, entry.staff, entry.clinic, entry.clock_in, out, entry.note, max(now, out))
    session.flush()
    return entry


def open_entry(session, staff):
    """The person's entry without a clock-out, if any."""
    return session.execute(
        select(TimeClock).where(
            TimeClock.staff_id == staff.id, TimeClock.deleted_at.is_(None), TimeClock.clock_out.is_(None)
        ).limit(1)
    ).scalar_one_or_none()


def open_entries(session, people):
    """{staff id: their open entry} of those of ``people`` who are clocked in, in one query."""
    ids = [person.id for person in people]
    return {entry.staff_id: entry for entry in session.execute(
        select(TimeClock).where(TimeClock.staff_id.in_(ids), TimeClock.deleted_at.is_(None),
                                TimeClock.clock_out.is_(None)).options(joinedload(TimeClock.clinic))
    ).scalars()} if ids else {}


def _set_entry(session, actor, entry, staff, clinic, clock_in, clock_out, note, now):
    if staff is None:
        raise DomainError(_l("Choose the person."), field="staff")
    if clinic is None:
        raise DomainError(_l("Choose the branch."), field="clinic")
    require_branch(actor, clinic)
    changes_person = entry.id is None or entry.staff_id != staff.id
    if changes_person and not staff.active:
        raise DomainError(_l("This person no longer works at the clinic."), field="staff")
    if clinic.id not in {c.id for c in staff.clinics}:
        raise DomainError(_l("This person does not work in this branch."), field="staff")
    if clock_in is None:
        raise DomainError(_l("Give the time of clocking in."), field="clock_in")
    bounds.require(bounds.moment_problem(clock_in), "clock_in")
    if clock_in > now:
        raise DomainError(_l("Clock-in cannot be in the future."), field="clock_in")
    if clock_out is not None:
        bounds.require(bounds.moment_problem(clock_out), "clock_out")
        if clock_out <= clock_in:
            raise DomainError(_l("Clock-out must be after clock-in."), field="clock_out")
        if clock_out > now:
            raise DomainError(_l("Clock-out cannot be in the future."), field="clock_out")
        if clock_out - clock_in > LONGEST_ENTRY:
            raise DomainError(_l("An entry lasts at most 24 hours; correct the forgotten clock-out."),
                              field="clock_out")
    note = (note or "").strip() or None
    bounds.require(bounds.text_problem(note), "note")
    _refuse_overlap(session, entry, staff, clock_in, clock_out)
    entry.staff, entry.clinic, entry.clock_in, entry.clock_out, entry.note = staff, clinic, clock_in, clock_out, note


def _refuse_overlap(session, entry, staff, clock_in, clock_out):
    """One person, one entry at a time; an open entry runs until it is closed."""
    others = [
        TimeClock.staff_id == staff.id,
        TimeClock.deleted_at.is_(None),
        TimeClock.id != entry.id if entry.id is not None else true(),
    ]
    if clock_out is None:
        still_open = session.execute(
            select(TimeClock).where(*others, TimeClock.clock_out.is_(None)).limit(1)
        ).scalar_one_or_none()
        if still_open is not None:
            raise DomainError(
                _l("This person is still clocked in since %(when)s; clock them out first.",
                   when=format_moment(still_open.clock_in)),
                field="clock_out",
            )
    clash = session.execute(
        select(TimeClock)
        .where(
            *others,
            or_(TimeClock.clock_out.is_(None), TimeClock.clock_out > clock_in),
            TimeClock.clock_in < clock_out if clock_out is not None else true(),
        )
        .order_by(TimeClock.clock_in)
        .limit(1)
    ).scalar_one_or_none()
    if clash is not None:
        until = format_moment(clash.clock_out) if clash.clock_out else "…"
        raise DomainError(
            _l("This person already has an entry at that time (%(start)s – %(end)s).",
               start=format_moment(clash.clock_in), end=until),
            field="clock_in",
        )

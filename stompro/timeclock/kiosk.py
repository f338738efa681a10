"""The reception's kiosk: a person picks their name and types their PIN to
clock in, and again to clock out. The owner sets each person's PIN.

A PIN is short, so it is hashed like a password and guessed slowly: after
PIN_FAILURES wrong PINs for one person from one address, that pair waits
PIN_LOCK_MINUTES (the sign-in throttle's table, keyed "pin:<id>")."""
import math
import re
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from ..db import utcnow
from ..errors import DomainError, NotAllowed
from ..org.models import SignInFailure
from ..org.passwords import hash_password, verify_password
from ..org.roles import OWNER
from .services import clock_in, clock_out, open_entry

PIN_PATTERN = re.compile(r"\d{4,8}")
PIN_FAILURES = 5
PIN_LOCK_MINUTES = 15


def set_pin(session, actor, staff, pin):
    """The owner sets ``staff``'s kiosk PIN: 4 to 8 digits."""
    if OWNER not in actor.roles:
        raise NotAllowed(_l("Only the owner sets a time-clock PIN."))
    pin = (pin or "").strip()
    if not PIN_PATTERN.fullmatch(pin):
        raise DomainError(_l("A PIN is 4 to 8 digits."), field="new_pin")
    staff.pin_hash = hash_password(pin)
    session.flush()


def punch(session, staff, pin, clinic, address, now=None):
    """``staff`` clocks in at ``clinic`` — or out, when clocked in — with
    their PIN; returns ("in" | "out", the entry)."""
    now = now or utcnow()
    key, address = f"pin:{staff.id}", (address or "unknown")[:45]
    window = timedelta(minutes=PIN_LOCK_MINUTES)
    failures = session.execute(
        select(SignInFailure.at).where(SignInFailure.login == key, SignInFailure.address == address,
                                       SignInFailure.at >= now - window)
        .order_by(SignInFailure.at.desc()).limit(PIN_FAILURES)
    ).scalars().all()
    if len(failures) >= PIN_FAILURES:
        minutes = max(1, math.ceil((failures[-1] + window - now).total_seconds() / 60))
        raise DomainError(_l("Too many wrong PINs. Try again in %(minutes)s min.", minutes=minutes), field="pin")
    if not staff.active or not staff.pin_hash or not verify_password(staff.pin_hash, pin or ""):
        session.add(SignInFailure(at=now, login=key, address=address))
        session.flush()
        raise DomainError(_l("Wrong PIN, or no PIN is set: the owner sets it."), field="pin")
    session.execute(delete(SignInFailure).where(SignInFailure.login == key, SignInFailure.address == address))
    if open_entry(session, staff) is not None:
        return "out", clock_out(session, staff, staff, now=now)
    return "in", clock_in(session, staff, staff, clinic, now=now)

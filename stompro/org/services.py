"""Sign-in and staff accounts."""
import functools
import math
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from ..db import utcnow
from ..errors import DomainError
from .models import SignInFailure, Staff, StaffRole
from .passwords import hash_password, needs_rehash, verify_password
from .roles import ROLES

WRONG_CREDENTIALS = _l("Wrong login or password.")


def find_staff_by_login(session, login):
    return session.execute(
        select(Staff).where(func.lower(Staff.login) == (login or "").strip().lower())
    ).scalar_one_or_none()


# One address may fail this many times as often as one login from it
# before every sign-in from that address waits.
ADDRESS_FAILURE_FACTOR = 4


def authenticate(session, login, password, address, *, max_failures=5, lockout_minutes=5, now=None):
    """Return the active staff member for a correct login and password.

    Failures are counted per login *and* source address: ``max_failures``
    wrong passwords for one login from one address make that pair wait
    ``lockout_minutes``, so a stranger cannot lock a colleague out of the
    reception's computer; an address that fails ADDRESS_FAILURE_FACTOR times
    as often, across logins, waits too. An unknown login is checked against
    a dummy hash, so it answers the same words in about the same time. The
    failure is written even when sign-in fails, so the caller commits in
    both cases."""
    now = now or utcnow()
    key = (login or "").strip().lower()[:64]
    address = (address or "unknown")[:45]
    window = timedelta(minutes=lockout_minutes)
    wait = _throttle_wait(session, key, address, now, window, max_failures)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        raise DomainError(_l("Too many failed attempts. Try again in %(minutes)s min.", minutes=minutes))
    staff = find_staff_by_login(session, key)
    correct = verify_password(staff.password_hash if staff is not None else _dummy_hash(), password or "")
    if staff is None or not staff.active or not correct:
        session.add(SignInFailure(at=now, login=key, address=address))
        session.execute(delete(SignInFailure).where(SignInFailure.at < now - window))
        session.flush()
        raise DomainError(WRONG_CREDENTIALS)
    session.execute(delete(SignInFailure).where(SignInFailure.login == key, SignInFailure.address == address))
    staff.last_login_at = now
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    session.flush()
    return staff


def _throttle_wait(session, login, address, now, window, max_failures):
    """How long this login from this address must still wait, or None."""
    recent = SignInFailure.at >= now - window
    waits = []
    for condition, limit in (
        ((SignInFailure.login == login, SignInFailure.address == address), max_failures),
        ((SignInFailure.address == address,), max_failures * ADDRESS_FAILURE_FACTOR),
    ):
        times = session.execute(
            select(SignInFailure.at).where(recent, *condition).order_by(SignInFailure.at.desc()).limit(limit)
        ).scalars().all()
        if len(times) >= limit:
            waits.append(times[-1] + window - now)
    return max(waits) if waits else None


@functools.cache
def _dummy_hash():
    return hash_password(secrets.token_hex(16))


def set_password(staff, password):
    """Give ``staff`` a new password (at least 8 characters, demo data aside)."""
    if not password or len(password) < 8:
        raise DomainError(_l("A password needs at least 8 characters."), field="password")
    staff.password_hash = hash_password(password)


def set_roles(session, staff, roles):
    """Make ``staff`` hold exactly ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise DomainError(_l("Unknown role: %(role)s", role=", ".join(sorted(unknown))), field="roles")
    wanted = set(roles)
    for row in list(staff.role_rows):
        if row.role not in wanted:
            staff.role_rows.remove(row)
    held = {row.role for row in staff.role_rows}
    for role in sorted(wanted - held):
        staff.role_rows.append(StaffRole(role=role))
    session.flush()

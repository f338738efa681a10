"""Sign-in and staff accounts."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..db import utcnow
from ..errors import DomainError
from .models import Staff, StaffRole
from .passwords import hash_password, needs_rehash, verify_password
from .roles import ROLES

WRONG_CREDENTIALS = _l("Wrong login or password.")


def find_staff_by_login(session, login):
    return session.execute(
        select(Staff).where(func.lower(Staff.login) == (login or "").strip().lower())
    ).scalar_one_or_none()


def authenticate(session, login, password, *, max_failures=5, lockout_minutes=5):
    """Return the staff member for a correct login and password.

    After ``max_failures`` wrong passwords in a row the account is locked for
    ``lockout_minutes``; the failure counter is written even when sign-in fails,
    so the caller commits in both cases."""
    staff = find_staff_by_login(session, login)
    now = utcnow()
    if staff is None or not staff.active:
        raise DomainError(WRONG_CREDENTIALS)
    if staff.locked_until and staff.locked_until > now:
        minutes = max(1, int((staff.locked_until - now).total_seconds() // 60) + 1)
        raise DomainError(
            _l("Too many failed attempts. Try again in %(minutes)s min.", minutes=minutes)
        )
    if not verify_password(staff.password_hash, password or ""):
        staff.failed_logins += 1
        if staff.failed_logins >= max_failures:
            staff.failed_logins = 0
            staff.locked_until = now + timedelta(minutes=lockout_minutes)
        session.flush()
        raise DomainError(WRONG_CREDENTIALS)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    session.flush()
    return staff


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

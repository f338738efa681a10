"""Sign-in and staff accounts.

Every function takes the database session (where it needs one), flushes and
never commits: the panel, the API and the CLI commit once around it. A broken
rule raises DomainError with a message the owner can read and, when a form
field is at fault, its name (login, new_password, current_password, roles,
clinics, last_name, first_name, color, phone, email).

Sessions and API tokens carry the person's ``session_epoch`` as it was when
they were issued; ``end_sessions`` bumps it, so every one of them stops
working at once (sign-out, a new password, deactivation, other roles or
branches)."""
import functools
import math
import re
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from ..db import utcnow
from ..errors import DomainError
from .models import LANGUAGES, Clinic, SignInFailure, Specialty, Staff, StaffRole
from .passwords import hash_password, needs_rehash, verify_password
from .roles import OWNER, ROLES

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


# --- sessions ----------------------------------------------------------------


def end_sessions(staff):
    """End every session and API token of ``staff``: each carries the epoch it
    was issued with, and only the current one is accepted."""
    staff.session_epoch = (staff.session_epoch or 0) + 1


def sign_out(session, staff):
    """Sign-out ends every session and token of the person, not only this one."""
    end_sessions(staff)
    session.flush()


# --- passwords ---------------------------------------------------------------

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def check_new_password(password, login, field="new_password"):
    """The rules of a password a person or the owner chooses (the demo's
    seeded "demo" password is written as a hash and never checked)."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _l("A password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH), field=field
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            _l("A password may have at most %(count)s characters.", count=MAX_PASSWORD_LENGTH), field=field
        )
    if login and password.strip().lower() == login.strip().lower():
        raise DomainError(_l("The password must not be the login."), field=field)


def set_password(staff, password, *, field="new_password"):
    """Give ``staff`` a new password and end their sessions and tokens."""
    check_new_password(password, staff.login, field=field)
    staff.password_hash = hash_password(password)
    end_sessions(staff)


def reset_password(session, staff, password, *, actor=None, temporary=True):
    """The owner (or the CLI) gives ``staff`` a password. A temporary one must
    be changed at the next sign-in. Every session and token of the person ends."""
    if actor is not None and actor.id == staff.id:
        raise DomainError(_l("Change your own password on your account page."), field="new_password")
    set_password(staff, password)
    staff.must_change_password = bool(temporary)
    session.flush()


def change_own_password(
    session, staff, current_password, new_password, *, address=None, max_failures=5, lockout_minutes=5, now=None
):
    """A person replaces their password, knowing the current one. Every
    session and token ends; the caller re-issues the one it serves (its new
    epoch is ``staff.session_epoch``).

    A wrong current password counts as a failed sign-in of the person from
    ``address`` (the same throttle), so a session left open cannot be used to
    guess the password; the failure is written even when this raises, so the
    caller commits in both cases."""
    now = now or utcnow()
    key = staff.login.lower()
    address = (address or "unknown")[:45]
    window = timedelta(minutes=lockout_minutes)
    wait = _throttle_wait(session, key, address, now, window, max_failures)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        raise DomainError(
            _l("Too many failed attempts. Try again in %(minutes)s min.", minutes=minutes), field="current_password"
        )
    if not verify_password(staff.password_hash, current_password or ""):
        session.add(SignInFailure(at=now, login=key, address=address))
        session.flush()
        raise DomainError(_l("The current password is wrong."), field="current_password")
    if new_password and verify_password(staff.password_hash, new_password):
        raise DomainError(_l("The new password must differ from the current one."), field="new_password")
    set_password(staff, new_password)
    staff.must_change_password = False
    session.flush()


# --- accounts ----------------------------------------------------------------

LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]*$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
DETAIL_FIELDS = ("middle_name", "email", "phone", "specialty", "color", "language", "note")
NAME_FIELDS = {"last_name": 80, "first_name": 80, "middle_name": 80}


def _clean_login(session, login, staff=None):
    """The login as stored: trimmed, lower case; unique whatever the case."""
    login = (login or "").strip().lower()
    if not login:
        raise DomainError(_l("A login is required."), field="login")
    if len(login) > 64:
        raise DomainError(_l("A login may have at most 64 characters."), field="login")
    if not LOGIN_PATTERN.match(login):
        raise DomainError(
            _l("A login may use Latin letters, digits and . _ - @ (starting with a letter or a digit)."),
            field="login",
        )
    taken = find_staff_by_login(session, login)
    if taken is not None and (staff is None or taken.id != staff.id):
        raise DomainError(_l("The login “%(login)s” is taken.", login=login), field="login")
    return login


def _clean_text(value, field, required=False, limit=None):
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if required and not value:
        labels = {"last_name": _l("A last name is required."), "first_name": _l("A first name is required.")}
        raise DomainError(labels.get(field, _l("This field is required.")), field=field)
    if limit and value and len(value) > limit:
        raise DomainError(_l("At most %(count)s characters.", count=limit), field=field)
    return value or None


def _clean_details(fields):
    """Validated values of the optional fields present in ``fields``."""
    from ..patients.phones import normalize_phone

    clean = {}
    for name, value in fields.items():
        if name not in DETAIL_FIELDS:
            raise TypeError(f"not a staff detail: {name}")
        if name == "middle_name":
            value = _clean_text(value, name, limit=80)
        elif name == "email":
            value = _clean_text(value, name, limit=120)
            if value and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
                raise DomainError(_l("“%(email)s” is not an e-mail address.", email=value), field="email")
        elif name == "phone":
            value = _clean_text(value, name)
            value = normalize_phone(value) if value else None
        elif name == "specialty":
            if value is not None and not isinstance(value, Specialty):
                raise TypeError("specialty must be a Specialty or None")
        elif name == "color":
            value = (value or "").strip() or "#4a90d9"
            if not COLOR_PATTERN.match(value):
                raise DomainError(_l("A colour looks like #4a90d9."), field="color")
            value = value.lower()
        elif name == "language":
            if value not in LANGUAGES:
                raise DomainError(_l("Choose Russian or English."), field="language")
        elif name == "note":
            value = _clean_text(value, name)
        clean[name] = value
    return clean


def create_staff(
    session, *, login, password, last_name, first_name, roles, clinics=(), must_change_password=False, **details
):
    """A new active person with ``roles`` (at least one) working in ``clinics``."""
    staff = Staff(
        login=_clean_login(session, login),
        last_name=_clean_text(last_name, "last_name", required=True, limit=80),
        first_name=_clean_text(first_name, "first_name", required=True, limit=80),
        active=True,
        session_epoch=0,
        must_change_password=bool(must_change_password),
    )
    for name, value in _clean_details(details).items():
        setattr(staff, name, value)
    check_new_password(password, staff.login)
    staff.password_hash = hash_password(password)
    _check_roles(roles)
    session.add(staff)
    staff.clinics = _clean_clinics(clinics)
    for role in sorted(set(roles)):
        staff.role_rows.append(StaffRole(role=role))
    session.flush()
    return staff


def update_staff(session, staff, **fields):
    """Change a person's login, names and details (not roles, branches,
    password or status: they have their own functions). Returns whether
    anything changed."""
    changed = False
    if "login" in fields:
        login = (fields.pop("login") or "").strip()
        if login.lower() != staff.login.lower():  # the case of an old login is kept as it is
            staff.login = _clean_login(session, login, staff)
            changed = True
    for name in ("last_name", "first_name"):
        if name in fields:
            value = _clean_text(fields.pop(name), name, required=True, limit=80)
            if value != getattr(staff, name):
                setattr(staff, name, value)
                changed = True
    for name, value in _clean_details(fields).items():
        if value != getattr(staff, name):
            setattr(staff, name, value)
            changed = True
    session.flush()
    return changed


def _active_owner_ids(session, lock=False):
    query = (
        select(Staff.id)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Staff.active.is_(True), StaffRole.role == OWNER)
    )
    if lock:  # two owners demoting each other at once: the second waits and sees the first
        query = query.with_for_update(of=Staff)
    return set(session.execute(query).scalars())


def _check_an_owner_remains(session, staff):
    """Refuse to leave the clinic without an active owner once ``staff`` stops being one."""
    others = _active_owner_ids(session, lock=True) - {staff.id}
    if not others:
        raise DomainError(_l("At least one active owner must remain: make someone else an owner first."), field="roles")


def deactivate_staff(session, staff, *, actor=None):
    """Close the person's account: they can no longer sign in, and every
    session and token of theirs ends. Returns False if it was closed already."""
    if actor is not None and actor.id == staff.id:
        raise DomainError(_l("You cannot deactivate yourself."))
    if not staff.active:
        return False
    if OWNER in staff.roles:
        _check_an_owner_remains(session, staff)
    staff.active = False
    end_sessions(staff)
    session.flush()
    return True


def reactivate_staff(session, staff):
    """Open a closed account again; its old sessions stay ended. Returns False
    if it was open."""
    if staff.active:
        return False
    staff.active = True
    session.flush()
    return True


def _check_roles(roles):
    roles = set(roles or ())
    if not roles:
        raise DomainError(_l("Give the person at least one role."), field="roles")
    unknown = roles - set(ROLES)
    if unknown:
        raise DomainError(_l("Unknown role: %(role)s", role=", ".join(sorted(unknown))), field="roles")


def set_roles(session, staff, roles, *, actor=None):
    """Make ``staff`` hold exactly ``roles``. A change of roles ends the
    person's sessions and tokens. Returns whether anything changed."""
    _check_roles(roles)
    wanted = set(roles)
    held = set(staff.roles)
    if wanted == held:
        return False
    if OWNER in held and OWNER not in wanted:
        if actor is not None and actor.id == staff.id:
            raise DomainError(_l("You cannot remove your own owner role; another owner can do it."), field="roles")
        if staff.active:
            _check_an_owner_remains(session, staff)
    for row in list(staff.role_rows):
        if row.role not in wanted:
            staff.role_rows.remove(row)
    for role in sorted(wanted - held):
        staff.role_rows.append(StaffRole(role=role))
    end_sessions(staff)
    session.flush()
    return True


def _clean_clinics(clinics):
    clinics = list(dict.fromkeys(clinics or ()))
    if any(not isinstance(clinic, Clinic) for clinic in clinics):
        raise TypeError("clinics must be Clinic rows")
    return clinics


def set_clinics(session, staff, clinics):
    """Make ``staff`` work in exactly ``clinics`` (branches). A change ends the
    person's sessions and tokens. Returns whether anything changed."""
    clinics = _clean_clinics(clinics)
    if {c.id for c in clinics} == {c.id for c in staff.clinics}:
        return False
    staff.clinics = clinics
    end_sessions(staff)
    session.flush()
    return True

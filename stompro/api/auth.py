"""Bearer tokens and the role check of every endpoint.

A token is signed with the app's SECRET_KEY and expires after
API_TOKEN_HOURS (default 12). It carries the staff id and the person's
session epoch at issue (org.services.end_sessions), so sign-out, a new
password, deactivation and a change of roles or branches revoke every token
issued before, as they end the panel's sessions. Nothing else is stored on
the server."""
from functools import wraps

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import DomainError
from ..extensions import db
from ..org.branches import clinics_of
from ..org.models import Staff
from ..org.roles import EVERYONE
from ..org.services import authenticate
from . import bp, set_request_user
from .errors import ApiError
from .payload import json_object

TOKEN_SALT = "stompro.api.token"
DEFAULT_TOKEN_HOURS = 12

INVALID_TOKEN = _l("The token is not valid: request a new one.")
EXPIRED_TOKEN = _l("The token has expired: request a new one.")
CREDENTIALS_REQUIRED = _l("Send the login and the password as text.")
PASSWORD_CHANGE_REQUIRED = _l("Choose a new password in the panel first: the current one is temporary.")


def token_lifetime_seconds():
    return int(float(current_app.config.get("API_TOKEN_HOURS", DEFAULT_TOKEN_HOURS)) * 3600)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def issue_token(staff):
    return _serializer().dumps({"staff": staff.id, "epoch": staff.session_epoch})


def staff_for_token(session, token):
    """The active staff member a token was issued to, or ApiError 401."""
    try:
        claims = _serializer().loads(token, max_age=token_lifetime_seconds())
    except SignatureExpired:
        raise ApiError(401, EXPIRED_TOKEN) from None
    except BadSignature:
        raise ApiError(401, INVALID_TOKEN) from None
    claims = claims if isinstance(claims, dict) else {}
    staff_id, epoch = claims.get("staff"), claims.get("epoch")
    staff = session.get(Staff, staff_id) if isinstance(staff_id, int) and not isinstance(staff_id, bool) else None
    if staff is None or not staff.active:
        raise ApiError(401, INVALID_TOKEN)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch != staff.session_epoch:
        raise ApiError(401, INVALID_TOKEN)  # ended: sign-out, a new password, other roles …
    if staff.must_change_password:
        raise ApiError(401, PASSWORD_CHANGE_REQUIRED)
    return staff


def _bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401)
    return token.strip()


def requires_roles(roles):
    """Let the call through for a valid token of someone holding one of
    ``roles``: 401 without a valid token, 403 for the other roles. The token's
    owner becomes current_user for the request (audit log, language)."""
    roles = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            staff = staff_for_token(db.session, _bearer_token())
            set_request_user(staff)
            if not staff.has_any_role(roles):
                raise ApiError(403)
            return view(*args, **kwargs)

        return guarded

    return decorator


def current_staff():
    """The staff member whose token authenticated this call."""
    return current_user._get_current_object()


@bp.post("/token")
def create_token():
    body = json_object(allowed=("login", "password"))
    login, password = body.get("login"), body.get("password")
    if not isinstance(login, str) or not isinstance(password, str):
        fields = {name: CREDENTIALS_REQUIRED for name in ("login", "password") if not isinstance(body.get(name), str)}
        raise ApiError(422, CREDENTIALS_REQUIRED, fields)
    try:
        staff = authenticate(
            db.session,
            login,
            password,
            request.remote_addr,
            max_failures=current_app.config["LOCKOUT_FAILURES"],
            lockout_minutes=current_app.config["LOCKOUT_MINUTES"],
        )
    except DomainError as error:
        db.session.commit()  # keep the failure counter and the lockout
        raise ApiError(401, error.message) from None
    db.session.commit()
    if staff.must_change_password:
        raise ApiError(403, PASSWORD_CHANGE_REQUIRED)
    return {"token": issue_token(staff), "expires_in": token_lifetime_seconds()}


@bp.get("/me")
@requires_roles(EVERYONE)
def me():
    """Who the token is: for a tool to know its roles and branches."""
    staff = current_staff()
    return {"id": staff.id, "login": staff.login, "name": staff.full_name, "roles": sorted(staff.roles),
            "clinic_ids": sorted(clinic.id for clinic in clinics_of(db.session, staff))}

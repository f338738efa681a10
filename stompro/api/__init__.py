"""The JSON API (/api/v1), described by openapi.yaml at the repository root.

Every answer is JSON, errors included: ``{"error": message}`` plus
``"fields": {field: message}`` when input was at fault. Calls are
authenticated by a bearer token alone (see auth.py), never by the panel's
sign-in cookie, so the blueprint is exempt from CSRF."""
from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from .errors import MESSAGES, ApiError, error_response, http_error_response

URL_PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
bp.register_error_handler(ApiError, error_response)
bp.register_error_handler(HTTPException, http_error_response)
# Handlers registered for a status code win over class handlers, so the
# blueprint repeats the codes the app renders as HTML pages.
for status in MESSAGES:
    bp.register_error_handler(status, http_error_response)


def set_request_user(staff):
    """Make ``staff`` (None: nobody) current_user for this request only.
    login_user() would write the session cookie; this is the call Flask-Login
    itself uses to set the request's user."""
    current_app.login_manager._update_request_context_with_user(staff)


def is_api_request():
    return request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/")


def isolate_api_requests():
    """An app-wide before_request hook that must run before the panel's
    session hooks (the idle timeout). For a path under /api/v1 it makes the
    caller anonymous until the bearer token is checked, so the sign-in cookie
    neither authenticates the call nor gets rewritten by it; and it answers
    unknown paths and methods here in JSON, since routing errors never reach
    the blueprint's error handlers."""
    if not is_api_request():
        return None
    set_request_user(None)
    failure = request.routing_exception
    if failure is not None and not isinstance(failure, RequestRedirect):
        return http_error_response(failure)
    return None


from . import (  # noqa: E402,F401  (the routes)
    appointments, auth, calendars, chart, documents, lost_patients, messages, money, patients, plans, reports, tasks,
    timeclock,
)

"""JSON error answers: ``{"error": message}``, plus ``"fields"`` when input was at fault."""
from contextlib import contextmanager

from flask import jsonify
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import MethodNotAllowed

from ..errors import DomainError, NotAllowed

MESSAGES = {
    400: _l("The request could not be understood: send a JSON object."),
    401: _l("Authentication is required: send the header “Authorization: Bearer <token>”."),
    403: _l("Your role does not allow this."),
    404: _l("There is no such resource."),
    405: _l("This method is not allowed here."),
    413: _l("The request is too large."),
    415: _l("The request could not be understood: send a JSON object."),
    422: _l("The data is not valid; nothing was saved."),
    500: _l("Something went wrong on our side. The error has been logged."),
}


class ApiError(Exception):
    """An answer other than success: HTTP ``status``, a readable ``message``
    and, for bad input, ``fields`` mapping each faulty field to its message."""

    def __init__(self, status, message=None, fields=None):
        super().__init__(str(message or MESSAGES.get(status, "")))
        self.status = status
        self.message = message or MESSAGES.get(status, "")
        self.fields = fields


def rejected(error):
    """The 422 for a DomainError: its per-field ``errors`` when it has them
    (FindingsRejected, PatientRejected), else its one ``field``."""
    fields = getattr(error, "errors", None)
    if not fields and error.field:
        fields = {error.field: error.message}
    return ApiError(422, error.message, fields)


@contextmanager
def service_write():
    """Commit what the service did, once; on a broken rule write nothing and
    answer 422 (403 when the role or the branch is at fault)."""
    from ..extensions import db

    try:
        yield
    except NotAllowed as error:
        db.session.rollback()
        raise ApiError(403, error.message) from None
    except DomainError as error:
        db.session.rollback()
        raise rejected(error) from None
    db.session.commit()


def error_response(error):
    body = {"error": str(error.message)}
    if error.fields:
        body["fields"] = {name: str(message) for name, message in error.fields.items()}
    response = jsonify(body)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="stompro"'
    return response


def http_error_response(error):
    """Werkzeug's HTTP errors (abort(), bad JSON, routing, 500) as JSON."""
    status = error.code or 500
    response = error_response(ApiError(status, MESSAGES.get(status, error.name)))
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response

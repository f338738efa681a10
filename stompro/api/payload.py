"""Reading request bodies and writing values the way the API spells them."""
from datetime import timezone

from flask import request
from flask_babel import lazy_gettext as _l

from .errors import ApiError

UNKNOWN_FIELD = _l("Unknown field.")


def json_object(allowed=None):
    """The request body as a dict; 400 if it is not a JSON object, 422 naming
    every key outside ``allowed`` (when given)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400)
    if allowed is not None:
        unknown = {key: UNKNOWN_FIELD for key in body if key not in allowed}
        if unknown:
            raise ApiError(422, fields=unknown)
    return body


def flag(body, name):
    """``body[name]`` as true or false (default false), or 422 naming it."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(422, fields={name: _l("Give true or false.")})
    return value


def iso_moment(moment):
    """An aware datetime as ISO-8601 UTC: 2026-11-20T10:00:00Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

"""The owner's figures for other tools: ``GET /reports/{name}`` — the same
definitions as the report screens (reports.registry), money as strings with
two decimals."""
from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l

from ..errors import DomainError
from ..extensions import db
from ..org.roles import OWNER_ONLY
from ..reports.registry import REPORTS
from ..reports.scope import make_scope, this_month, today
from ..reports.table import plain
from . import bp
from .auth import requires_roles
from .errors import ApiError, rejected


@bp.get("/reports/<name>")
@requires_roles(OWNER_ONLY)
def report(name):
    """``from``, ``to`` (inclusive days on the branches' clocks; this month
    by default), ``clinic_id`` (the network by default), ``group_by`` (the
    report's first grouping by default)."""
    definition = REPORTS.get(name)
    if definition is None:
        raise ApiError(404, _l("There is no report of that name."))
    group_by = request.args.get("group_by") or definition.default_group
    if group_by not in definition.groups:
        message = _l("Give one of: %(values)s.", values=", ".join(definition.groups))
        raise ApiError(422, message, {"group_by": message})
    first, last = this_month(today())
    try:
        scope = make_scope(db.session, _day("from", first), _day("to", last), request.args.get("clinic_id"))
    except DomainError as error:
        raise rejected(error) from None
    found = definition.compute(db.session, scope, group_by)
    measures = found.columns[1:]
    return {
        "name": name, "from": scope.first.isoformat(), "to": scope.last.isoformat(),
        "clinic_id": None if scope.network else scope.clinic_ids[0], "group_by": group_by,
        "columns": [{"key": column.key, "label": str(column.label), "kind": column.kind} for column in measures],
        "rows": [{"key": row["key"], "label": row["label"],
                  **{column.key: plain(row[column.key], column.kind) for column in measures}} for row in found.rows],
        "totals": {column.key: plain(found.totals[column.key], column.kind) for column in measures},
    }


def _day(field, default):
    value = request.args.get(field)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        message = _l("Give the day as YYYY-MM-DD.")
        raise ApiError(422, message, {field: message}) from None

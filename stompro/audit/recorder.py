"""Writes an audit_log row for every insert, update and delete through the ORM."""
import contextvars
import functools
from datetime import date, datetime, time
from decimal import Decimal

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, attributes

from ..db import utcnow
from .models import AuditLog

# Who acts outside a request: "seed", "cli", a job's name …
system_actor = contextvars.ContextVar("system_actor", default="system")

SKIPPED_FIELDS = {"updated_at"}
REDACTED_FIELDS = {"password_hash"}


def _plain(value):
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.login
    return None, system_actor.get()


@functools.cache
def _audited_columns(mapper):
    return tuple(attr.key for attr in mapper.column_attrs if attr.key not in SKIPPED_FIELDS)


def _column_values(row):
    state = inspect(row)
    loaded = state.dict
    return {
        key: "***" if key in REDACTED_FIELDS else _plain(loaded[key])
        for key in _audited_columns(state.mapper)
        if key in loaded
    }


def _changes(row):
    """{field: [before, after]} for every changed column and collection."""
    state = inspect(row)
    changes = {}
    for attr in state.mapper.attrs:
        if attr.key in SKIPPED_FIELDS:
            continue
        history = attributes.get_history(row, attr.key, passive=attributes.PASSIVE_NO_INITIALIZE)
        if not history.has_changes():
            continue
        if hasattr(attr, "columns"):
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if attr.key in REDACTED_FIELDS:
                before, after = "***", "***"
            changes[attr.key] = [_plain(before), _plain(after)]
        elif attr.secondary is not None:
            changes[attr.key] = [
                [str(x) for x in history.deleted],
                [str(x) for x in history.added],
            ]
    return changes


def _action_for_update(changes):
    if "deleted_at" in changes:
        before, after = changes["deleted_at"]
        if before is None and after is not None:
            return "soft_delete"
        if before is not None and after is None:
            return "restore"
    return "update"


@event.listens_for(Session, "after_flush")
def _record(session, flush_context):
    actor_id, actor_login = _actor()
    now = utcnow()
    entries = []

    def add(row, action, changes):
        entries.append(
            {
                "at": now,
                "actor_id": actor_id,
                "actor_login": actor_login,
                "table_name": row.__tablename__,
                "row_id": inspect(row).dict.get("id"),
                "action": action,
                "changes": changes,
            }
        )

    for row in session.new:
        if not isinstance(row, AuditLog):
            add(row, "insert", _column_values(row))
    for row in session.dirty:
        if isinstance(row, AuditLog) or not session.is_modified(row):
            continue
        changes = _changes(row)
        if changes:
            add(row, _action_for_update(changes), changes)
    for row in session.deleted:
        if not isinstance(row, AuditLog):
            add(row, "delete", _column_values(row))
    if entries:
        session.connection().execute(AuditLog.__table__.insert(), entries)


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _refuse_audit_changes(mapper, connection, target):
    raise RuntimeError("audit_log rows are never changed or deleted")

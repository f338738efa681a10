"""Writes an audit_log row for every insert, update and delete through the ORM."""
import contextvars
import functools
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, attributes

from ..bulk import write_rows
from ..db import utcnow
from .models import AuditLog, PatientAccess

# Who acts outside a request: "seed", "cli", a job's name …
system_actor = contextvars.ContextVar("system_actor", default="system")


@contextmanager
def acting_as(name):
    """Write the audit rows of the block as ``name`` ("cli", "seed", a job's name) when nobody is signed in."""
    token = system_actor.set(name)
    try:
        yield
    finally:
        system_actor.reset(token)

SKIPPED_FIELDS = {"updated_at"}
REDACTED_FIELDS = {"password_hash", "pin_hash"}


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
    """(id, login, name) of whoever writes: the signed-in person, else the system actor."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.login, current_user.full_name
    return None, system_actor.get(), None


def _audited(row):
    """Log tables (the audit log itself, access and sign-in logs) are not audited."""
    return getattr(row, "__audited__", True)


@functools.cache
def _audited_columns(table):
    return tuple(column.key for column in table.columns if column.key not in SKIPPED_FIELDS)


def _column_values(table, values):
    """What an insert or a delete records: the row's columns (as far as
    ``values`` holds them)."""
    return {
        key: "***" if key in REDACTED_FIELDS else _plain(values[key])
        for key in _audited_columns(table)
        if key in values
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


class _Entries(list):
    """Audit rows of one write, by the same actor at the same moment."""

    def __init__(self):
        super().__init__()
        self.actor_id, self.actor_login, self.actor_name = _actor()
        self.now = utcnow()

    def add(self, table_name, row_id, action, changes):
        self.append(
            {
                "at": self.now,
                "actor_id": self.actor_id,
                "actor_login": self.actor_login,
                "actor_name": self.actor_name,
                "table_name": table_name,
                "row_id": row_id,
                "action": action,
                "changes": changes,
            }
        )

    def add_object(self, row, action, changes=None):
        """An ORM object's row: its columns, unless ``changes`` says what changed."""
        values = inspect(row).dict
        if changes is None:
            changes = _column_values(row.__table__, values)
        self.add(row.__tablename__, values.get("id"), action, changes)

    def write(self, session):
        write_rows(session.connection(), AuditLog.__table__, self)


@event.listens_for(Session, "after_flush")
def _record(session, flush_context):
    entries = _Entries()
    for row in session.new:
        if _audited(row):
            entries.add_object(row, "insert")
    for row in session.dirty:
        if not _audited(row) or not session.is_modified(row):
            continue
        changes = _changes(row)
        if changes:
            entries.add_object(row, _action_for_update(changes), changes)
    for row in session.deleted:
        if _audited(row):
            entries.add_object(row, "delete")
    entries.write(session)


def insert_audited(session, table, rows):
    """Insert ``rows`` (dicts, ids included) with ``bulk.write_rows`` and
    record each in the audit log, as a flush would."""
    write_rows(session.connection(), table, rows)
    entries = _Entries()
    for row in rows:
        entries.add(table.name, row["id"], "insert", _column_values(table, row))
    entries.write(session)


def record_event(session, table_name, row_id, action, changes):
    """One audit row for an event that is more than its rows' own changes —
    a reschedule listing every visit it moved — by whoever acts now."""
    entries = _Entries()
    entries.add(table_name, row_id, action, changes)
    entries.write(session)


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
@event.listens_for(PatientAccess, "before_update")
@event.listens_for(PatientAccess, "before_delete")
def _refuse_log_changes(mapper, connection, target):
    raise RuntimeError(f"{target.__tablename__} rows are never changed or deleted")

"""Soft deletion: clinical and financial rows are hidden, never erased."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, attributes

from .bounds import bounded_id
from .db import SoftDeletable, utcnow
from .errors import DomainError
from .extensions import db
from .tables import HARD_DELETABLE


def soft_deletable_models():
    """Every mapped class whose rows are soft-deleted, by table name."""
    return {
        mapper.class_.__tablename__: mapper.class_
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, SoftDeletable)
    }


def row_by_id(session, model, value):
    """The row of an id a page or a request sent, or None for none, an empty
    value or an id no row can have (such as 10**20)."""
    row_id = bounded_id(value) if value not in (None, "") else None
    return session.get(model, row_id) if row_id is not None else None


def live_row(session, model, row_id):
    """The row with this id, unless there is none or it is soft-deleted."""
    row = row_by_id(session, model, row_id)
    return None if row is None or row.deleted_at is not None else row


def soft_delete(session, row):
    """Hide ``row``; it stays in the database and in the audit log."""
    if row.deleted_at is None:
        row.deleted_at = utcnow()
        session.flush()
    return row


def restore(session, table_name, row_id):
    """Bring a soft-deleted row back (the owner's recycle bin)."""
    model = soft_deletable_models().get(table_name)
    if model is None:
        raise DomainError(_l("Rows of this table cannot be restored."))
    row = session.execute(select(model).where(model.id == row_id)).scalar_one_or_none()
    if row is None or row.deleted_at is None:
        raise DomainError(_l("There is no deleted record #%(id)s here.", id=row_id))
    row.deleted_at = None
    session.flush()
    return row


class NeverDeleted(DomainError):
    """A hard delete of a row that is kept for good."""


@event.listens_for(Session, "before_flush")
def _turn_deletes_into_soft_deletes(session, flush_context, instances):
    """A hard delete of a clinical or financial row (an inline form's remove
    button, a cascade) becomes a soft delete, so nothing is ever lost; any
    other row outside tables.HARD_DELETABLE is refused (price lists,
    protocols, staff, tasks … are deactivated, cancelled or kept)."""
    for row in list(session.deleted):
        if isinstance(row, SoftDeletable):
            session.expunge(row)
            session.add(row)
            row.deleted_at = row.deleted_at or utcnow()
        elif row.__tablename__ not in HARD_DELETABLE:
            raise NeverDeleted(
                _l("“%(row)s” is kept for the clinic's history and cannot be deleted; deactivate or cancel it instead.",
                   row=row)
            )


def changed_attributes(row):
    """The names of ``row``'s attributes — columns and relationships (a new
    related object reaches its foreign key only in the flush) — changed in
    this session."""
    return {
        attribute.key
        for attribute in inspect(row).mapper.attrs
        if attributes.get_history(row, attribute.key, passive=attributes.PASSIVE_NO_INITIALIZE).has_changes()
    }


def lock_rows(model, locked, error, unlocked=frozenset({"updated_at"})):
    """Whatever the code path, a stored row of ``model`` for which the SQL
    condition ``locked`` holds is neither changed (beyond ``unlocked``
    attributes) nor deleted: ``error()`` is raised in the flush. Whether a
    row *was* locked is read from the database, not from the object, whose
    old values may not be loaded."""

    @event.listens_for(Session, "before_flush")
    def refuse_changes_to_locked_rows(session, flush_context, instances):
        touched = [row for row in session.deleted if isinstance(row, model)]
        touched += [row for row in session.dirty if isinstance(row, model) and changed_attributes(row) - unlocked]
        ids = [inspect(row).identity[0] for row in touched if inspect(row).has_identity]
        if not ids:
            return
        with session.no_autoflush:
            found = session.execute(select(model.id).where(model.id.in_(ids), locked).limit(1)).first()
        if found is not None:
            raise error()

    return refuse_changes_to_locked_rows


def same_value(stored, given):
    """Whether what a form gives is what the row holds — so a row saved
    unchanged changes nothing and is never refused: rows by id, moments to
    the minute (forms show no seconds), money to the cent, text stripped."""
    if hasattr(stored, "id") or hasattr(given, "id"):
        return getattr(stored, "id", None) == getattr(given, "id", None)
    if hasattr(stored, "astimezone") and hasattr(given, "astimezone"):
        return stored.replace(second=0, microsecond=0) == given.replace(second=0, microsecond=0)
    if isinstance(stored, str) or isinstance(given, str):
        return ((stored or "").strip() or None) == ((given or "").strip() or None)
    if isinstance(stored, Decimal) or isinstance(given, Decimal):
        try:
            return stored is not None and given is not None and Decimal(str(stored)) == Decimal(str(given))
        except InvalidOperation:
            return False
    return stored == given

"""Soft deletion: clinical and financial rows are hidden, never erased."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

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


def live_row(session, model, row_id):
    """The row with this id, unless there is none or it is soft-deleted (or
    the id is one no row can have, such as 10**20)."""
    row_id = bounded_id(row_id)
    row = session.get(model, row_id) if row_id is not None else None
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

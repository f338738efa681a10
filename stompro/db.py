"""Column types and mixins shared by every domain's tables."""
from datetime import datetime, timezone

from sqlalchemy import DateTime, Integer, Numeric, TypeDecorator, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

MONEY = Numeric(12, 2)


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A moment in time, always UTC-aware in Python.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Naive
    values handed in are refused, so a local time can never slip in unconverted.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC moment is required")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Entity:
    """id, created_at, updated_at: every table has them."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-100)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False, sort_order=90)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False, sort_order=91
    )


class SoftDeletable:
    """Clinical and financial rows are never hard-deleted; they get a ``deleted_at``."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, sort_order=93)

    @property
    def is_deleted(self):
        return self.deleted_at is not None


class Versioned:
    """Optimistic locking: a save based on a stale version is refused."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, sort_order=92)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


def one_of(column, values, name=None):
    """CHECK that ``column`` holds one of ``values`` (named after the column)."""
    from sqlalchemy import CheckConstraint

    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(
        f"{column} IN ({listed})", name=name or column, info={"one_of": (column, tuple(values))}
    )


def existing(session, column, values, per_query=500):
    """The ``values`` that ``column`` already holds (a unique key: which of
    these dedupe keys are taken), asked a few hundred at a time."""
    values, found = list(values), set()
    for chunk in range(0, len(values), per_query):
        found.update(session.execute(select(column).where(column.in_(values[chunk:chunk + per_query]))).scalars())
    return found

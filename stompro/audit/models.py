"""The audit log: every write through the ORM, who made it, before → after."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, one_of, utcnow
from ..extensions import db
from ..org.models import Staff

AUDIT_ACTIONS = ("insert", "update", "delete", "soft_delete", "restore")


class AuditLog(db.Model):
    """Append-only: the application never updates or deletes these rows."""

    __tablename__ = "audit_log"
    __table_args__ = (
        one_of("action", AUDIT_ACTIONS),
        Index(None, "table_name", "row_id"),
        Index(None, "at"),
        Index(None, "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor_login: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[Staff | None] = relationship()

    def __str__(self):
        return f"{self.action} {self.table_name}#{self.row_id}"

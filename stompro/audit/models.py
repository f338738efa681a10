"""The audit log: every write through the ORM, who made it, before → after."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, one_of, utcnow
from ..extensions import db
from ..org.models import Staff
from ..patients.models import Patient

AUDIT_ACTIONS = ("insert", "update", "delete", "soft_delete", "restore", "reschedule")


class AuditLog(db.Model):
    """Append-only: the application never updates or deletes these rows."""

    __tablename__ = "audit_log"
    __audited__ = False
    __table_args__ = (
        one_of("action", AUDIT_ACTIONS),
        Index(None, "table_name", "row_id"),
        Index(None, "at"),
        Index(None, "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No ON DELETE action: nothing may rewrite an audit row (staff are never
    # deleted); the login and name are snapshots as they were at the time.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_login: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(250))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[Staff | None] = relationship()

    def __str__(self):
        return f"{self.action} {self.table_name}#{self.row_id}"


ACCESS_KINDS = ("patient_card", "chart", "exams", "images", "plan", "documents", "records")
ACCESS_CHANNELS = ("panel", "api")


class PatientAccess(db.Model):
    """One opening of a patient's medical records: who, when, whose, what.
    Medical-privacy law expects every reading to be traceable; the owner
    reads this log. Append-only, like the audit log (and not audited itself)."""

    __tablename__ = "patient_access"
    __table_args__ = (
        one_of("what", ACCESS_KINDS),
        one_of("channel", ACCESS_CHANNELS),
        Index(None, "patient_id", "at"),
        Index(None, "staff_id", "at"),
        Index(None, "at"),
    )
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    staff_login: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    what: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(5), default="panel")
    path: Mapped[str | None] = mapped_column(String(300))

    staff: Mapped[Staff] = relationship()
    patient: Mapped[Patient] = relationship()

    def __str__(self):
        return f"{self.staff_login} → {self.patient_id} ({self.what})"

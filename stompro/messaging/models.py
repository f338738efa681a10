"""The outbox of SMS and e-mail and the templates it renders."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Entity, UTCDateTime, one_of
from ..extensions import db
from ..org.models import LANGUAGES
from ..patients.models import Patient
from ..scheduling.models import Appointment

CHANNELS = ("sms", "email")
MESSAGE_STATUSES = ("scheduled", "sent", "failed", "cancelled")


class MessageTemplate(Entity, db.Model):
    __tablename__ = "message_template"
    __table_args__ = (
        UniqueConstraint("code", "channel", "language"),
        one_of("channel", CHANNELS),
        one_of("language", LANGUAGES),
    )

    code: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(5))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self):
        return f"{self.code} ({self.channel}, {self.language})"


class Message(Entity, db.Model):
    """One message to send, sent at most once (``dedupe_key`` is unique)."""

    __tablename__ = "message"
    __table_args__ = (
        one_of("channel", CHANNELS),
        one_of("status", MESSAGE_STATUSES),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index(None, "status", "send_at"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("message_template.id"), index=True)
    channel: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)

    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    template: Mapped[MessageTemplate | None] = relationship()

    def __str__(self):
        return f"{self.channel} → {self.recipient}"

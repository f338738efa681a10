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
# scheduled → queued (claimed by the dispatcher) → sending (claimed by a job)
# → sent | failed; cancelled (the visit moved or was cancelled) and expired
# (too late to matter) are never sent. messaging.outbox and messaging.dispatch.
MESSAGE_STATUSES = ("scheduled", "queued", "sending", "sent", "failed", "cancelled", "expired")
MESSAGE_KINDS = ("booked", "day_before", "hours_before", "after_visit", "cancelled", "recall", "care", "birthday",
                 "manual")
# The template (message_template.code) each kind of message is written from.
TEMPLATE_OF_KIND = {
    "booked": "booking_confirmation",
    "day_before": "reminder_day_before",
    "hours_before": "reminder_hours_before",
    "after_visit": "after_visit",
    "cancelled": "visit_cancelled",
    "recall": "hygiene_recall",
    "care": "post_op_care",
    "birthday": "birthday",
}
KIND_OF_TEMPLATE = {code: kind for kind, code in TEMPLATE_OF_KIND.items()}


def _clinic_language():
    from flask import current_app

    return current_app.config["DEFAULT_LANGUAGE"]


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
        one_of("kind", MESSAGE_KINDS),
        one_of("language", LANGUAGES),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index(None, "status", "send_at"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("message_template.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="manual", server_default="manual")
    language: Mapped[str] = mapped_column(String(2), default=_clinic_language)
    channel: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(String(200))  # e-mail only
    body: Mapped[str] = mapped_column(Text)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The latest moment the message is still worth sending; after it, expired.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    # Bumped by every claim of the dispatcher: an RQ job's id names the rows
    # and their versions, so a row claimed again is sent by a new job.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    template: Mapped[MessageTemplate | None] = relationship()

    def __str__(self):
        return f"{self.channel} → {self.recipient}"

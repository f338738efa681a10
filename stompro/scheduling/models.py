"""Doctors' shifts and appointments (visits)."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Entity, SoftDeletable, UTCDateTime, Versioned, one_of
from ..extensions import db
from ..org.models import Clinic, Room, Staff
from ..patients.models import Patient
from ..planning.models import PlanStage

APPOINTMENT_STATUSES = ("booked", "confirmed", "arrived", "in_chair", "done", "no_show", "cancelled")
APPOINTMENT_KINDS = ("treatment", "examination", "consultation", "hygiene")


class Shift(Entity, SoftDeletable, db.Model):
    """When a person works, in which branch and chair."""

    __tablename__ = "shift"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index(None, "staff_id", "starts_at"),
        Index(None, "clinic_id", "work_date"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id"), index=True)
    work_date: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()
    clinic: Mapped[Clinic] = relationship()
    room: Mapped[Room | None] = relationship()

    def __str__(self):
        return f"{self.staff} {self.work_date}"


class Appointment(Entity, Versioned, SoftDeletable, db.Model):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        one_of("status", APPOINTMENT_STATUSES),
        one_of("kind", APPOINTMENT_KINDS),
        Index(None, "doctor_id", "starts_at"),
        Index(None, "room_id", "starts_at"),
        Index(None, "patient_id", "starts_at"),
        Index(None, "clinic_id", "starts_at"),
        Index(None, "starts_at"),  # the network's visits, newest first
    )

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(12), default="treatment")
    status: Mapped[str] = mapped_column(String(10), default="booked")
    plan_stage_id: Mapped[int | None] = mapped_column(ForeignKey("plan_stage.id"), index=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    clinic: Mapped[Clinic] = relationship()
    room: Mapped[Room] = relationship()
    doctor: Mapped[Staff] = relationship(foreign_keys=[doctor_id])
    patient: Mapped[Patient] = relationship()
    plan_stage: Mapped[PlanStage | None] = relationship()
    booked_by: Mapped[Staff | None] = relationship(foreign_keys=[booked_by_id])

    def __str__(self):
        from ..timefmt import format_moment

        when = format_moment(self.starts_at)
        return f"{when} {self.patient}" if self.patient else when

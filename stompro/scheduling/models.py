"""Doctors' shifts, branch closures and absences, appointments (visits) and
the waiting list."""
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, Time, func, literal_column
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Entity, SoftDeletable, UTCDateTime, Versioned, one_of
from ..extensions import db
from ..org.models import Clinic, Room, Staff
from ..patients.models import Patient
from ..planning.models import PlanStage

APPOINTMENT_STATUSES = ("booked", "confirmed", "arrived", "in_chair", "done", "no_show", "cancelled")
APPOINTMENT_KINDS = ("treatment", "examination", "consultation", "hygiene")
# Statuses whose time is free again; every other visit holds its doctor, chair and patient.
FREEING_STATUSES = ("no_show", "cancelled")
ABSENCE_KINDS = ("vacation", "sick_leave", "training", "other")
WAITING_STATUSES = ("waiting", "booked", "cancelled")


def _no_overlap(column):
    """PostgreSQL refuses two live, time-holding visits of one doctor (chair,
    patient) whose [start, end) ranges overlap — the last word on double
    booking, whatever the path and however many people book at once."""
    return ExcludeConstraint(
        (column, "="),
        (func.tstzrange(literal_column("starts_at"), literal_column("ends_at"), "[)"), "&&"),
        name=f"ex_appointment_{column}_overlap",
        using="gist",
        where="deleted_at IS NULL AND status NOT IN ('no_show', 'cancelled')",
    ).ddl_if(dialect="postgresql")


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
        _no_overlap("doctor_id"),
        _no_overlap("room_id"),
        _no_overlap("patient_id"),
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
    # When the visit was found overdue: its start passed without arrival.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # When it was cancelled: a cancellation close to the visit counts as a late one (reports).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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


class Closure(Entity, db.Model):
    """Days a branch is closed (holidays): nothing is booked there."""

    __tablename__ = "closure"
    __table_args__ = (
        CheckConstraint("last_day >= first_day", name="days"),
        Index(None, "clinic_id", "first_day"),
    )

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))

    clinic: Mapped[Clinic] = relationship()

    def __str__(self):
        return f"{self.clinic}: {self.first_day:%d.%m.%Y}–{self.last_day:%d.%m.%Y}"


class Absence(Entity, SoftDeletable, db.Model):
    """Days a person is away (vacation, sick leave): they are not booked."""

    __tablename__ = "absence"
    __table_args__ = (
        one_of("kind", ABSENCE_KINDS),
        CheckConstraint("last_day >= first_day", name="days"),
        Index(None, "staff_id", "first_day"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12), default="vacation")
    note: Mapped[str | None] = mapped_column(Text)

    staff: Mapped[Staff] = relationship()

    def __str__(self):
        return f"{self.staff}: {self.first_day:%d.%m.%Y}–{self.last_day:%d.%m.%Y}"


class WaitingEntry(Entity, SoftDeletable, db.Model):
    """A patient who would take an earlier visit: of a specialty or a doctor,
    so long, on these days and hours, until a date."""

    __tablename__ = "waiting_entry"
    __table_args__ = (
        one_of("status", WAITING_STATUSES),
        CheckConstraint("duration_min > 0", name="duration"),
        CheckConstraint("time_to IS NULL OR time_from IS NULL OR time_to > time_from", name="hours"),
        Index(None, "status", "until"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    duration_min: Mapped[int] = mapped_column(Integer, default=30)
    days: Mapped[str | None] = mapped_column(String(7))
    time_from: Mapped[time | None] = mapped_column(Time)
    time_to: Mapped[time | None] = mapped_column(Time)
    until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    specialty = relationship("Specialty")
    doctor: Mapped[Staff | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    def __str__(self):
        return f"{self.patient} ({self.duration_min} min)"

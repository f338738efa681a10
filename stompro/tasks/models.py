"""The administrators' task book and the rules that fill it."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Entity, UTCDateTime, one_of
from ..extensions import db
from ..org.models import Clinic, Staff
from ..patients.models import Patient
from ..planning.models import TreatmentPlan
from ..scheduling.models import Appointment

TABS = ("archive", "documents", "regular_calls", "care_calls", "scheduled_calls", "birthdays", "overdue_visits")
TASK_STATUSES = ("open", "done", "cancelled")
CALL_RESULTS = ("reached", "no_answer", "booked", "refused", "call_back")
# Who works a task that no one person is assigned.
QUEUES = ("reception", "call_center", "coordinators")


class TaskRule(Entity, db.Model):
    """A configurable generator of tasks and the priority it gives them."""

    __tablename__ = "task_rule"
    __table_args__ = (one_of("tab", TABS), CheckConstraint("priority BETWEEN 1 AND 5", name="priority"))

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    tab: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)

    def __str__(self):
        return self.name


class Task(Entity, db.Model):
    __tablename__ = "task"
    __table_args__ = (
        one_of("tab", TABS),
        one_of("status", TASK_STATUSES),
        one_of("call_result", CALL_RESULTS),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
        CheckConstraint("call_result <> 'call_back' OR call_back_at IS NOT NULL", name="call_back_needs_time"),
        Index(None, "tab", "status", "due_at"),
        Index(None, "assignee_id", "status", "due_at"),
        Index(None, "due_at"),  # task performance of a range
    )

    tab: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    title: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_plan.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("task_rule.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    queue: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    call_result: Mapped[str | None] = mapped_column(String(10))
    call_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Calls made for this task so far ("no answer" keeps it open for another try).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the task is about, once: a rule's reruns find it instead of making another.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    patient: Mapped[Patient | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    plan: Mapped[TreatmentPlan | None] = relationship()
    rule: Mapped[TaskRule | None] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    assignee: Mapped[Staff | None] = relationship(foreign_keys=[assignee_id])
    done_by: Mapped[Staff | None] = relationship(foreign_keys=[done_by_id])

    def __str__(self):
        return self.title

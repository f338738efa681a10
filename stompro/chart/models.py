"""The dental chart, exams (electronic medical card) and attachments."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import Entity, SoftDeletable, UTCDateTime, one_of, utcnow
from ..extensions import db
from ..org.models import Clinic, Staff
from ..patients.models import Patient
from .teeth import normalize_surfaces, surfaces_check_sql, tooth_check_sql, validate_tooth

CONDITION_SCOPES = ("tooth", "surface")
ATTACHMENT_KINDS = ("xray", "photo", "scan", "document")


class Condition(Entity, db.Model):
    """What a tooth or surface can be found in; ``code`` is part of the API."""

    __tablename__ = "condition"
    __table_args__ = (
        one_of("scope", CONDITION_SCOPES),
        CheckConstraint("color LIKE '#%' AND length(color) = 7", name="color"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    color: Mapped[str] = mapped_column(String(7))
    symbol: Mapped[str] = mapped_column(String(8))
    needs_treatment: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str] = mapped_column(String(8), default="tooth")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self):
        from ..i18n import localized

        return localized(self)


class Diagnosis(Entity, db.Model):
    """An ICD-10 dental diagnosis (K00–K14)."""

    __tablename__ = "diagnosis"
    __table_args__ = (CheckConstraint("code LIKE 'K%'", name="icd10_dental"),)

    code: Mapped[str] = mapped_column(String(10), unique=True)
    name_en: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))

    def __str__(self):
        from ..i18n import localized

        return f"{self.code} {localized(self)}"


class Exam(Entity, SoftDeletable, db.Model):
    """An entry of the electronic medical card. Signed entries are locked;
    corrections are addenda pointing at the entry they amend."""

    __tablename__ = "exam"
    __table_args__ = (
        Index(None, "patient_id", "examined_at"),
        CheckConstraint("signed_at IS NULL OR signed_at >= examined_at", name="signed_after_exam"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    examined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    complaints: Mapped[str | None] = mapped_column(Text)
    anamnesis: Mapped[str | None] = mapped_column(Text)
    objective_status: Mapped[str | None] = mapped_column(Text)
    diagnosis_id: Mapped[int | None] = mapped_column(ForeignKey("diagnosis.id"), index=True)
    diagnosis_note: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id"), index=True)

    patient: Mapped[Patient] = relationship()
    doctor: Mapped[Staff] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    diagnosis: Mapped[Diagnosis | None] = relationship()
    amends: Mapped["Exam | None"] = relationship(remote_side="Exam.id")

    def __str__(self):
        from ..timefmt import to_local

        when = to_local(self.examined_at).strftime("%d.%m.%Y") if self.examined_at else ""
        return f"#{self.id} {when}"


class ToothFinding(Entity, SoftDeletable, db.Model):
    """One observation of a tooth (or some of its surfaces). The current chart
    is the latest finding per tooth; earlier ones are the history."""

    __tablename__ = "tooth_finding"
    __table_args__ = (
        CheckConstraint(tooth_check_sql("tooth"), name="fdi_tooth"),
        CheckConstraint(surfaces_check_sql("surfaces"), name="surfaces"),
        Index(None, "patient_id", "tooth", "recorded_at"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    tooth: Mapped[int] = mapped_column(Integer)
    surfaces: Mapped[str] = mapped_column(String(8), default="")
    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patient: Mapped[Patient] = relationship()
    condition: Mapped[Condition] = relationship()
    exam: Mapped[Exam | None] = relationship()
    author: Mapped[Staff] = relationship()

    @validates("tooth")
    def _check_tooth(self, key, value):
        return validate_tooth(value)

    @validates("surfaces")
    def _check_surfaces(self, key, value):
        return normalize_surfaces(value)

    def __str__(self):
        where = f"{self.tooth}{self.surfaces and ' ' + self.surfaces}"
        return f"{where}: {self.condition}" if self.condition else where


class Attachment(Entity, SoftDeletable, db.Model):
    """An X-ray, photo or scan stored on disk under the attachments directory."""

    __tablename__ = "attachment"
    __table_args__ = (
        one_of("kind", ATTACHMENT_KINDS),
        CheckConstraint("size_bytes > 0", name="size"),
        Index(None, "patient_id", "taken_at"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_path: Mapped[str] = mapped_column(String(500), unique=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship()
    exam: Mapped[Exam | None] = relationship()
    uploaded_by: Mapped[Staff] = relationship()

    def __str__(self):
        return self.filename

"""Document templates and the documents a patient signs."""
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..db import Entity, SoftDeletable, UTCDateTime, one_of
from ..extensions import db
from ..org.models import LANGUAGES, Clinic, Specialty, Staff
from ..patients.models import Patient
from ..chart.models import Attachment  # noqa: F401 (the scan's class, named in its relationship)
from ..planning.models import TreatmentPlan

DOCUMENT_KINDS = ("contract", "consent", "personal_data", "card_cover", "plan_printout")
DOCUMENT_STATUSES = ("draft", "signed")
SIGNERS = ("patient", "representative")


class DocumentTemplate(Entity, db.Model):
    __tablename__ = "document_template"
    __table_args__ = (
        UniqueConstraint("code", "language"),
        one_of("kind", DOCUMENT_KINDS),
        one_of("language", LANGUAGES),
    )

    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    specialty: Mapped[Specialty | None] = relationship()

    def __str__(self):
        return f"{self.title} ({self.language})"


class PatientDocument(Entity, SoftDeletable, db.Model):
    __tablename__ = "patient_document"
    __table_args__ = (
        one_of("kind", DOCUMENT_KINDS),
        one_of("status", DOCUMENT_STATUSES),
        CheckConstraint("status <> 'signed' OR signed_at IS NOT NULL", name="signed_has_time"),
        one_of("signed_by", SIGNERS),
        CheckConstraint("signed_by <> 'representative' OR representative_name IS NOT NULL", name="representative_named"),
        Index(None, "patient_id", "kind", "status"),
        CheckConstraint("terminated_at IS NULL OR (kind = 'contract' AND status = 'signed' "
                        "AND termination_reason IS NOT NULL)", name="termination"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("document_template.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(6), default="draft")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    witnessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # Who signed: the patient, or for a child a legal representative, named with their identity document.
    signed_by: Mapped[str | None] = mapped_column(String(14))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_document: Mapped[str | None] = mapped_column(String(200))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # The scanned signed paper (a PDF or an image, checked by content: chart.attachments).
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"), index=True)
    # A contract is valid until it is terminated (documents.services.terminate_contract).
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    terminated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    template: Mapped[DocumentTemplate | None] = relationship()
    plan: Mapped[TreatmentPlan | None] = relationship()
    specialty: Mapped[Specialty | None] = relationship()
    witnessed_by: Mapped[Staff | None] = relationship(foreign_keys=[witnessed_by_id])
    terminated_by: Mapped[Staff | None] = relationship(foreign_keys=[terminated_by_id])
    scan: Mapped["Attachment | None"] = relationship()

    def __str__(self):
        return self.title

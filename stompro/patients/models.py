"""Patients, their tags and insurance."""
from datetime import date, time

from sqlalchemy import Boolean, CheckConstraint, Column, Date, ForeignKey, Index, String, Table, Text, Time, UniqueConstraint
from sqlalchemy import and_, false, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import Entity, SoftDeletable, Versioned, one_of
from ..extensions import db
from ..org.models import Clinic, Staff
from .phones import normalize_phone

SEXES = ("M", "F")
PATIENT_STATUSES = ("active", "inactive", "archived")
SOURCES = ("walk_in", "referral", "website", "phone", "insurance", "advertising", "other")


class Patient(Entity, Versioned, SoftDeletable, db.Model):
    __tablename__ = "patient"
    __table_args__ = (
        one_of("sex", SEXES),
        one_of("status", PATIENT_STATUSES),
        one_of("source", SOURCES),
        CheckConstraint("preferred_time_to IS NULL OR preferred_time_from IS NULL OR preferred_time_to > preferred_time_from", name="preferred_time"),
        CheckConstraint("payer_id IS NULL OR payer_id <> id", name="not_own_payer"),
        Index(None, "last_name", "first_name"),
        Index(None, "created_at"),  # new patients of a range
        # PostgreSQL finds a fragment of a name or phone (ILIKE '%…%') through
        # trigrams instead of reading every patient (patients.services.search_patients).
        *(
            Index(f"ix_patient_{column}_trigram", column, postgresql_using="gin",
                  postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql")
            for column in ("last_name", "first_name", "middle_name", "phone")
        ),
    )

    last_name: Mapped[str] = mapped_column(String(80))
    first_name: Mapped[str] = mapped_column(String(80))
    middle_name: Mapped[str | None] = mapped_column(String(80))
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(1))
    phone: Mapped[str] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(300))
    id_document: Mapped[str | None] = mapped_column(String(120))
    source: Mapped[str | None] = mapped_column(String(20))
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    # Reminders by e-mail only with the patient's consent (messaging.outbox).
    email_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    preferred_days: Mapped[str | None] = mapped_column(String(7))
    preferred_time_from: Mapped[time | None] = mapped_column(Time)
    preferred_time_to: Mapped[time | None] = mapped_column(Time)
    home_clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    note: Mapped[str | None] = mapped_column(Text)
    # The family's payer (a parent for a child, a spouse): their deposit
    # serves this patient's invoices and their statement lists them.
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)

    home_clinic: Mapped[Clinic | None] = relationship()
    payer: Mapped["Patient | None"] = relationship(remote_side="Patient.id", post_update=True)
    coordinator: Mapped[Staff | None] = relationship()
    tags: Mapped[list["PatientTag"]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="PatientTag.tag"
    )
    policies: Mapped[list["InsurancePolicy"]] = relationship(back_populates="patient")

    @validates("phone")
    def _normalize_phone(self, key, value):
        return normalize_phone(value)

    @property
    def full_name(self):
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    def __str__(self):
        born = self.birth_date.strftime("%d.%m.%Y") if self.birth_date else ""
        return f"{self.full_name} ({born})" if born else self.full_name


class PatientTag(Entity, db.Model):
    """A label such as VIP or insured."""

    __tablename__ = "patient_tag"
    __table_args__ = (UniqueConstraint("patient_id", "tag"), Index(None, "tag"))

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(32))

    patient: Mapped[Patient] = relationship(back_populates="tags")

    def __str__(self):
        return self.tag


class InsuranceCompany(Entity, db.Model):
    __tablename__ = "insurance_company"

    name: Mapped[str] = mapped_column(String(160), unique=True)
    inn: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(20))
    contract_number: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    programs: Mapped[list["InsuranceProgram"]] = relationship(back_populates="company")

    def __str__(self):
        return self.name


insurance_program_service = Table(
    "insurance_program_service",
    db.metadata,
    Column("program_id", ForeignKey("insurance_program.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id"), primary_key=True),
)


class InsuranceProgram(Entity, db.Model):
    """What an insurer pays for: the covered services."""

    __tablename__ = "insurance_program"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    company_id: Mapped[int] = mapped_column(ForeignKey("insurance_company.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(160))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    company: Mapped[InsuranceCompany] = relationship(back_populates="programs")
    services = relationship("Service", secondary=insurance_program_service, order_by="Service.code")

    def __str__(self):
        return f"{self.company.name}: {self.name}" if self.company else self.name


class InsurancePolicy(Entity, SoftDeletable, db.Model):
    __tablename__ = "insurance_policy"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("insurance_company.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("insurance_program.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="policies")
    company: Mapped[InsuranceCompany] = relationship()
    program: Mapped[InsuranceProgram] = relationship()

    @hybrid_method
    def in_force(self, day):
        """Valid on ``day``: on a policy in Python, on the class in SQL."""
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)

    @in_force.inplace.expression
    @classmethod
    def _in_force_expression(cls, day):
        return and_(cls.valid_from <= day, or_(cls.valid_to.is_(None), cls.valid_to >= day))

    def __str__(self):
        return f"{self.number} ({self.program})" if self.program else self.number

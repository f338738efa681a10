"""Treatment plans: variants, stages (visits) and items (the "became")."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..catalog.models import STAGE_KINDS, TIER_LABELS, TIERS, PriceList, Service
from ..chart.models import Condition
from ..chart.teeth import normalize_surfaces, surfaces_check_sql, tooth_check_sql, validate_tooth
from ..db import MONEY, Entity, SoftDeletable, UTCDateTime, Versioned, one_of
from ..extensions import db
from ..org.models import Clinic, Specialty, Staff
from ..patients.models import InsurancePolicy, Patient

PLAN_STATUSES = ("draft", "presented", "accepted", "in_progress", "completed", "declined")
PAYER_KINDS = ("self", "insurance")


class TreatmentPlan(Entity, Versioned, SoftDeletable, db.Model):
    __tablename__ = "treatment_plan"
    __table_args__ = (
        one_of("status", PLAN_STATUSES),
        one_of("payer_kind", PAYER_KINDS),
        CheckConstraint("payer_kind = 'self' OR policy_id IS NOT NULL", name="insurance_needs_policy"),
        CheckConstraint("status <> 'declined' OR decline_reason IS NOT NULL", name="decline_reason"),
        Index(None, "patient_id", "status"),
        Index(None, "presented_at"),  # plan conversion reads the plans presented in a range
        Index(None, "accepted_at"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    payer_kind: Mapped[str] = mapped_column(String(10), default="self")
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("insurance_policy.id"), index=True)
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    presented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    author: Mapped[Staff] = relationship(foreign_keys=[author_id])
    coordinator: Mapped[Staff | None] = relationship(foreign_keys=[coordinator_id])
    policy: Mapped[InsurancePolicy | None] = relationship()
    price_list: Mapped[PriceList | None] = relationship()
    variants: Mapped[list["PlanVariant"]] = relationship(back_populates="plan", order_by="PlanVariant.id")

    def __str__(self):
        return f"#{self.id} {self.title or ''}".strip()


class PlanVariant(Entity, SoftDeletable, db.Model):
    """One of (usually) three ways to treat: premium, optimal, economy."""

    __tablename__ = "plan_variant"
    __table_args__ = (one_of("tier", TIERS),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plan.id"), index=True)
    tier: Mapped[str] = mapped_column(String(8))
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[TreatmentPlan] = relationship(back_populates="variants")
    stages: Mapped[list["PlanStage"]] = relationship(back_populates="variant", order_by="PlanStage.position")

    def __str__(self):
        return f"{self.plan} · {TIER_LABELS.get(self.tier, self.tier)}"


class PlanStage(Entity, SoftDeletable, db.Model):
    """One visit (or step) of a variant: visit — problem — solution."""

    __tablename__ = "plan_stage"
    __table_args__ = (
        one_of("kind", STAGE_KINDS),
        CheckConstraint("min_gap_days >= 0", name="min_gap_days"),
        CheckConstraint("duration_min > 0", name="duration"),
        CheckConstraint("position >= 0", name="position"),
        Index(None, "variant_id", "position"),
    )

    variant_id: Mapped[int] = mapped_column(ForeignKey("plan_variant.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12), default="treatment")
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"), index=True)
    depends_on_id: Mapped[int | None] = mapped_column(ForeignKey("plan_stage.id"), index=True)
    parallel: Mapped[bool] = mapped_column(Boolean, default=False)
    min_gap_days: Mapped[int] = mapped_column(Integer, default=0)
    duration_min: Mapped[int] = mapped_column(Integer, default=30)
    # What a person wrote; None while the builder's words stand.
    explanation: Mapped[str | None] = mapped_column(Text)
    # The builder's words in every language ({"en": …, "ru": …}), so each
    # reader sees them in theirs.
    explanation_generated: Mapped[dict | None] = mapped_column(JSON)
    planned_date: Mapped[date | None] = mapped_column(Date)

    variant: Mapped[PlanVariant] = relationship(back_populates="stages")
    specialty: Mapped[Specialty | None] = relationship()
    depends_on: Mapped["PlanStage | None"] = relationship(remote_side="PlanStage.id", post_update=True)
    items: Mapped[list["PlanItem"]] = relationship(back_populates="stage", order_by="PlanItem.id")

    def __str__(self):
        return f"{self.variant} · {self.position}"


class PlanItem(Entity, Versioned, SoftDeletable, db.Model):
    """A service on a tooth (or the whole mouth) and the condition it leaves."""

    __tablename__ = "plan_item"
    __table_args__ = (
        CheckConstraint(f"tooth IS NULL OR {tooth_check_sql('tooth')}", name="fdi_tooth"),
        CheckConstraint(surfaces_check_sql("surfaces"), name="surfaces"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("NOT removed OR removal_justification IS NOT NULL", name="removal_justified"),
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("plan_stage.id"), index=True)
    tooth: Mapped[int | None] = mapped_column(Integer)
    surfaces: Mapped[str] = mapped_column(String(8), default="")
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(MONEY)
    target_condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id"), index=True)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    self_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    removal_justification: Mapped[str | None] = mapped_column(Text)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    performed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)

    stage: Mapped[PlanStage] = relationship(back_populates="items")
    service: Mapped[Service] = relationship()
    target_condition: Mapped[Condition | None] = relationship()
    removed_by: Mapped[Staff | None] = relationship(foreign_keys=[removed_by_id])
    performed_by: Mapped[Staff | None] = relationship(foreign_keys=[performed_by_id])

    @validates("tooth")
    def _check_tooth(self, key, value):
        return validate_tooth(value, allow_none=True)

    @validates("surfaces")
    def _check_surfaces(self, key, value):
        return normalize_surfaces(value)

    def __str__(self):
        return f"{self.tooth or '—'} {self.service}"

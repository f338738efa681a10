"""What a visit performed, the invoices made of it, payments and a plan's
payment schedule."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from ..catalog.models import Service
from ..chart.teeth import surfaces_check_sql, tooth_check_sql
from ..db import MONEY, Entity, SoftDeletable, UTCDateTime, one_of
from ..extensions import db
from ..org.models import Clinic, Staff
from ..patients.models import InsuranceCompany, Patient
from ..planning.models import PAYER_KINDS, PlanItem, PlanStage, PlanVariant, TreatmentPlan
from ..scheduling.models import Appointment

INVOICE_STATUSES = ("draft", "issued", "partly_paid", "paid", "cancelled")
PAYMENT_METHODS = ("cash", "card", "online", "insurance", "deposit", "credit")


class InvoiceLine(Entity, SoftDeletable, db.Model):
    __tablename__ = "invoice_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("discount >= 0 AND discount <= price * quantity", name="discount"),
        CheckConstraint(f"tooth IS NULL OR {tooth_check_sql('tooth')}", name="fdi_tooth"),
    )

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_item.id"), index=True)
    tooth: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(MONEY)
    discount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))

    invoice: Mapped["Invoice"] = relationship(back_populates="lines")
    service: Mapped[Service] = relationship()
    plan_item: Mapped[PlanItem | None] = relationship()

    @property
    def amount(self):
        return (self.price or 0) * (self.quantity or 0) - (self.discount or 0)

    def __str__(self):
        return f"{self.service} × {self.quantity}"


class Invoice(Entity, SoftDeletable, db.Model):
    __tablename__ = "invoice"
    __table_args__ = (
        one_of("status", INVOICE_STATUSES),
        one_of("payer_kind", PAYER_KINDS),
        CheckConstraint("payer_kind = 'self' OR insurance_company_id IS NOT NULL", name="insurer"),
        CheckConstraint("status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_reason"),
        Index(None, "patient_id", "issued_at"),
        Index(None, "clinic_id", "issued_at"),  # the owner's reports read a branch's month
    )

    number: Mapped[str] = mapped_column(String(30), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    payer_kind: Mapped[str] = mapped_column(String(10), default="self")
    insurance_company_id: Mapped[int | None] = mapped_column(ForeignKey("insurance_company.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # The visit whose performed services it bills (None: made by hand).
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[Clinic] = relationship()
    insurance_company: Mapped[InsuranceCompany | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", order_by=InvoiceLine.id)

    def __str__(self):
        return self.number


Invoice.total = column_property(
    select(func.coalesce(func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount), 0))
    .where(InvoiceLine.invoice_id == Invoice.id, InvoiceLine.deleted_at.is_(None))
    .correlate_except(InvoiceLine)
    .scalar_subquery()
)


class Payment(Entity, SoftDeletable, db.Model):
    __tablename__ = "payment"
    __table_args__ = (
        one_of("method", PAYMENT_METHODS),
        # A refund is a negative payment, and says why.
        CheckConstraint("amount <> 0", name="amount"),
        CheckConstraint("amount > 0 OR note IS NOT NULL", name="refund_reason"),
        CheckConstraint("(method = 'credit') = (credited_invoice_id IS NOT NULL)", name="credit_names_invoice"),
        Index(None, "patient_id", "paid_at"),
        Index(None, "clinic_id", "paid_at"),
    )

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    method: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    receipt_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    # A credit note ("credit") names the invoice it corrects: its amount pays
    # what is due there, and the rest goes to the deposit.
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)

    patient: Mapped[Patient] = relationship()
    invoice: Mapped[Invoice | None] = relationship(foreign_keys=[invoice_id])
    credited_invoice: Mapped[Invoice | None] = relationship(foreign_keys=[credited_invoice_id])
    clinic: Mapped[Clinic] = relationship()
    received_by: Mapped[Staff | None] = relationship()

    def __str__(self):
        return f"{self.amount} ({self.method})"


class PerformedService(Entity, SoftDeletable, db.Model):
    """A service the doctor performed at a visit: an item of the patient's
    plan, or one from the price list. Its price is fixed when it is marked
    (the plan's frozen price, else the price list of the visit's day); the
    invoice line it became is kept so that it is billed once."""

    __tablename__ = "performed_service"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint(f"tooth IS NULL OR {tooth_check_sql('tooth')}", name="fdi_tooth"),
        CheckConstraint(surfaces_check_sql("surfaces"), name="surfaces"),
    )

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), index=True)
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_item.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    tooth: Mapped[int | None] = mapped_column(Integer)
    surfaces: Mapped[str] = mapped_column(String(8), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(MONEY)
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    performed_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invoice_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_line.id"), index=True)

    appointment: Mapped[Appointment] = relationship()
    plan_item: Mapped[PlanItem | None] = relationship()
    service: Mapped[Service] = relationship()
    performed_by: Mapped[Staff] = relationship()
    invoice_line: Mapped[InvoiceLine | None] = relationship()

    @property
    def amount(self):
        return (self.price or 0) * (self.quantity or 0)

    def __str__(self):
        return f"{self.tooth or '—'} {self.service} × {self.quantity}"


class PaymentSchedule(Entity, db.Model):
    """How much of a plan variant is due in which month (and for which stage)."""

    __tablename__ = "payment_schedule"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        Index(None, "plan_id", "due_month"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plan.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("plan_variant.id"), index=True)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("plan_stage.id"), index=True)
    due_month: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    plan: Mapped[TreatmentPlan] = relationship()
    variant: Mapped[PlanVariant] = relationship()
    stage: Mapped[PlanStage | None] = relationship()

    def __str__(self):
        return f"{self.due_month:%m.%Y}: {self.amount}"

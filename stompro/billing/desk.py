"""What the cash desk reads: the invoices waiting for the cashier, and one
patient's invoices, payments and balance — each in a few queries however
many invoices the patient has (the page shows every open invoice and the
latest closed ones)."""
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..org.branches import branch_condition
from ..patients.models import Patient
from ..patients.services import search_condition
from .models import Invoice, InvoiceLine, Payment
from .services import ZERO

CLOSED_SHOWN = 20
PAYMENTS_SHOWN = 30
QUEUE_SHOWN = 100
WAITING_STATUSES = ("draft", "issued", "partly_paid")


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    lines: list
    total: Decimal
    paid: Decimal

    @property
    def due(self):
        return max(self.total - self.paid, ZERO) if self.invoice.status != "cancelled" else ZERO

    def from_deposit(self, deposit):
        """What the patient's deposit can pay of this invoice."""
        return min(self.due, deposit)


def waiting_invoices(session, actor, search=None):
    """Drafts and unpaid invoices of the person's branches, newest first,
    found by number or as patients are found (name, phone, birth date)."""
    query = (
        select(Invoice).join(Patient, Invoice.patient_id == Patient.id)
        .where(Invoice.deleted_at.is_(None), Invoice.status.in_(WAITING_STATUSES), Invoice.payer_kind == "self",
               branch_condition(Invoice.clinic_id, actor))
        .options(joinedload(Invoice.patient), joinedload(Invoice.clinic))
        .order_by((Invoice.status == "draft").desc(), Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(QUEUE_SHOWN)
    )
    text = (search or "").strip()
    if text:
        query = query.where(or_(func.lower(Invoice.number).like(f"%{text.lower()}%"), search_condition(text)))
    return session.execute(query).scalars().all()


def patient_invoices(session, patient, actor):
    """(waiting, closed): the patient's open invoices of the person's
    branches, and the latest CLOSED_SHOWN paid or cancelled ones, with their
    lines, totals and what is paid."""
    mine = (Invoice.patient_id == patient.id, Invoice.deleted_at.is_(None), branch_condition(Invoice.clinic_id, actor))
    waiting = session.execute(
        select(Invoice).where(*mine, Invoice.status.in_(WAITING_STATUSES)).order_by(Invoice.issued_at, Invoice.id)
    ).scalars().all()
    closed = session.execute(
        select(Invoice).where(*mine, Invoice.status.notin_(WAITING_STATUSES))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(CLOSED_SHOWN)
    ).scalars().all()
    ids = [invoice.id for invoice in waiting + closed]
    lines, paid = {}, {}
    if ids:
        for line in session.execute(
            select(InvoiceLine).where(InvoiceLine.invoice_id.in_(ids), InvoiceLine.deleted_at.is_(None))
            .options(joinedload(InvoiceLine.service)).order_by(InvoiceLine.id)
        ).scalars():
            lines.setdefault(line.invoice_id, []).append(line)
        paid = dict(session.execute(
            select(Payment.invoice_id, func.sum(Payment.amount))
            .where(Payment.invoice_id.in_(ids), Payment.deleted_at.is_(None)).group_by(Payment.invoice_id)
        ).all())

    def row(invoice):
        mine_lines = lines.get(invoice.id, [])
        total = sum((line.amount for line in mine_lines), ZERO)
        return InvoiceRow(invoice, mine_lines, total, Decimal(str(paid.get(invoice.id) or 0)).quantize(ZERO))

    return [row(invoice) for invoice in waiting], [row(invoice) for invoice in closed]


def latest_payments(session, patient, actor):
    """The patient's latest payments at the person's branches, newest first."""
    return session.execute(
        select(Payment).where(Payment.patient_id == patient.id, Payment.deleted_at.is_(None),
                              branch_condition(Payment.clinic_id, actor))
        .options(joinedload(Payment.invoice), joinedload(Payment.credited_invoice), joinedload(Payment.received_by))
        .order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(PAYMENTS_SHOWN)
    ).scalars().all()

"""A plan's payment schedule against what happened: per calendar month, the
amount the schedule plans (planning.schedule, the chosen variant), what was
invoiced for the plan's items and what was paid of those invoices — a
payment of an invoice that also bills other work counts in proportion to
the plan's share of it. Months ahead whose planned payment is large (a
large stage, or the month's sum over the threshold) are flagged, so the
coordinator raises them early. A plan whose patient pays nothing (the
insurer pays) has no such table."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from ..planning.models import PlanItem, PlanStage, PlanVariant
from ..planning.schedule import clinic_today, payment_schedule
from ..timefmt import to_local
from .models import Invoice, InvoiceLine, Payment
from .services import BILLED_STATUSES

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class MonthMoney:
    month: date  # the first day of the calendar month
    planned: Decimal
    invoiced: Decimal
    paid: Decimal
    large_ahead: bool  # a large planned payment in this month or later, not invoiced yet


@dataclass(frozen=True)
class PlanMoney:
    months: list  # [MonthMoney] from the first month with anything to the last

    @property
    def planned(self):
        return sum((m.planned for m in self.months), ZERO)

    @property
    def invoiced(self):
        return sum((m.invoiced for m in self.months), ZERO)

    @property
    def paid(self):
        return sum((m.paid for m in self.months), ZERO)


def plan_against_reality(session, plan, today=None):
    """The PlanMoney of an accepted, running or completed plan whose patient
    pays something; None otherwise."""
    if plan.status not in ("accepted", "in_progress", "completed"):
        return None
    today = today or clinic_today()
    schedule = payment_schedule(session, plan, today=today)
    threshold = schedule.threshold
    planned = {month.month: (month.amount, month.flagged or month.amount > threshold) for month in schedule.months}
    plan_lines = session.execute(
        select(InvoiceLine.invoice_id, Invoice.issued_at,
               func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount))
        .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
        .join(PlanItem, InvoiceLine.plan_item_id == PlanItem.id)
        .join(PlanStage, PlanItem.stage_id == PlanStage.id)
        .join(PlanVariant, PlanStage.variant_id == PlanVariant.id)
        .where(PlanVariant.plan_id == plan.id, InvoiceLine.deleted_at.is_(None), Invoice.deleted_at.is_(None),
               Invoice.payer_kind == "self", Invoice.status.in_(BILLED_STATUSES))
        .group_by(InvoiceLine.invoice_id, Invoice.issued_at)
    ).all()
    invoiced, paid = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    share = {}
    for invoice_id, issued_at, amount in plan_lines:
        amount = _money(amount)
        invoiced[_month(issued_at)] += amount
        share[invoice_id] = amount
    if share:
        totals = dict(session.execute(
            select(InvoiceLine.invoice_id, func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount))
            .where(InvoiceLine.invoice_id.in_(share), InvoiceLine.deleted_at.is_(None))
            .group_by(InvoiceLine.invoice_id)
        ).all())
        for invoice_id, paid_at, amount in session.execute(
            select(Payment.invoice_id, Payment.paid_at, Payment.amount)
            .where(Payment.invoice_id.in_(share), Payment.deleted_at.is_(None))
        ).all():
            whole = _money(totals.get(invoice_id))
            if whole:
                paid[_month(paid_at)] += (amount * share[invoice_id] / whole).quantize(CENT)
    this_month = today.replace(day=1)
    months = [
        MonthMoney(month, planned.get(month, (ZERO, False))[0], invoiced[month], paid[month],
                   large_ahead=month >= this_month and planned.get(month, (ZERO, False))[1] and not invoiced[month])
        for month in sorted(set(planned) | set(invoiced) | set(paid))
    ]
    money = PlanMoney([m for m in months if m.planned or m.invoiced or m.paid])
    return money if money.months else None


def _month(moment):
    return to_local(moment).date().replace(day=1)


def _money(value):
    return Decimal(str(value or 0)).quantize(CENT)

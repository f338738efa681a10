"""A plan variant's payment schedule: what the patient pays at which visit
and in which calendar month, so a large payment (the implant surgery) is
known months ahead.

Dates. A stage's date is its ``planned_date`` when one is set (booked or
agreed); otherwise it is estimated, stage by stage in plan order:

* a **parallel** stage takes the date of the stage it runs beside (what it
  ``depends_on``, else the stage before it) plus its ``min_gap_days``
  (usually none) — two specialists, one day;
* any other stage comes no earlier than today, no earlier than the stage it
  depends on plus its ``min_gap_days`` (healing), and at least
  ``VISIT_INTERVAL_DAYS`` after the latest stage before it: a patient comes
  for sequential visits at most once a week;
* the first stage is today (or its own planned date).

Amounts. A stage's amount is what the *patient* pays for it: the price ×
quantity of its items that are not removed or deleted. In an insured plan
the insurer pays the insured items directly, so only the self-paid items
count; the insured part is not in the patient's schedule.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..billing.models import PaymentSchedule
from ..errors import DomainError
from ..timefmt import clinic_zone
from .models import PlanStage, PlanVariant, TreatmentPlan
from .services import ZERO, active_items, is_insured, line_amount, live_stages, live_variants

VISIT_INTERVAL_DAYS = 7


@dataclass(frozen=True)
class StagePayment:
    stage: PlanStage
    position: int
    amount: Decimal
    date: date
    planned: bool  # the date is the stage's planned date, not an estimate
    flagged: bool  # the amount exceeds the threshold: discuss it early


@dataclass(frozen=True)
class MonthPayment:
    month: date  # the first day of the calendar month
    amount: Decimal
    flagged: bool  # a flagged stage falls in this month


@dataclass(frozen=True)
class PaymentSchedulePlan:
    plan: TreatmentPlan
    variant: PlanVariant
    threshold: Decimal
    stages: list  # [StagePayment] in plan order
    months: list  # [MonthPayment] in calendar order, months with a payment

    @property
    def total(self):
        return sum((s.amount for s in self.stages), ZERO)

    @property
    def span_months(self):
        """Calendar months from the first stage to the last, both counted."""
        if not self.stages:
            return 0
        first = min(s.date for s in self.stages)
        last = max(s.date for s in self.stages)
        return (last.year - first.year) * 12 + last.month - first.month + 1


def patient_amount(plan, stage):
    """What the patient pays for ``stage``: every item when self-paid, only
    the self-paid items of an insured plan."""
    insured = is_insured(plan)
    return sum((line_amount(i) for i in active_items(stage) if not insured or i.self_paid), ZERO)


def default_variant(plan):
    """The chosen variant, else the optimal one, else the first."""
    variants = live_variants(plan)
    if not variants:
        raise DomainError(_l("The plan has no variants."))
    for variant in variants:
        if variant.chosen:
            return variant
    return next((v for v in variants if v.tier == "optimal"), variants[0])


def clinic_today():
    return datetime.now(clinic_zone()).date()


def estimated_dates(stages, today):
    """{stage id: (date, planned)} by the rules in the module docstring."""
    dates = {}
    latest = None
    previous = None
    for stage in stages:
        beside = stage.depends_on if stage.depends_on_id in dates else previous
        if stage.planned_date is not None:
            day, planned = stage.planned_date, True
        elif previous is None:
            day, planned = today, False
        elif stage.parallel:
            day, planned = dates[beside.id][0] + timedelta(days=stage.min_gap_days), False
        else:
            after_healing = dates[beside.id][0] + timedelta(days=stage.min_gap_days)
            day, planned = max(today, after_healing, latest + timedelta(days=VISIT_INTERVAL_DAYS)), False
        dates[stage.id] = (day, planned)
        latest = day if latest is None else max(latest, day)
        previous = stage
    return dates


def payment_schedule(session, plan, variant=None, today=None, threshold=None):
    """The payment schedule of ``variant`` (default: the chosen one, else
    optimal): per stage the patient's amount, its date and whether it is
    flagged (amount > ``threshold``, default PAYMENT_FLAG_THRESHOLD), and
    the amounts per calendar month. ``session`` is kept for symmetry with
    the other planning services; the plan's loaded relationships suffice."""
    variant = variant or default_variant(plan)
    today = today or clinic_today()
    if threshold is None:
        threshold = current_app.config["PAYMENT_FLAG_THRESHOLD"]
    threshold = Decimal(str(threshold))
    stages = live_stages(variant)
    dates = estimated_dates(stages, today)
    payments = []
    for stage in stages:
        amount = patient_amount(plan, stage)
        day, planned = dates[stage.id]
        payments.append(StagePayment(stage, stage.position, amount, day, planned, amount > threshold))
    by_month = defaultdict(lambda: [ZERO, False])
    for payment in sorted(payments, key=lambda p: p.date):
        month = by_month[payment.date.replace(day=1)]
        month[0] += payment.amount
        month[1] = month[1] or payment.flagged
    months = [MonthPayment(month, amount, flagged) for month, (amount, flagged) in sorted(by_month.items())]
    return PaymentSchedulePlan(plan, variant, threshold, payments, months)


def save_payment_schedule(session, plan, today=None):
    """Write the chosen variant's schedule as PaymentSchedule rows (one per
    stage the patient pays for), replacing the plan's previous rows.

    The rows are a forecast derived from the plan, not records of payments,
    so the old ones are deleted outright rather than soft-deleted."""
    chosen = [v for v in live_variants(plan) if v.chosen]
    if not chosen:
        raise DomainError(_l("Choose a variant first: the payment schedule follows the chosen variant."))
    schedule = payment_schedule(session, plan, chosen[0], today=today)
    for old in session.execute(select(PaymentSchedule).where(PaymentSchedule.plan_id == plan.id)).scalars():
        session.delete(old)  # through the ORM, so each removal is in the audit log
    session.flush()
    rows = [
        PaymentSchedule(
            plan_id=plan.id,
            variant_id=schedule.variant.id,
            stage_id=payment.stage.id,
            due_month=payment.date.replace(day=1),
            amount=payment.amount,
            flagged=payment.flagged,
        )
        for payment in schedule.stages
        if payment.amount > 0
    ]
    session.add_all(rows)
    session.flush()
    return rows

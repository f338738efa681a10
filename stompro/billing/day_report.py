"""The cash desk's day report of a branch: what came in by method and by
cashier, refunds, and the cash in the drawer at the opening and the close.

The drawer is what the records say: the opening cash is every cash payment
of the branch before the day less cash refunds, the closing cash adds the
day's. Cash taken out of the drawer (to the bank, to the owner) is not
recorded yet, so the drawer's figures hold until the first collection is;
a fiscal register (54-FZ) would report its own shift beside this one."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from ..org.models import Staff
from ..scheduling.availability import clinic_zone
from .models import PAYMENT_METHODS, Payment
from .services import ADVANCE_METHODS

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DayReport:
    clinic: object
    day: object
    by_method: dict  # method → (count, amount), every method listed (insurance and deposit are not desk money)
    by_cashier: list  # [(cashier, {method: amount}, taken in at the desk)], by name
    refunds: Decimal  # given back (a positive amount)
    total: Decimal  # money taken in at the desk (cash, card, online), refunds deducted
    opening_cash: Decimal
    closing_cash: Decimal


def day_bounds(clinic, day):
    """The UTC moments the branch's calendar ``day`` begins and ends."""
    zone = clinic_zone(clinic)
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def day_report(session, clinic, day):
    """The report of ``clinic``'s cash desk on its calendar ``day``, in three queries."""
    start, end = day_bounds(clinic, day)
    live = (Payment.clinic_id == clinic.id, Payment.deleted_at.is_(None))
    rows = session.execute(
        select(Payment.received_by_id, Payment.method, func.count(), func.sum(Payment.amount),
               func.sum(case((Payment.amount < 0, -Payment.amount), else_=0)))
        .where(*live, Payment.paid_at >= start, Payment.paid_at < end)
        .group_by(Payment.received_by_id, Payment.method)
    ).all()
    opening = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(*live, Payment.method == "cash",
                                                                 Payment.paid_at < start)
    )
    by_method = {method: [0, ZERO] for method in PAYMENT_METHODS}
    cashiers = defaultdict(lambda: defaultdict(lambda: ZERO))
    refunds = ZERO
    for staff_id, method, count, amount, refunded in rows:
        amount, refunded = _money(amount), _money(refunded)
        by_method[method][0] += count
        by_method[method][1] += amount
        cashiers[staff_id][method] += amount
        refunds += refunded
    people = _staff(session, [staff_id for staff_id in cashiers if staff_id is not None])
    by_cashier = sorted(
        ((people.get(staff_id), dict(methods), sum((methods[m] for m in ADVANCE_METHODS), ZERO))
         for staff_id, methods in cashiers.items()),
        key=lambda row: (row[0].full_name if row[0] is not None else ""),
    )
    opening = _money(opening)
    return DayReport(
        clinic=clinic, day=day, by_method={m: (c, a) for m, (c, a) in by_method.items()}, by_cashier=by_cashier,
        refunds=refunds, total=sum((by_method[method][1] for method in ADVANCE_METHODS), ZERO),
        opening_cash=opening, closing_cash=opening + by_method["cash"][1],
    )


def _staff(session, ids):
    return {person.id: person for person in session.execute(select(Staff).where(Staff.id.in_(ids))).scalars()}


def _money(value):
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))

"""Money figures: production (what was done, at the price it was invoiced
at) and collections (what came in)."""
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from ..billing.models import Invoice, InvoiceLine, Payment, PerformedService
from ..catalog.models import Service
from ..scheduling.models import Appointment
from .scope import dialect_of, group_key
from .table import Chart, Column, assemble, money

PATIENT_METHODS = ("cash", "card", "online")  # money the patient hands over
MONEY_METHODS = (*PATIENT_METHODS, "insurance")  # "deposit" and "credit" move money already counted

PRODUCTION_GROUPS = ("month", "day", "doctor", "service", "specialty", "branch")
INVOICE_GROUPS = ("month", "day", "branch")  # keys of the invoice itself
COLLECTION_GROUPS = ("month", "day", "branch", "method", "cashier", "doctor")


def production(session, scope, group_by="month"):
    """The value of the services performed: the live lines of the invoices
    (drafts included — the work is done — cancelled ones not) at their
    invoiced price less discount, dated by the invoice (a visit's invoice
    is made when the visit is finished). The doctor is the one who marked
    the service, else the visit's; the branch is the invoice's. Also the
    number of invoices and the average invoice (of the range, a day, a
    month, a branch: not of a doctor, a service or a specialty, as an
    invoice may bill several)."""
    dialect = dialect_of(session)
    doctor = func.coalesce(PerformedService.performed_by_id, Appointment.doctor_id)
    key = group_key(group_by, {
        "doctor": doctor,
        "service": InvoiceLine.service_id,
        "specialty": Service.specialty_id,
        "branch": Invoice.clinic_id,
    }, lambda: scope.bucket(Invoice.issued_at, Invoice.clinic_id, dialect, group_by))
    amount = InvoiceLine.quantity * InvoiceLine.price - InvoiceLine.discount
    live_invoices = (Invoice.deleted_at.is_(None), Invoice.status != "cancelled",
                     scope.during(Invoice.issued_at, Invoice.clinic_id))
    # Invoices are counted on the invoice table (a distinct count over the
    # lines would sort them all), and only for what is the invoice's own: an
    # invoice's lines may be of several doctors, services and specialties.
    sums = (func.sum(amount), func.sum(InvoiceLine.quantity))
    query = (
        select(key, *sums)
        .select_from(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.deleted_at.is_(None), *live_invoices)
        .group_by(key)
    )
    if group_by == "doctor":
        query = query.outerjoin(Appointment, Appointment.id == Invoice.appointment_id).outerjoin(
            PerformedService, and_(PerformedService.invoice_line_id == InvoiceLine.id,
                                   PerformedService.deleted_at.is_(None)))
    if group_by == "specialty":
        query = query.join(Service, Service.id == InvoiceLine.service_id)
    values = {}
    for group, value, quantity in (session.execute(query) if group_by else ()):
        values[group] = {"amount": money(value), "services": int(quantity or 0), "invoices": None}
    if group_by in INVOICE_GROUPS and values:
        for group, count in session.execute(select(key, func.count()).where(*live_invoices).group_by(key)):
            if group in values:
                values[group]["invoices"] = count
    value, quantity = session.execute(
        select(*sums).select_from(InvoiceLine).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.deleted_at.is_(None), *live_invoices)
    ).one()
    invoices = session.execute(select(func.count()).select_from(Invoice).where(*live_invoices)).scalar_one()
    totals = {"amount": money(value), "services": int(quantity or 0), "invoices": invoices}
    for measures in (*values.values(), totals):
        measures["average_invoice"] = money(measures["amount"] / measures["invoices"]) if measures["invoices"] else None
    columns = [
        Column("amount", _l("Production"), "money"),
        Column("services", _l("Services"), "count"),
        Column("invoices", _l("Invoices"), "count"),
        Column("average_invoice", _l("Average invoice"), "money"),
    ]
    return assemble(session, "production", _l("Production"), group_by, columns, values, totals,
                    chart=Chart(("amount",), "line" if group_by == "day" else "bar"), sort_by="amount")


def collections(session, scope, group_by="month"):
    """The money that came in: payments by the patient (cash, card, online)
    and by insurers, refunds (negative payments) subtracted; paying an
    invoice from the deposit or with a credit note brings no new money and
    is left out. Dated when paid, at the branch that took it. The doctor is
    the one of the paid invoice's visit (advances have none)."""
    dialect = dialect_of(session)
    key = group_key(group_by, {
        "branch": Payment.clinic_id,
        "method": Payment.method,
        "cashier": Payment.received_by_id,
        "doctor": Appointment.doctor_id,
    }, lambda: scope.bucket(Payment.paid_at, Payment.clinic_id, dialect, group_by))
    positive = Payment.amount > 0
    sums = (
        func.sum(case((and_(positive, Payment.method.in_(PATIENT_METHODS)), Payment.amount), else_=0)),
        func.sum(case((and_(positive, Payment.method == "insurance"), Payment.amount), else_=0)),
        func.sum(case((Payment.amount < 0, -Payment.amount), else_=0)),
        func.count(Payment.id),
    )
    live = (Payment.deleted_at.is_(None), Payment.method.in_(MONEY_METHODS),
            scope.during(Payment.paid_at, Payment.clinic_id))
    query = select(key, *sums).where(*live).group_by(key)
    if group_by == "doctor":
        query = query.outerjoin(Invoice, Invoice.id == Payment.invoice_id).outerjoin(
            Appointment, Appointment.id == Invoice.appointment_id)
    values = {group: _collected(*figures) for group, *figures in (session.execute(query) if group_by else ())}
    totals = _collected(*session.execute(select(*sums).where(*live)).one())
    columns = [
        Column("patient", _l("From patients"), "money"),
        Column("insurance", _l("From insurers"), "money"),
        Column("refunds", _l("Refunds"), "money", better="down"),
        Column("total", _l("Collections"), "money"),
        Column("payments", _l("Payments"), "count"),
    ]
    return assemble(session, "collections", _l("Collections"), group_by, columns, values, totals,
                    chart=Chart(("patient", "insurance"), "bar", stacked=True), sort_by="total")


def _collected(patient, insurance, refunds, count):
    patient, insurance, refunds = money(patient), money(insurance), money(refunds)
    return {"patient": patient, "insurance": insurance, "refunds": refunds,
            "total": patient + insurance - refunds, "payments": int(count or 0)}


def collections_by_patient(session, patient_ids):
    """{patient id: money collected from or for them, ever} (the LTV's
    measure); ``patient_ids`` is a SELECT of ids."""
    rows = session.execute(
        select(Payment.patient_id, func.sum(Payment.amount))
        .where(Payment.deleted_at.is_(None), Payment.method.in_(MONEY_METHODS), Payment.patient_id.in_(patient_ids))
        .group_by(Payment.patient_id)
    )
    return defaultdict(int, {patient_id: money(total) for patient_id, total in rows})

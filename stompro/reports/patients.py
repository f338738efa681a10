"""Patient figures: new patients by where they came from, and what they
are worth over their life with the clinic (LTV)."""
from collections import defaultdict
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, exists, func, literal, select

from ..billing.models import Invoice, InvoiceLine
from ..patients.models import Patient
from ..scheduling.models import Appointment
from .money import collections_by_patient
from .scope import dialect_of, group_key
from .table import Chart, Column, assemble, money, ratio

NEW_PATIENT_GROUPS = ("source", "month", "branch")
LTV_GROUPS = ("source", "first_service", "branch", "month")


def _home(scope):
    """SQL: a patient's branch — their home branch (else, for the network,
    the first branch)."""
    fallback = literal(scope.clinic_ids[0]) if scope.network and scope.clinic_ids else None
    return func.coalesce(Patient.home_clinic_id, fallback)


def _registered(scope):
    """The live patients registered (created) in the range at the covered branches."""
    return (Patient.deleted_at.is_(None), scope.during(Patient.created_at, _home(scope)))


def _key(session, scope, group_by):
    return group_key(group_by, {"source": Patient.source, "branch": _home(scope)},
                     lambda: scope.bucket(Patient.created_at, _home(scope), dialect_of(session), group_by))


def new_patients(session, scope, group_by="source"):
    """Patients registered in the range, and how many of them have come to
    a visit (a finished one) since."""
    key = _key(session, scope, group_by)
    came = exists().where(Appointment.patient_id == Patient.id, Appointment.deleted_at.is_(None),
                          Appointment.status == "done")
    figures = (func.count(Patient.id), func.sum(cast(came, Integer)))
    values = {group: _new(count, visited) for group, count, visited in
              session.execute(select(key, *figures).where(*_registered(scope)).group_by(key))}
    totals = _new(*session.execute(select(*figures).where(*_registered(scope))).one())
    columns = [
        Column("patients", _l("New patients"), "count"),
        Column("visited", _l("Came to a visit"), "count"),
        Column("visited_share", _l("Came, %"), "percent"),
    ]
    return assemble(session, "new_patients", _l("New patients"), group_by, columns, values, totals,
                    chart=Chart(("patients", "visited")), sort_by="patients")


def _new(count, visited):
    count, visited = int(count or 0), int(visited or 0)
    return {"patients": count, "visited": visited, "visited_share": ratio(visited, count)}


def ltv(session, scope, group_by="source"):
    """Patients registered in the range and the money collected from or for
    them ever since (reports.money's collections: patient and insurer
    payments, refunds subtracted). LTV is that money per patient; by first
    service, the service of a patient's first invoice line."""
    if group_by == "first_service":
        first = _first_services(scope)
        query = select(Patient.id, first.c.service_id).outerjoin(first, first.c.patient_id == Patient.id)
    else:
        query = select(Patient.id, _key(session, scope, group_by))
    query = query.where(*_registered(scope))
    cohort = session.execute(query).all()
    collected = collections_by_patient(session, select(Patient.id).where(*_registered(scope)))
    groups = defaultdict(lambda: {"patients": 0, "paying": 0, "collected": Decimal(0)})
    total = {"patients": 0, "paying": 0, "collected": Decimal(0)}
    for patient_id, group in cohort:
        amount = collected[patient_id]
        for tally in (groups[group], total):
            tally["patients"] += 1
            tally["paying"] += amount > 0
            tally["collected"] += amount
    columns = [
        Column("patients", _l("Patients"), "count"),
        Column("paying", _l("Paying patients"), "count"),
        Column("collected", _l("Collected"), "money"),
        Column("ltv", _l("LTV per patient"), "money"),
        Column("per_paying", _l("Per paying patient"), "money"),
    ]
    values = {group: _worth(tally) for group, tally in groups.items()}
    return assemble(session, "ltv", _l("Lifetime value"), group_by, columns, values, _worth(total),
                    chart=Chart(("ltv",)), sort_by="ltv")


def _worth(tally):
    patients, paying, collected = tally["patients"], tally["paying"], money(tally["collected"])
    return {"patients": patients, "paying": paying, "collected": collected,
            "ltv": money(collected / patients) if patients else None,
            "per_paying": money(collected / paying) if paying else None}


def _first_services(scope):
    """A subquery (patient_id, service_id): the service of each registered
    patient's first live invoice line (cancelled invoices left out)."""
    order = func.row_number().over(partition_by=Invoice.patient_id,
                                   order_by=(Invoice.issued_at, InvoiceLine.id))
    ranked = (
        select(Invoice.patient_id.label("patient_id"), InvoiceLine.service_id.label("service_id"),
               order.label("position"))
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(Invoice.deleted_at.is_(None), Invoice.status != "cancelled", InvoiceLine.deleted_at.is_(None),
               Invoice.patient_id.in_(select(Patient.id).where(*_registered(scope))))
        .subquery()
    )
    return select(ranked.c.patient_id, ranked.c.service_id).where(ranked.c.position == 1).subquery()

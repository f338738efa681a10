"""The insurer's invoice of the month: per insurance company, program and
month, the registry of what was done for its insured patients — patient,
policy, date, tooth, service, quantity and amount — from the insurance
invoices issued that month (the insured part of each visit; the patient's
own part is on their own invoice). Printed as a PDF with its total, and as
CSV for the insurer's systems."""
import csv
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from io import StringIO

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from ..i18n import localized
from ..org.branches import branch_condition, clinics_of
from ..patients.models import InsurancePolicy
from ..timefmt import from_local, next_month, to_local
from .models import Invoice, InvoiceLine
from .services import BILLED_STATUSES

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RegistryRow:
    patient: str
    birth_date: str
    policy: str
    day: str
    tooth: int | None
    code: str
    service: str
    quantity: int
    amount: Decimal
    invoice: str


@dataclass(frozen=True)
class Registry:
    company: object
    program: object
    month: object
    rows: list
    clinics: list  # the branches it covers: the reader's

    @property
    def total(self):
        return sum((row.amount for row in self.rows), ZERO)

    @property
    def patients(self):
        return len({row.patient + row.policy for row in self.rows})


def insurer_registry(session, actor, company, program, month):
    """The registry of ``company``'s ``program`` for ``month`` (a date on its
    first day), at the person's branches, in order of date and patient."""
    start, end = from_local(datetime.combine(month, time(0))), from_local(datetime.combine(next_month(month),
                                                                                           time(0)))
    policy = and_(
        InsurancePolicy.patient_id == Invoice.patient_id, InsurancePolicy.company_id == company.id,
        InsurancePolicy.program_id == program.id, InsurancePolicy.deleted_at.is_(None),
        InsurancePolicy.valid_from < next_month(month),
        or_(InsurancePolicy.valid_to.is_(None), InsurancePolicy.valid_to >= month),
    )
    rows = session.execute(
        select(InvoiceLine, InsurancePolicy.number)
        .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
        .join(InsurancePolicy, policy)
        .where(
            Invoice.payer_kind == "insurance", Invoice.insurance_company_id == company.id,
            Invoice.deleted_at.is_(None), Invoice.status.in_(BILLED_STATUSES), InvoiceLine.deleted_at.is_(None),
            Invoice.issued_at >= start, Invoice.issued_at < end, branch_condition(Invoice.clinic_id, actor),
        )
        .options(joinedload(InvoiceLine.invoice).joinedload(Invoice.patient), joinedload(InvoiceLine.service))
        .order_by(Invoice.issued_at, Invoice.id, InvoiceLine.id)
    ).all()
    seen, lines = set(), []
    for line, policy_number in rows:
        if line.id in seen:  # two overlapping policies of the same program list a line once
            continue
        seen.add(line.id)
        patient = line.invoice.patient
        lines.append(RegistryRow(
            patient=patient.full_name, birth_date=f"{patient.birth_date:%d.%m.%Y}" if patient.birth_date else "",
            policy=policy_number, day=f"{to_local(line.invoice.issued_at):%d.%m.%Y}", tooth=line.tooth,
            code=line.service.code, service=localized(line.service), quantity=line.quantity, amount=line.amount,
            invoice=line.invoice.number,
        ))
    return Registry(company, program, month, lines, clinics_of(session, actor))


def registry_csv(registry):
    """The registry for the insurer's systems (UTF-8 with a BOM, ";"-separated as Russian spreadsheets expect)."""
    out = StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["patient", "birth_date", "policy", "date", "tooth", "service_code", "service", "quantity",
                     "amount", "invoice"])
    for row in registry.rows:
        writer.writerow([row.patient, row.birth_date, row.policy, row.day, row.tooth or "", row.code, row.service,
                         row.quantity, f"{row.amount:.2f}", row.invoice])
    writer.writerow(["", "", "", "", "", "", "total", "", f"{registry.total:.2f}", ""])
    return out.getvalue()

"""Everything the patient card shows, in a fixed number of queries.

Each section is one query whatever the length of the patient's history: long
lists are cut in SQL (the last visits, the last messages) and sums and counts
are aggregated in SQL. Soft-deleted rows are left out everywhere. The result is
plain data: the template only formats moments and money."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select, type_coerce, union_all
from sqlalchemy.orm import joinedload

from ..admin.choices import VALUE_LABELS
from ..billing.models import Invoice
from ..billing.services import Balance, patient_balance
from ..bounds import bounded_id
from ..chart.odontogram import ChartView, build_view, default_dentition
from ..chart.services import ChartEntry, current_chart
from ..db import MONEY, utcnow
from ..documents.models import PatientDocument
from ..messaging.models import Message
from ..org.models import Room, Staff
from ..planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from ..scheduling.models import Appointment
from ..tasks.models import Task
from ..scheduling.availability import clinic_zone
from ..timefmt import format_span, to_local
from .models import InsurancePolicy, Patient
from .phones import format_phone

SECTIONS = frozenset({"chart", "plans", "visits", "tasks", "messages", "documents", "money"})
PAST_VISITS_SHOWN = 20
FUTURE_VISITS_SHOWN = 20
MESSAGES_SHOWN = 20
INVOICES_SHOWN = 10

# Visits still waiting for the patient; once their time has passed they are overdue.
AWAITED_STATUSES = ("booked", "confirmed")


@dataclass(frozen=True)
class Demographics:
    full_name: str
    birth_date: str
    age: int
    sex: str | None
    phone: str
    email: str | None
    address: str | None
    id_document: str | None
    source: str | None
    sms_consent: bool
    status: str
    home_clinic: str | None
    coordinator: str | None
    note: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    number: str
    company: str
    program: str
    valid_from: str
    valid_to: str
    in_force: bool


@dataclass(frozen=True)
class VariantSummary:
    tier: str
    chosen: bool
    total: Decimal
    items: int
    performed: int
    progress_percent: int


@dataclass(frozen=True)
class PlanSummary:
    id: int
    title: str
    status: str
    created_at: datetime
    variants: tuple[VariantSummary, ...]

    @property
    def chosen(self):
        return next((v for v in self.variants if v.chosen), None)


@dataclass(frozen=True)
class Visit:
    id: int
    starts_at: datetime
    ends_at: datetime
    kind: str
    status: str
    doctor: str
    clinic: str
    room: str
    overdue: bool
    when: str  # on the branch's clock


@dataclass(frozen=True)
class OpenTask:
    id: int
    title: str
    tab: str
    priority: int
    due_at: datetime
    assignee: str
    overdue: bool


@dataclass(frozen=True)
class SentMessage:
    channel: str
    status: str
    send_at: datetime
    recipient: str
    body: str


@dataclass(frozen=True)
class Document:
    id: int
    title: str
    kind: str
    status: str
    signed_at: datetime | None
    scan_id: int | None  # the attachment of its scanned signed copy
    terminated_at: datetime | None = None  # a contract that ended


@dataclass(frozen=True)
class InvoiceSummary:
    id: int
    number: str
    issued_at: datetime
    status: str
    payer_kind: str
    total: Decimal


@dataclass(frozen=True)
class PatientCard:
    patient_id: int
    sections: frozenset
    demographics: Demographics
    policies: tuple[Policy, ...]
    chart: tuple[ChartEntry, ...] = ()
    odontogram: ChartView | None = None
    plans: tuple[PlanSummary, ...] = ()
    past_visits: tuple[Visit, ...] = ()
    past_visits_total: int = 0
    future_visits: tuple[Visit, ...] = ()
    future_visits_total: int = 0
    open_tasks: tuple[OpenTask, ...] = ()
    messages: tuple[SentMessage, ...] = ()
    messages_total: int = 0
    documents: tuple[Document, ...] = ()
    invoices: tuple[InvoiceSummary, ...] = ()
    balance: Balance | None = None

    def shows(self, section):
        return section in self.sections


def patient_card(session, patient_id, now=None, sections=SECTIONS):
    """The card of a patient, or None if there is no such (living) patient.

    ``sections`` limits what is loaded to what the viewer may see; demographics
    and insurance policies are always there."""
    now = now or utcnow()
    patient = _patient(session, patient_id)
    if patient is None:
        return None
    today = to_local(now).date()
    sections = frozenset(sections) & SECTIONS
    parts = {}
    if "chart" in sections:
        parts["chart"] = tuple(current_chart(session, patient_id))
        # The legend of the conditions in use only: no query for the reference list.
        dentition = default_dentition(patient.birth_date, today, parts["chart"])
        parts["odontogram"] = build_view(parts["chart"], None, dentition)
    if "plans" in sections:
        parts["plans"] = _plans(session, patient_id)
    if "visits" in sections:
        parts.update(_visits(session, patient_id, now))
    if "tasks" in sections:
        parts["open_tasks"] = _open_tasks(session, patient_id, now)
    if "messages" in sections:
        parts["messages"], parts["messages_total"] = _messages(session, patient_id)
    if "documents" in sections:
        parts["documents"] = _documents(session, patient_id)
    if "money" in sections:
        parts["invoices"] = _invoices(session, patient_id)
        parts["balance"] = patient_balance(session, session.get(Patient, patient_id))
    return PatientCard(
        patient_id=patient_id,
        sections=sections,
        demographics=_demographics(patient, today),
        policies=_policies(session, patient_id, today),
        **parts,
    )


def _patient(session, patient_id):
    if bounded_id(patient_id) is None:
        return None
    return session.execute(
        select(Patient)
        .where(Patient.id == patient_id, Patient.deleted_at.is_(None))
        .options(
            joinedload(Patient.tags),
            joinedload(Patient.home_clinic),
            joinedload(Patient.coordinator).lazyload(Staff.role_rows),
        )
    ).unique().scalar_one_or_none()


def _day(value):
    return value.strftime("%d.%m.%Y") if value else ""


def _age(birth_date, today):
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def _demographics(patient, today):
    return Demographics(
        full_name=patient.full_name,
        birth_date=_day(patient.birth_date),
        age=_age(patient.birth_date, today),
        sex=patient.sex,
        phone=format_phone(patient.phone),
        email=patient.email,
        address=patient.address,
        id_document=patient.id_document,
        source=patient.source,
        sms_consent=patient.sms_consent,
        status=patient.status,
        home_clinic=str(patient.home_clinic) if patient.home_clinic else None,
        coordinator=str(patient.coordinator) if patient.coordinator else None,
        note=patient.note,
        tags=tuple(tag.tag for tag in patient.tags),
    )


def _policies(session, patient_id, today):
    rows = session.execute(
        select(InsurancePolicy)
        .where(InsurancePolicy.patient_id == patient_id, InsurancePolicy.deleted_at.is_(None))
        .options(joinedload(InsurancePolicy.company), joinedload(InsurancePolicy.program))
        .order_by(InsurancePolicy.valid_from.desc())
    ).scalars()
    return tuple(
        Policy(
            number=policy.number,
            company=policy.company.name,
            program=policy.program.name,
            valid_from=_day(policy.valid_from),
            valid_to=_day(policy.valid_to),
            in_force=policy.in_force(today),
        )
        for policy in rows
    )


def _plans(session, patient_id):
    """Every plan with, per variant, its total (price × quantity of the items
    not removed), its item count and how many of them are performed."""
    item = and_(PlanItem.stage_id == PlanStage.id, PlanItem.deleted_at.is_(None), PlanItem.removed.is_(False))
    rows = session.execute(
        select(
            TreatmentPlan.id, TreatmentPlan.title, TreatmentPlan.status, TreatmentPlan.created_at,
            PlanVariant.id.label("variant_id"), PlanVariant.tier, PlanVariant.chosen,
            type_coerce(func.coalesce(func.sum(PlanItem.price * PlanItem.quantity), 0), MONEY).label("total"),
            func.count(PlanItem.id).label("items"),
            func.count(PlanItem.performed_at).label("performed"),
        )
        .select_from(TreatmentPlan)
        .outerjoin(PlanVariant, and_(PlanVariant.plan_id == TreatmentPlan.id, PlanVariant.deleted_at.is_(None)))
        .outerjoin(PlanStage, and_(PlanStage.variant_id == PlanVariant.id, PlanStage.deleted_at.is_(None)))
        .outerjoin(PlanItem, item)
        .where(TreatmentPlan.patient_id == patient_id, TreatmentPlan.deleted_at.is_(None))
        .group_by(
            TreatmentPlan.id, TreatmentPlan.title, TreatmentPlan.status, TreatmentPlan.created_at,
            PlanVariant.id, PlanVariant.tier, PlanVariant.chosen,
        )
        .order_by(TreatmentPlan.created_at.desc(), TreatmentPlan.id.desc(), PlanVariant.id)
    ).all()
    plans = {}
    for row in rows:
        plan = plans.setdefault(row.id, (row, []))
        if row.variant_id is not None:
            plan[1].append(
                VariantSummary(
                    tier=row.tier,
                    chosen=row.chosen,
                    total=Decimal(row.total),
                    items=row.items,
                    performed=row.performed,
                    progress_percent=row.performed * 100 // row.items if row.items else 0,
                )
            )
    return tuple(
        PlanSummary(id=row.id, title=row.title or "", status=row.status, created_at=row.created_at, variants=tuple(variants))
        for row, variants in plans.values()
    )


def _visits(session, patient_id, now):
    """The last visits before ``now`` and the next ones from ``now``, in one
    query, with how many there are of each in all."""
    living = and_(Appointment.patient_id == patient_id, Appointment.deleted_at.is_(None))
    is_past = Appointment.starts_at < now
    past = (
        select(Appointment.id).where(living, is_past)
        .order_by(Appointment.starts_at.desc()).limit(PAST_VISITS_SHOWN).subquery()
    )
    future = (
        select(Appointment.id).where(living, ~is_past)
        .order_by(Appointment.starts_at).limit(FUTURE_VISITS_SHOWN).subquery()
    )
    shown = union_all(select(past.c.id), select(future.c.id))
    # Not correlated with the outer appointment: these count all of the patient's.
    past_count, future_count = (
        select(func.count()).where(living, when).correlate(None).scalar_subquery() for when in (is_past, ~is_past)
    )
    rows = session.execute(
        select(Appointment, past_count, future_count)
        .where(Appointment.id.in_(shown))
        .options(
            joinedload(Appointment.doctor).lazyload(Staff.role_rows),
            joinedload(Appointment.room).joinedload(Room.clinic),
        )
        .order_by(Appointment.starts_at)
    ).all()
    visits = [_visit(appointment, now) for appointment, _, _ in rows]
    past_total, future_total = (rows[0][1], rows[0][2]) if rows else (0, 0)
    return {
        "past_visits": tuple(reversed([v for v in visits if v.starts_at < now])),
        "past_visits_total": past_total,
        "future_visits": tuple(v for v in visits if v.starts_at >= now),
        "future_visits_total": future_total,
    }


def _visit(appointment, now):
    return Visit(
        id=appointment.id,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        kind=appointment.kind,
        status=appointment.status,
        doctor=str(appointment.doctor),
        clinic=appointment.room.clinic.name,
        room=appointment.room.name,
        overdue=appointment.status in AWAITED_STATUSES and appointment.starts_at < now,
        when=format_span(appointment.starts_at, appointment.ends_at, clinic_zone(appointment.room.clinic)),
    )


def _open_tasks(session, patient_id, now):
    tasks = session.execute(
        select(Task)
        .where(Task.patient_id == patient_id, Task.status == "open")
        .options(joinedload(Task.assignee).lazyload(Staff.role_rows))
        .order_by(Task.due_at, Task.priority)
    ).scalars()
    return tuple(
        OpenTask(
            id=task.id,
            title=task.title,
            tab=task.tab,
            priority=task.priority,
            due_at=task.due_at,
            assignee=str(task.assignee) if task.assignee else str(VALUE_LABELS.get(task.queue, task.queue or "")),
            overdue=task.due_at < now,
        )
        for task in tasks
    )


def _messages(session, patient_id):
    rows = session.execute(
        select(
            Message.channel, Message.status, Message.send_at, Message.recipient, Message.body,
            func.count().over().label("total"),
        )
        .where(Message.patient_id == patient_id)
        .order_by(Message.send_at.desc(), Message.id.desc())
        .limit(MESSAGES_SHOWN)
    ).all()
    messages = tuple(
        SentMessage(channel=r.channel, status=r.status, send_at=r.send_at, recipient=r.recipient, body=r.body)
        for r in rows
    )
    return messages, (rows[0].total if rows else 0)


def _documents(session, patient_id):
    rows = session.execute(
        select(PatientDocument.id, PatientDocument.title, PatientDocument.kind, PatientDocument.status,
               PatientDocument.signed_at, PatientDocument.scan_id, PatientDocument.terminated_at)
        .where(PatientDocument.patient_id == patient_id, PatientDocument.deleted_at.is_(None))
        .order_by(PatientDocument.created_at.desc(), PatientDocument.id.desc())
    ).all()
    return tuple(Document(id=r.id, title=r.title, kind=r.kind, status=r.status, signed_at=r.signed_at,
                          scan_id=r.scan_id, terminated_at=r.terminated_at) for r in rows)


def _invoices(session, patient_id):
    rows = session.execute(
        select(Invoice.id, Invoice.number, Invoice.issued_at, Invoice.status, Invoice.payer_kind, Invoice.total)
        .where(Invoice.patient_id == patient_id, Invoice.deleted_at.is_(None))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(INVOICES_SHOWN)
    ).all()
    return tuple(
        InvoiceSummary(
            id=r.id, number=r.number, issued_at=r.issued_at, status=r.status,
            payer_kind=r.payer_kind, total=Decimal(r.total),
        )
        for r in rows
    )

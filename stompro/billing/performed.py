"""What the doctor performed at a visit, and the invoice it becomes.

Every function takes the session and the acting staff member, flushes and
never commits, and raises DomainError naming the field at fault.

- Services are marked while the patient is in the chair or after the visit
  is done, in the visit's branch: items of the patient's plan (the chosen
  variant's, not removed, not performed yet) or services from the price
  list. An item's tooth, surfaces and quantity come from the plan; a
  different tooth, surfaces or service needs a note saying why.
- The price is fixed when the service is marked: the plan's frozen price
  for the item's own service, else the price list valid on the visit's day.
- A service is insured when the patient's policy in force that day (the
  plan's, for a plan item) covers it and the plan item is not self-paid.
- An item performed moves its plan from accepted to in progress; a plan
  whose chosen variant's items are all performed or removed is completed.
- The visit done, its performed services become draft invoices
  (invoice_visit): one for the patient and one for the insurer, each line at
  the price marked; a service marked later joins the visit's draft, or a new
  one. A performed service is taken back (soft delete) only while its
  invoice is a draft; its line goes with it and its plan item is open again.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import bounds
from ..chart.teeth import normalize_surfaces, validate_tooth
from ..db import utcnow
from ..errors import DomainError
from ..org.branches import require_branch
from ..patients.models import InsurancePolicy
from ..planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from ..planning.services import complete_plan, start_plan
from ..records import soft_delete
from ..scheduling.availability import local_day
from .models import Invoice, PerformedService
from .services import MAX_QUANTITY, add_line, create_invoice, listed_price, remove_line

MARKING_STATUSES = ("in_chair", "done")


@dataclass(frozen=True)
class PlanChoice:
    """A plan item the doctor may tick at a visit; ``of_visit`` when it is
    the visit's own stage's."""

    item: PlanItem
    of_visit: bool


def mark_performed(session, actor, visit, plan_item=None, service=None, tooth=None, surfaces=None, quantity=None,
                   note=None, now=None):
    """Mark one service performed at ``visit``: ``plan_item`` (its tooth,
    surfaces, quantity and service unless given) or ``service`` from the
    price list."""
    now = now or utcnow()
    _markable(actor, visit)
    note = (note or "").strip() or None
    bounds.require(bounds.text_problem(note), "note")
    day = local_day(visit.clinic, visit.starts_at)
    if plan_item is not None:
        plan = _open_plan_item(session, visit, plan_item)
        wanted = (service or plan_item.service, plan_item.tooth if tooth in (None, "") else tooth,
                  plan_item.surfaces if surfaces is None else surfaces)
        service, tooth, surfaces = wanted
        changed = (service.id != plan_item.service_id or validate_tooth(tooth, allow_none=True) != plan_item.tooth
                   or normalize_surfaces(surfaces) != plan_item.surfaces)
        if changed and note is None:
            raise DomainError(_l("Write why the work differs from the plan."), field="note")
        quantity = plan_item.quantity if quantity in (None, "") else quantity
    elif service is None:
        raise DomainError(_l("Choose the service."), field="service")
    else:
        plan = None
        if not service.active:
            raise DomainError(_l("This service is no longer offered."), field="service")
    performed = PerformedService(
        appointment=visit, plan_item=plan_item, service=service,
        tooth=validate_tooth(tooth, allow_none=True), surfaces=normalize_surfaces(surfaces or ""),
        quantity=_quantity(quantity), note=note, performed_by=visit.doctor, performed_at=now,
    )
    if plan_item is not None and service.id == plan_item.service_id:
        performed.price = plan_item.price
    else:
        performed.price = listed_price(session, service, day)
    performed.insured = _insured(session, visit, plan, plan_item, service, day)
    session.add(performed)
    if plan_item is not None:
        plan_item.performed_at, plan_item.performed_by = now, visit.doctor
        session.flush()
        _follow_plan(session, actor, plan, now)
    session.flush()
    if visit.status == "done":
        invoice_visit(session, actor, visit, now=now)
    return performed


def mark_services(session, actor, visit, items, now=None):
    """Mark several services at once, all or none (the API's body): each
    ``{"plan_item_id"}`` or ``{"service_code", "tooth"?, "surfaces"?,
    "quantity"?, "note"?}``."""
    from ..catalog.models import Service

    if not isinstance(items, list) or not items:
        raise DomainError(_l("List the services performed."), field="items")
    marked = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DomainError(_l("Each service is an object."), field=f"items[{number}]")
        try:
            plan_item = service = None
            if item.get("plan_item_id") is not None:
                plan_item = session.get(PlanItem, item["plan_item_id"]) if isinstance(item["plan_item_id"], int) \
                    else None
                if plan_item is None:
                    raise DomainError(_l("No such plan item."), field="plan_item_id")
            if item.get("service_code") is not None:
                service = session.execute(
                    select(Service).where(Service.code == str(item["service_code"]))
                ).scalar_one_or_none()
                if service is None:
                    raise DomainError(_l("No service with this code."), field="service_code")
            marked.append(mark_performed(session, actor, visit, plan_item=plan_item, service=service,
                                         tooth=item.get("tooth"), surfaces=item.get("surfaces"),
                                         quantity=item.get("quantity"), note=item.get("note"), now=now))
        except DomainError as error:
            raise DomainError(error.message, field=f"items[{number}].{error.field or 'item'}") from None
    return marked


def take_back(session, actor, performed, now=None):
    """Take back a service marked by mistake, while its invoice is a draft."""
    visit = performed.appointment
    require_branch(actor, visit.clinic_id)
    if performed.deleted_at is not None:
        return performed
    line = performed.invoice_line
    if line is not None and line.deleted_at is None:
        if line.invoice.status != "draft":
            raise DomainError(_l("This service is on an issued invoice; the cashier corrects the invoice."))
        remove_line(session, actor, line)
    soft_delete(session, performed)
    item = performed.plan_item
    if item is not None:
        item.performed_at = item.performed_by = None
        plan = item.stage.variant.plan
        if plan.status == "completed":
            plan.status, plan.completed_at = "in_progress", None  # an item is open again
        session.flush()
    return performed


def performed_at(session, visit):
    """The live services marked at ``visit``, in the order they were marked."""
    return session.execute(
        select(PerformedService)
        .where(PerformedService.appointment_id == visit.id, PerformedService.deleted_at.is_(None))
        .options(joinedload(PerformedService.service), joinedload(PerformedService.invoice_line))
        .order_by(PerformedService.id)
    ).scalars().all()


def plan_choices(session, visit):
    """The plan items the doctor may tick at ``visit``: the open items of
    the patient's chosen variants, the visit's own stage first."""
    items = session.execute(
        select(PlanItem)
        .join(PlanStage, PlanItem.stage_id == PlanStage.id)
        .join(PlanVariant, PlanStage.variant_id == PlanVariant.id)
        .join(TreatmentPlan, PlanVariant.plan_id == TreatmentPlan.id)
        .where(
            TreatmentPlan.patient_id == visit.patient_id, TreatmentPlan.deleted_at.is_(None),
            TreatmentPlan.status.in_(("accepted", "in_progress")), PlanVariant.chosen,
            PlanVariant.deleted_at.is_(None), PlanStage.deleted_at.is_(None), PlanItem.deleted_at.is_(None),
            PlanItem.removed.is_(False), PlanItem.performed_at.is_(None),
        )
        .options(joinedload(PlanItem.service), joinedload(PlanItem.stage))
        .order_by(PlanStage.position, PlanItem.id)
    ).scalars().all()
    own = visit.plan_stage_id
    return sorted((PlanChoice(item, item.stage_id == own) for item in items), key=lambda c: not c.of_visit)


def invoice_visit(session, actor, visit, now=None):
    """The visit's performed services not yet invoiced become lines of its
    draft invoices, one for the patient and one per insurer; returns the
    drafts written to."""
    now = now or utcnow()
    waiting = [p for p in performed_at(session, visit) if p.invoice_line is None or p.invoice_line.deleted_at]
    drafts = {}
    for performed in waiting:
        company = _insurer(session, visit, performed) if performed.insured else None
        key = company.id if company is not None else None
        if key not in drafts:
            drafts[key] = _visit_draft(session, actor, visit, company, now)
        performed.invoice_line = add_line(
            session, actor, invoice=drafts[key], service=performed.service, tooth=performed.tooth,
            quantity=performed.quantity, price=performed.price, plan_item=performed.plan_item,
        )
    session.flush()
    return list(drafts.values())


def _visit_draft(session, actor, visit, company, now):
    payer = "insurance" if company is not None else "self"
    draft = session.execute(
        select(Invoice).where(
            Invoice.appointment_id == visit.id, Invoice.status == "draft", Invoice.deleted_at.is_(None),
            Invoice.payer_kind == payer,
            Invoice.insurance_company_id == company.id if company is not None else Invoice.id.isnot(None),
        ).order_by(Invoice.id).limit(1)
    ).scalar_one_or_none()
    return draft or create_invoice(session, actor, patient=visit.patient, clinic=visit.clinic, payer_kind=payer,
                                   insurance_company=company, appointment=visit, now=now)


def _markable(actor, visit):
    if visit is None or visit.deleted_at is not None:
        raise DomainError(_l("Choose the visit."), field="visit")
    require_branch(actor, visit.clinic_id)
    if visit.status not in MARKING_STATUSES:
        raise DomainError(_l("Services are marked once the patient is in the chair."), field="visit")


def _open_plan_item(session, visit, item):
    """The item's plan, once the item is one the doctor may tick at this visit."""
    plan = item.stage.variant.plan
    if plan.patient_id != visit.patient_id:
        raise DomainError(_l("This plan item is of another patient's plan."), field="plan_item")
    if item.deleted_at is not None or item.removed or not item.stage.variant.chosen:
        raise DomainError(_l("This item is not in the patient's chosen plan."), field="plan_item")
    if plan.status not in ("accepted", "in_progress"):
        raise DomainError(_l("The plan is not accepted: it is not carried out yet."), field="plan_item")
    if item.performed_at is not None:
        raise DomainError(_l("This plan item is already performed."), field="plan_item")
    return plan


def _follow_plan(session, actor, plan, now):
    """accepted → in progress with the first item; completed with the last."""
    if plan.status == "accepted":
        start_plan(session, plan, actor)
    variant = next(v for v in plan.variants if v.chosen and v.deleted_at is None)
    items = [i for s in variant.stages if s.deleted_at is None for i in s.items
             if i.deleted_at is None and not i.removed]
    if items and all(i.performed_at is not None for i in items):
        complete_plan(session, plan, actor, now=now)


def _quantity(quantity):
    quantity = 1 if quantity in (None, "") else quantity
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        quantity = 0
    bounds.require(bounds.int_problem(quantity, 1, MAX_QUANTITY), "quantity")
    return quantity


def _policy(session, visit, plan, day):
    if plan is not None:
        return plan.policy if plan.payer_kind == "insurance" else None
    return session.execute(
        select(InsurancePolicy).where(
            InsurancePolicy.patient_id == visit.patient_id, InsurancePolicy.deleted_at.is_(None),
            InsurancePolicy.in_force(day),
        ).order_by(InsurancePolicy.valid_from.desc()).limit(1)
    ).scalar_one_or_none()


def _insured(session, visit, plan, plan_item, service, day):
    if plan_item is not None and plan_item.self_paid:
        return False
    policy = _policy(session, visit, plan, day)
    return policy is not None and policy.in_force(day) and service in policy.program.services


def _insurer(session, visit, performed):
    item = performed.plan_item
    plan = item.stage.variant.plan if item is not None else None
    return _policy(session, visit, plan, local_day(visit.clinic, visit.starts_at)).company

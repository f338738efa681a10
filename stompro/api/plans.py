"""Treatment plans: building one from the chart, reading it, editing items,
presenting it and recording the patient's choice. Every answer that changes
a plan returns the whole plan as planning.services.plan_json shapes it."""
from flask import Response, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.access import record_access
from ..catalog.models import Service
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, PLANNING
from ..patients.models import InsurancePolicy
from ..planning.builder import build_plan
from ..planning.models import PlanItem, PlanStage
from ..planning.printout import printout_pdf
from ..planning.services import (
    add_item, choose_variant, load_plan, plan_json, present_plan, remove_item,
)
from ..records import live_row
from . import bp
from .auth import current_staff, requires_roles
from .chart import patient_or_404
from .errors import ApiError, rejected, service_write
from .payload import flag, json_object

PLAN_READERS = PLANNING | {ADMINISTRATOR, CASHIER}
PLAN_WRITERS = PLANNING
ID = "int(max=2147483647)"  # ids are 32-bit integers
PLAN_URL = f"/plans/<{ID}:plan_id>"
ITEM_FIELDS = ("stage_id", "service_code", "tooth", "surfaces", "quantity", "self_paid")


def _plan_or_404(plan_id):
    plan = load_plan(db.session, plan_id)
    if plan is None:
        raise ApiError(404, _l("There is no plan #%(id)s.", id=plan_id))
    return plan


@bp.post(f"/patients/<{ID}:patient_id>/plans")
@requires_roles(PLAN_WRITERS)
def create_plan(patient_id):
    patient = patient_or_404(patient_id)
    body = json_object(allowed=("payer",)) if request.get_data() else {}
    payer = _payer(body.get("payer", "self"))
    with service_write():
        plan = build_plan(db.session, patient, current_staff(), payer=payer)
    return plan_json(load_plan(db.session, plan.id)), 201


def _payer(payer):
    """None for a self-paid plan, else the insurance policy with that id."""
    if payer in (None, "self"):
        return None
    if isinstance(payer, bool) or not isinstance(payer, int):
        raise ApiError(422, fields={"payer": _l("The payer is “self” or the id of the patient's insurance policy.")})
    policy = live_row(db.session, InsurancePolicy, payer)
    if policy is None:
        raise ApiError(422, fields={"payer": _l("There is no insurance policy #%(id)s.", id=payer)})
    return policy  # build_plan checks that it is the patient's and valid today


@bp.get(PLAN_URL)
@requires_roles(PLAN_READERS)
def show_plan(plan_id):
    plan = _plan_or_404(plan_id)
    record_access(db.session, current_staff(), plan.patient_id, "plan", channel="api")
    return plan_json(plan)


@bp.post(f"{PLAN_URL}/items")
@requires_roles(PLAN_WRITERS)
def add_plan_item(plan_id):
    plan = _plan_or_404(plan_id)
    body = json_object(allowed=ITEM_FIELDS)
    stage, service = _stage_of(plan, body.get("stage_id")), _service(body.get("service_code"))
    with service_write():
        add_item(
            db.session, stage, service, current_staff(),
            tooth=body.get("tooth"),
            surfaces=body.get("surfaces") or "",
            quantity=body.get("quantity", 1),
            self_paid=flag(body, "self_paid"),
        )
    return plan_json(plan), 201


def _stage_of(plan, stage_id):
    stage = live_row(db.session, PlanStage, stage_id) if isinstance(stage_id, int) and not isinstance(stage_id, bool) else None
    if stage is None or stage.variant.plan_id != plan.id:
        raise ApiError(422, fields={"stage_id": _l("Give the id of a stage of this plan.")})
    return stage


def _service(code):
    service = db.session.execute(select(Service).where(Service.code == code)).scalar_one_or_none() if isinstance(code, str) else None
    if service is None:
        raise ApiError(422, fields={"service_code": _l("Give the code of a service of the price list, such as TH-XR.")})
    return service


@bp.post(f"{PLAN_URL}/items/<{ID}:item_id>/remove")
@requires_roles(PLAN_WRITERS)
def remove_plan_item(plan_id, item_id):
    plan = _plan_or_404(plan_id)
    item = db.session.get(PlanItem, item_id)
    if item is None or item.deleted_at is not None or item.stage.variant.plan_id != plan.id:
        raise ApiError(404, _l("Plan #%(plan)s has no item #%(id)s.", plan=plan_id, id=item_id))
    justification = json_object(allowed=("justification",)).get("justification")
    if not isinstance(justification, (str, type(None))):
        raise ApiError(422, fields={"justification": _l("The justification is text.")})
    with service_write():
        remove_item(db.session, item, current_staff(), justification)
    return plan_json(plan)


@bp.post(f"{PLAN_URL}/present")
@requires_roles(PLANNING)
def present(plan_id):
    plan = _plan_or_404(plan_id)
    with service_write():
        present_plan(db.session, plan, current_staff())
    return plan_json(plan)


@bp.post(f"{PLAN_URL}/choose")
@requires_roles(PLANNING)
def choose(plan_id):
    plan = _plan_or_404(plan_id)
    tier = json_object(allowed=("variant",)).get("variant")
    with service_write():
        choose_variant(db.session, plan, tier, current_staff())
    return plan_json(plan)


@bp.get(f"{PLAN_URL}/printout.pdf")
@requires_roles(PLAN_READERS)
def printout(plan_id):
    plan = _plan_or_404(plan_id)
    record_access(db.session, current_staff(), plan.patient_id, "plan", channel="api")
    which = request.args.get("which", "all")
    try:
        pdf = printout_pdf(db.session, plan, which)
    except DomainError as error:
        raise rejected(error) from None
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="plan-{plan.id}.pdf"'})

"""The rules of a treatment plan once it is built: editing items and stages,
totals, the status flow, frozen prices, protocol and insurance rules.

A plan moves draft → presented → accepted → in progress → completed, or is
declined with a reason. Presenting freezes the prices: every item takes its
price from the price list valid that day, and later changes to the price list
leave the plan alone until someone re-prices it explicitly (reprice_plan).

Nothing is deleted: a removed item stays, with who removed it, when and why;
a mandatory protocol step is only removed by a doctor or a coordinator with a
written justification of at least MIN_JUSTIFICATION characters.

On an insured plan the insured part holds only services of the policy's
program; anything else is added as self-paid and totalled apart.

A stage's *visit — problem — solution* is the builder's words in every
language until a person writes their own (stage_explanation); a plan's
number of visits is counted in one place (visit_count); and a plan is read
only while its patient's record is live (load_plan)."""
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..bounds import MAX_INT, bounded_id
from ..catalog.models import STAGE_KINDS, TIER_LABELS, TIERS
from ..catalog.prices import current_price_list, prices_by_service
from ..chart.teeth import normalize_surfaces, validate_tooth
from ..db import utcnow
from ..errors import DomainError, NotAllowed
from ..i18n import current_language, localized
from ..org.roles import COORDINATOR, DOCTOR
from ..patients.models import InsurancePolicy, Patient
from ..timefmt import to_local
from .models import PlanItem, PlanStage, PlanVariant, TreatmentPlan

MIN_JUSTIFICATION = 15
MANDATORY_REMOVERS = frozenset({DOCTOR, COORDINATOR})
# Completed and declined plans are closed; everything before can still change.
EDITABLE = ("draft", "presented", "accepted", "in_progress")
# Once the patient has agreed to the prices they are not recomputed.
REPRICEABLE = ("draft", "presented")
CHOOSABLE = ("presented", "accepted")
DECLINABLE = ("draft", "presented", "accepted")
ZERO = Decimal("0.00")
UNCHANGED = object()

CLOSED_MESSAGES = {
    "completed": _l("The plan is completed and can no longer be changed."),
    "declined": _l("The plan was declined and can no longer be changed."),
}


# --- reading ------------------------------------------------------------------


def load_plan(session, plan_id):
    """A live plan of a live patient with everything its screen, its JSON
    and its printout read — patient, policy, variants, stages, items with
    their services — in five queries; None when there is no such plan, or
    its patient was deleted (the plan goes with the patient's record: the
    panel and the API both answer 404). What the session already holds of it
    is refreshed."""
    if bounded_id(plan_id) is None:
        return None
    return session.execute(
        select(TreatmentPlan)
        .join(TreatmentPlan.patient)
        .where(TreatmentPlan.id == plan_id, TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .options(
            contains_eager(TreatmentPlan.patient),
            joinedload(TreatmentPlan.policy).joinedload(InsurancePolicy.program),
            selectinload(TreatmentPlan.variants)
            .selectinload(PlanVariant.stages)
            .options(
                joinedload(PlanStage.specialty),
                selectinload(PlanStage.items).options(
                    joinedload(PlanItem.service), joinedload(PlanItem.target_condition)
                ),
            ),
        )
        .execution_options(populate_existing=True)
    ).unique().scalar_one_or_none()


def live_variants(plan):
    return [variant for variant in plan.variants if variant.deleted_at is None]


def live_stages(variant):
    """The variant's stages in their order (positions may have just changed)."""
    return sorted((s for s in variant.stages if s.deleted_at is None), key=lambda s: s.position)


def active_items(stage):
    """The items of a stage that count: neither removed nor deleted."""
    return [item for item in stage.items if not item.removed and item.deleted_at is None]


def stage_explanation(stage):
    """The stage's *visit — problem — solution* as every screen, printout and
    API answer shows it: what a person wrote (``explanation``), else the
    builder's words (``explanation_generated``) in the current language —
    English, else any language the builder wrote, when that one is missing.
    Stages written before the builder kept its words in every language hold
    their text in ``explanation`` and keep showing it."""
    if stage.explanation:
        return stage.explanation
    generated = stage.explanation_generated or {}
    return generated.get(current_language()) or generated.get("en") or next(iter(generated.values()), "")


def visit_count(variant, today=None):
    """How many times the patient comes for ``variant`` — the one count the
    plan screen and the printout both show.

    A visit is a day: each live stage falls on its planned date, else on the
    date ``schedule.estimated_dates`` gives it from ``today`` (default: the
    clinic's today), and stages on one day make one visit — a parallel stage
    beside the stage it runs with (a hygienist and a therapist the same
    day), or two stages booked for the same day. Every stage is a visit of
    its own otherwise, whatever its kind: an examination or a consultation
    brings the patient in like a treatment does."""
    from .schedule import clinic_today, estimated_dates  # schedule.py builds on this module
    dates = estimated_dates(live_stages(variant), today or clinic_today())
    return len({day for day, _ in dates.values()})


def is_insured(plan):
    return plan.payer_kind == "insurance"


def line_amount(item):
    return item.price * item.quantity


@dataclass(frozen=True)
class VariantTotals:
    """``insured`` is what the insurer pays (zero on a self-paid plan);
    ``self_paid`` is what the patient pays; together they make ``total``."""

    total: Decimal
    insured: Decimal
    self_paid: Decimal


@dataclass(frozen=True)
class PlanTotals:
    """Totals by variant id and by stage id; removed items do not count."""

    variants: dict
    stages: dict

    def variant(self, variant):
        return self.variants[variant.id]

    def stage(self, stage):
        return self.stages[stage.id]


def plan_totals(plan):
    """The money of every variant and stage of ``plan``, from its items."""
    variants, stages = {}, {}
    insured_plan = is_insured(plan)
    for variant in live_variants(plan):
        total = insured = ZERO
        for stage in live_stages(variant):
            stage_total = ZERO
            for item in active_items(stage):
                amount = line_amount(item)
                stage_total += amount
                if insured_plan and not item.self_paid:
                    insured += amount
            stages[stage.id] = stage_total
            total += stage_total
        variants[variant.id] = VariantTotals(total=total, insured=insured, self_paid=total - insured)
    return PlanTotals(variants=variants, stages=stages)


def removed_items(session):
    """Every item taken out of a plan, newest removal first: the owner's
    review of what was removed, by whom and why."""
    return session.execute(
        select(PlanItem)
        .where(PlanItem.removed.is_(True), PlanItem.deleted_at.is_(None))
        .options(
            joinedload(PlanItem.stage).joinedload(PlanStage.variant).joinedload(PlanVariant.plan).joinedload(TreatmentPlan.patient),
            joinedload(PlanItem.service),
            joinedload(PlanItem.removed_by),
        )
        .order_by(PlanItem.removed_at.desc(), PlanItem.id.desc())
    ).scalars().all()


# --- items ----------------------------------------------------------------------


def add_item(session, stage, service, actor, tooth=None, surfaces="", quantity=1, self_paid=False):
    """Add ``service`` to ``stage`` at the price of the plan's price list.

    On an insured plan a service outside the policy's program is refused
    unless ``self_paid``; on a self-paid plan every item is the patient's
    anyway, so the flag is not kept."""
    plan = _editable_plan(stage.variant)
    if stage.deleted_at is not None:
        raise DomainError(_l("This stage was removed from the plan."), field="stage_id")
    if not service.active:
        raise DomainError(_l("%(service)s is no longer offered.", service=localized(service)), field="service_code")
    tooth, surfaces = _placement(service, tooth, surfaces)
    quantity = _quantity(quantity)
    self_paid = bool(self_paid) and is_insured(plan)
    if is_insured(plan) and not self_paid:
        _require_covered(plan, service)
    price = prices_by_service(session, _price_list_of(session, plan)).get(service.id)
    if price is None:
        raise DomainError(
            _l("%(service)s has no price in the plan's price list.", service=localized(service)), field="service_code"
        )
    item = PlanItem(
        stage=stage,
        tooth=tooth,
        surfaces=surfaces,
        service=service,
        quantity=quantity,
        price=price,
        target_condition=service.target_condition,
        mandatory=False,
        self_paid=self_paid,
    )
    session.add(item)
    session.flush()
    return item


def remove_item(session, item, actor, justification=None, now=None):
    """Take ``item`` out of its plan, keeping it with who, when and why.

    A mandatory protocol step needs a doctor or a coordinator and a
    justification of at least MIN_JUSTIFICATION characters; without one
    nothing is removed."""
    _editable_plan(item.stage.variant)
    if item.removed:
        raise DomainError(_l("This item was already removed."))
    text = (justification or "").strip()
    if item.mandatory:
        if not actor.has_any_role(MANDATORY_REMOVERS):
            raise NotAllowed(_l("Only a doctor or a coordinator may remove a mandatory step of a protocol."))
        if len(text) < MIN_JUSTIFICATION:
            raise DomainError(
                _l(
                    "“%(service)s” is a mandatory step of the protocol: write why it is removed "
                    "(at least %(count)s characters). Nothing was removed.",
                    service=localized(item.service),
                    count=MIN_JUSTIFICATION,
                ),
                field="justification",
            )
    item.removed = True
    item.removal_justification = text
    item.removed_by = actor
    item.removed_at = now or utcnow()
    session.flush()
    return item


def move_item(session, item, stage):
    """Move ``item`` to another stage of the same variant."""
    _editable_plan(stage.variant)
    if item.removed or item.deleted_at is not None:
        raise DomainError(_l("A removed item cannot be moved."))
    if stage.deleted_at is not None:
        raise DomainError(_l("This stage was removed from the plan."), field="stage_id")
    if stage.variant_id != item.stage.variant_id:
        raise DomainError(_l("An item moves only between stages of its own variant."), field="stage_id")
    item.stage = stage
    session.flush()
    return item


def _placement(service, tooth, surfaces):
    """The tooth and surfaces an item of ``service`` may carry."""
    name = localized(service)
    if service.scope == "mouth":
        if tooth not in (None, "") or surfaces:
            raise DomainError(_l("%(service)s is done for the whole mouth: give no tooth.", service=name), field="tooth")
        return None, ""
    if tooth in (None, ""):
        raise DomainError(_l("%(service)s needs a tooth.", service=name), field="tooth")
    tooth = validate_tooth(tooth)
    surfaces = normalize_surfaces(surfaces)
    if service.scope == "tooth" and surfaces:
        raise DomainError(
            _l("%(service)s is done on the whole tooth: give no surfaces.", service=name), field="surfaces"
        )
    return tooth, surfaces


MAX_QUANTITY = 999


def _quantity(quantity):
    if not _whole(quantity, 1) or quantity > MAX_QUANTITY:
        raise DomainError(_l("The quantity is a whole number from 1 to %(max)s.", max=MAX_QUANTITY), field="quantity")
    return quantity


def _require_covered(plan, service):
    program = plan.policy.program
    if service not in program.services:
        raise DomainError(
            _l(
                "%(service)s is not covered by the insurance program “%(program)s”; "
                "it can only be added as self-paid.",
                service=localized(service),
                program=program.name,
            ),
            field="service_code",
        )


# --- stages -------------------------------------------------------------------------


def add_stage(
    session, variant, kind="treatment", specialty=None, position=None, parallel=False,
    min_gap_days=0, duration_min=30, explanation=None, planned_date=None,
):
    """A new stage at ``position`` (default: last), waiting for the stage
    before it."""
    _editable_plan(variant)
    stages = live_stages(variant)
    position = len(stages) + 1 if position is None else _position(position, len(stages) + 1)
    stage = PlanStage(position=position, specialty=specialty)
    _set_stage_fields(stage, kind=kind, parallel=parallel, min_gap_days=min_gap_days,
                      duration_min=duration_min, explanation=explanation, planned_date=planned_date)
    stage.variant = variant
    session.add(stage)
    chained = _chained(stages)
    stages.insert(position - 1, stage)
    chained.add(stage)
    _renumber(session, stages, chained)
    session.flush()
    return stage


def move_stage(session, stage, new_position):
    """Put ``stage`` at ``new_position`` (1 = first). Stages that waited for
    the stage just before them keep doing so in the new order; a dependency
    that would point forward is replaced by the stage just before."""
    _editable_plan(stage.variant)
    if stage.deleted_at is not None:
        raise DomainError(_l("This stage was removed from the plan."))
    stages = live_stages(stage.variant)
    new_position = _position(new_position, len(stages))
    chained = _chained(stages)
    stages.remove(stage)
    stages.insert(new_position - 1, stage)
    _renumber(session, stages, chained)
    session.flush()
    return stage


def remove_stage(session, stage):
    """Remove an empty stage; the stages that waited for it now wait for the
    stage before."""
    _editable_plan(stage.variant)
    if active_items(stage):
        raise DomainError(_l("Move or remove the items of this stage first."))
    stages = live_stages(stage.variant)
    chained = _chained(stages)
    stages.remove(stage)
    stage.deleted_at = utcnow()
    for other in stages:
        if other.depends_on is stage:
            chained.add(other)
    _renumber(session, stages, chained)
    session.flush()


def update_stage(
    session, stage, *, kind=UNCHANGED, specialty=UNCHANGED, parallel=UNCHANGED, min_gap_days=UNCHANGED,
    duration_min=UNCHANGED, explanation=UNCHANGED, planned_date=UNCHANGED,
):
    """Change what the screen lets a person edit on a stage; fields not
    given stay as they are."""
    _editable_plan(stage.variant)
    _set_stage_fields(stage, kind=kind, specialty=specialty, parallel=parallel, min_gap_days=min_gap_days,
                      duration_min=duration_min, explanation=explanation, planned_date=planned_date)
    session.flush()
    return stage


def _set_stage_fields(stage, **fields):
    """Check every given field first, then set them: a refusal changes nothing."""
    fields = {name: value for name, value in fields.items() if value is not UNCHANGED}
    if "kind" in fields and fields["kind"] not in STAGE_KINDS:
        raise DomainError(_l("Unknown kind of stage."), field="kind")
    if "min_gap_days" in fields and not _whole(fields["min_gap_days"], 0):
        raise DomainError(_l("The gap is a whole number of days, 0 or more."), field="min_gap_days")
    if "duration_min" in fields and not _whole(fields["duration_min"], 1):
        raise DomainError(_l("The duration is a whole number of minutes, 1 or more."), field="duration_min")
    if "parallel" in fields:
        fields["parallel"] = bool(fields["parallel"])
    if "explanation" in fields:
        fields["explanation"] = _persons_explanation(stage, fields["explanation"])
    for name, value in fields.items():
        setattr(stage, name, value)


def _persons_explanation(stage, text):
    """What ``explanation`` keeps of an edit: None — the builder's words
    stand, in each reader's language — for an empty text or one that is the
    builder's own words in some language (saved unchanged); else the text."""
    text = (text or "").strip()
    if not text or text in (stage.explanation_generated or {}).values():
        return None
    return text


def _whole(value, minimum):
    """A whole number from ``minimum`` up to what a column holds."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_INT


def _position(position, last):
    if not _whole(position, 1) or position > last:
        raise DomainError(_l("The position is a number from 1 to %(last)s.", last=last), field="position")
    return position


def _chained(stages):
    """The stages that wait for the stage right before them (the first
    stage: that waits for nothing)."""
    return {s for index, s in enumerate(stages) if s.depends_on is (stages[index - 1] if index else None)}


def _renumber(session, stages, chained):
    """Positions 1..n in list order; a stage that waited for its predecessor,
    or whose dependency is no longer earlier, waits for the new predecessor.

    Dependencies change in two flushes: the unit of work orders a
    self-referencing update by both the old and the new links, and a
    reordering can make them circular together."""
    relinked = {}
    for index, stage in enumerate(stages):
        stage.position = index + 1
        previous = stages[index - 1] if index else None
        if (stage in chained or stage.depends_on not in (None, *stages[:index])) and stage.depends_on is not previous:
            relinked[stage] = previous
    if relinked:
        for stage in relinked:
            stage.depends_on = None
        session.flush()
        for stage, previous in relinked.items():
            stage.depends_on = previous


# --- status and prices --------------------------------------------------------------------


def present_plan(session, plan, actor, now=None):
    """draft → presented: freeze every item's price from the price list valid
    today. Needs at least one item."""
    _require_status(plan, ("draft",), _l("Only a draft plan can be presented."))
    if not any(active_items(stage) for variant in live_variants(plan) for stage in live_stages(variant)):
        raise DomainError(_l("A plan without items cannot be presented."))
    now = now or utcnow()
    _apply_price_list(session, plan, now)
    plan.status = "presented"
    plan.presented_at = now
    if plan.coordinator is None and actor.has_any_role({COORDINATOR}):
        plan.coordinator = actor
    session.flush()
    return plan


def reprice_plan(session, plan, actor, now=None):
    """Re-read every item's price from the price list valid today, on
    purpose: a presented plan otherwise keeps the prices it was shown with."""
    _require_status(plan, REPRICEABLE, _l("The prices of an accepted plan are agreed; they are not recomputed."))
    _apply_price_list(session, plan, now or utcnow())
    session.flush()
    return plan


def choose_variant(session, plan, tier, actor, now=None):
    """The patient's choice: exactly one variant chosen, the plan accepted,
    and the payment schedule of that variant written."""
    from .schedule import save_payment_schedule  # schedule.py builds on this module
    if tier not in TIERS:
        raise DomainError(_l("A variant is premium, optimal or economy."), field="variant")
    if plan.status == "draft":
        raise DomainError(_l("Present the plan to the patient before choosing a variant."))
    _require_status(plan, CHOOSABLE, _l("A variant can no longer be chosen for this plan."))
    variant = next((v for v in live_variants(plan) if v.tier == tier), None)
    if variant is None:
        raise DomainError(_l("This plan has no %(tier)s variant.", tier=TIER_LABELS[tier]), field="variant")
    if not any(active_items(stage) for stage in live_stages(variant)):
        raise DomainError(_l("The %(tier)s variant has no items.", tier=TIER_LABELS[tier]), field="variant")
    for other in live_variants(plan):
        other.chosen = other is variant
    plan.status = "accepted"
    plan.accepted_at = now or utcnow()
    session.flush()
    save_payment_schedule(session, plan)
    return variant


def decline_plan(session, plan, actor, reason, now=None):
    """The patient declined the plan; the reason is required."""
    _require_status(plan, DECLINABLE, _l("Treatment has begun or ended; the plan can no longer be declined."))
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Write why the patient declined the plan."), field="reason")
    plan.status = "declined"
    plan.decline_reason = text
    session.flush()
    return plan


def start_plan(session, plan, actor):
    """accepted → in progress: the first stage of the chosen variant begins."""
    _require_status(plan, ("accepted",), _l("Only an accepted plan can be started."))
    plan.status = "in_progress"
    session.flush()
    return plan


def complete_plan(session, plan, actor, now=None):
    """in progress → completed."""
    _require_status(plan, ("in_progress",), _l("Only a plan in progress can be completed."))
    plan.status = "completed"
    plan.completed_at = now or utcnow()
    session.flush()
    return plan


def _apply_price_list(session, plan, now):
    """Price every item from the price list valid on the clinic's date of
    ``now``; a service missing from it stops everything before any change."""
    price_list = current_price_list(session, to_local(now).date())
    prices = prices_by_service(session, price_list)
    items = [item for variant in live_variants(plan) for stage in live_stages(variant) for item in active_items(stage)]
    missing = sorted({item.service.code for item in items if item.service_id not in prices})
    if missing:
        raise DomainError(
            _l("The price list “%(name)s” has no price for %(codes)s.", name=price_list.name, codes=", ".join(missing))
        )
    plan.price_list = price_list
    for item in items:
        item.price = prices[item.service_id]


def _price_list_of(session, plan):
    return plan.price_list or current_price_list(session, to_local(utcnow()).date())




def _editable_plan(variant):
    plan = variant.plan
    if plan.status not in EDITABLE:
        raise DomainError(CLOSED_MESSAGES[plan.status])
    return plan


def _require_status(plan, allowed, message):
    if plan.status in CLOSED_MESSAGES and plan.status not in allowed:
        raise DomainError(CLOSED_MESSAGES[plan.status])
    if plan.status not in allowed:
        raise DomainError(message)


# --- JSON ----------------------------------------------------------------------------------


def money(amount):
    """Decimal → "12345.00", the API's spelling of money."""
    return f"{amount:.2f}"


def plan_json(plan):
    """The plan in the API's shape; removed items are left out."""
    totals = plan_totals(plan)
    return {
        "id": plan.id,
        "status": plan.status,
        "payer": plan.policy_id if is_insured(plan) else "self",
        "variants": [
            {
                "tier": variant.tier,
                "total": money(totals.variant(variant).total),
                "chosen": variant.chosen,
                "stages": [_stage_json(stage, totals) for stage in live_stages(variant)],
            }
            for variant in live_variants(plan)
        ],
    }


def _stage_json(stage, totals):
    return {
        "id": stage.id,
        "position": stage.position,
        "kind": stage.kind,
        "specialty": stage.specialty.code if stage.specialty else None,
        "depends_on": stage.depends_on_id,
        "parallel": stage.parallel,
        "min_gap_days": stage.min_gap_days,
        "duration_min": stage.duration_min,
        "explanation": stage_explanation(stage) or None,  # the caller's language, unless a person wrote it
        "total": money(totals.stage(stage)),
        "items": [
            {
                "id": item.id,
                "tooth": item.tooth,
                "surfaces": item.surfaces,
                "service_code": item.service.code,
                "service_name": localized(item.service),
                "quantity": item.quantity,
                "price": money(item.price),
                "mandatory": item.mandatory,
                "target_condition": item.target_condition.code if item.target_condition else None,
                "self_paid": item.self_paid,
            }
            for item in active_items(stage)
        ],
    }

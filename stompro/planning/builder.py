"""The plan builder: from the patient's current chart, the clinic's protocols,
the price list and the payer to a draft plan in three variants, each staged
into visits.

How one variant is built:

1. Problems — the chart entries whose condition needs treatment, one per
   tooth and condition (surface entries of one tooth merged into one). A
   wisdom or milk tooth is not replaced once lost: its missing entry is no
   problem, and an extraction protocol ends before the implant and the crown.
2. Blocks — each problem's protocol for the variant's tier, cut where a
   healing gap begins (``ProtocolStep.min_gap_days``): a block after a gap
   waits for the block before it. Examinations that open a protocol (an X-ray
   or CT before treatment) form a block of their own for the first stage.
3. Phases — each block takes the clinic's phase of treatment from its
   principal service (the one that changes the tooth, else the costliest):
   examination and diagnostics → hygiene and periodontology → therapy and
   endodontics → extractions → surgery and implants → orthodontics →
   prosthetics. A block never comes before the phase of the block it waits
   for; a block waiting for one of the same phase goes to a later round of
   that phase. So all implants are placed together after the extractions have
   healed, and all crowns come together at the end.
4. Stages — the blocks of one phase, round and specialty are packed into
   visits of at most MAX_VISIT_MINUTES, a quadrant's teeth together; a
   whole-mouth service is planned once per variant, in its earliest stage.

Each stage's *visit — problem — solution* is written in every language the
panel speaks (``plan_stage.explanation_generated``), so that each reader
reads it in theirs; ``plan_stage.explanation`` stays empty for a person's
own words (``services.stage_explanation`` shows whichever stands).

A stage after a healing gap depends on the stage holding the step it waits
for, with that gap; any other stage depends on the stage before it. Such a
stage is marked ``parallel`` when both it and the stage before it are
conservative work (hygiene, periodontology, therapy, endodontics) by different
specialists: a hygienist and a therapist need not wait for each other.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby, takewhile

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..audit.recorder import insert_audited
from ..bulk import reserve_ids
from ..catalog.models import TIERS, Protocol, ProtocolStep, Service
from ..catalog.prices import current_price_list, prices_by_service
from ..chart.models import Condition
from ..chart.services import current_chart
from ..chart.teeth import normalize_surfaces, replaced_when_lost
from ..db import utcnow
from ..errors import DomainError
from ..org.models import LANGUAGES, Specialty
from ..patients.models import InsurancePolicy, insurance_program_service
from ..timefmt import to_local
from .models import PlanItem, PlanStage, PlanVariant, TreatmentPlan

DIAGNOSTICS, HYGIENE, THERAPY, EXTRACTION, SURGERY, ORTHODONTICS, PROSTHETICS = range(7)
PHASE_OF_SPECIALTY = {
    "diagnostics": DIAGNOSTICS,
    "hygiene": HYGIENE,
    "periodontology": HYGIENE,
    "therapy": THERAPY,
    "endodontics": THERAPY,
    "surgery": SURGERY,
    "implantology": SURGERY,
    "orthodontics": ORTHODONTICS,
    "prosthetics": PROSTHETICS,
}
# Phases whose stages different specialists can carry out side by side.
INDEPENDENT_PHASES = {HYGIENE, THERAPY}
MISSING = "missing"
# Specialties whose steps replace a lost tooth.
REPLACEMENT_SPECIALTIES = {"implantology", "prosthetics"}
# A visit is split before a step that no longer fits only once it holds a step
# at least this long: anaesthesia, a rubber dam or an X-ray stay with the
# treatment they prepare.
SUBSTANTIAL_MINUTES = 30
# A stage's explanation, written by the builder in every language.
EXPLANATION = _l("Visit %(number)s — %(problems)s — %(solutions)s")


# --- the builder ---------------------------------------------------------------------


def build_plan(session, patient, author, payer=None, now=None, max_visit_minutes=None):
    """A draft plan for ``patient`` in three variants (premium, optimal,
    economy) from the current chart, the active protocols and the price list
    valid today, priced and staged into visits.

    ``payer``: None or "self" — the patient pays; an InsurancePolicy of the
    patient — services outside its program are planned as self-paid items.
    Raises DomainError when nothing in the chart needs treatment.

    The plan and its variants go through the ORM; their stages and items
    (hundreds of rows) are written in bulk and audited. They are read from
    the database when first touched: ``load_plan`` reads them all at once."""
    moment = now or utcnow()
    today = to_local(moment).date()
    policy = _insurance_policy(patient, payer, today)
    problems = _problems(current_chart(session, patient.id))
    if not problems:
        raise DomainError(_l("Nothing in the chart needs treatment: record the findings first."))
    price_list = current_price_list(session, today)
    catalog = _Catalog(
        protocols=_active_protocols(session, {problem.condition.id for problem in problems}),
        prices=prices_by_service(session, price_list),
        covered=_covered_services(session, policy) if policy else None,
        visit_minutes=max_visit_minutes or current_app.config["MAX_VISIT_MINUTES"],
        explanations=_explanation_formats(),
    )
    plan = TreatmentPlan(
        patient=patient,
        clinic_id=patient.home_clinic_id,
        author=author,
        coordinator_id=patient.coordinator_id,
        payer_kind="insurance" if policy else "self",
        policy=policy,
        price_list=price_list,
        status="draft",
        created_at=moment,
    )
    stages = [stage for tier in TIERS for stage in _build_variant(PlanVariant(plan=plan, tier=tier), problems, catalog)]
    if not stages:
        raise DomainError(_l("No active protocol treats what the chart shows; the owner sets up the protocols."))
    session.add(plan)
    session.flush()  # ids of the plan and its variants; on SQLite it also takes the write lock reserve_ids needs
    _write_stages(session, stages)
    return plan


def _insurance_policy(patient, payer, today):
    if payer is None or payer == "self":
        return None
    if not isinstance(payer, InsurancePolicy):
        raise DomainError(_l("The payer is the patient or one of the patient's insurance policies."), field="payer")
    if payer.patient_id != patient.id or payer.deleted_at is not None:
        raise DomainError(_l("This insurance policy is not the patient's."), field="payer")
    if not payer.in_force(today):
        raise DomainError(
            _l("Insurance policy %(number)s is not valid today.", number=payer.number), field="payer"
        )
    return payer


@dataclass(frozen=True)
class _Problem:
    """What needs treatment on one tooth: a condition and its surfaces."""

    tooth: int
    condition: Condition
    surfaces: str


def _problems(entries):
    surfaces = defaultdict(str)
    conditions = {}
    for entry in entries:
        if entry.condition.needs_treatment and (entry.condition.code != MISSING or replaced_when_lost(entry.tooth)):
            surfaces[entry.tooth, entry.condition.id] += entry.surfaces
            conditions[entry.condition.id] = entry.condition
    return [
        _Problem(tooth, conditions[condition_id], normalize_surfaces("".join(sorted(set(letters)))))
        for (tooth, condition_id), letters in surfaces.items()
    ]


@dataclass
class _Catalog:
    protocols: dict  # (condition_id, tier) → Protocol with steps and services
    prices: dict  # service_id → Decimal
    covered: set | None  # service ids of the insurance program, None when self-paid
    visit_minutes: int
    explanations: dict  # language → the translated EXPLANATION


def _active_protocols(session, condition_ids):
    """Active protocols of these conditions with their steps, services and
    specialties: two queries, whatever the number of protocols."""
    protocols = session.execute(
        select(Protocol)
        .where(Protocol.active, Protocol.condition_id.in_(condition_ids))
        .options(
            selectinload(Protocol.steps)
            .joinedload(ProtocolStep.service)
            .options(joinedload(Service.specialty), joinedload(Service.target_condition))
        )
    ).scalars()
    return {(protocol.condition_id, protocol.tier): protocol for protocol in protocols}


def _covered_services(session, policy):
    return set(
        session.execute(
            select(insurance_program_service.c.service_id).where(
                insurance_program_service.c.program_id == policy.program_id
            )
        ).scalars()
    )


@dataclass(eq=False)
class _Draft:
    """A future plan item; ``treats`` are the problems it answers (a
    whole-mouth service planned once answers the problems of every tooth)."""

    step: ProtocolStep
    tooth: int | None
    surfaces: str
    quantity: int
    treats: list

    @property
    def service(self):
        return self.step.service

    @property
    def minutes(self):
        return self.service.duration_min * self.quantity


@dataclass(eq=False)
class _Block:
    """Steps of one problem's protocol done without a healing gap between them."""

    problem: _Problem
    gap: int
    drafts: list
    after: "_Block | None"
    phase: int = DIAGNOSTICS
    round: int = 0
    specialty: object = None
    stage: "_Stage | None" = None  # the stage holding its last step


@dataclass(eq=False)
class _Stage:
    """A future plan_stage row and its item rows (``_item``)."""

    variant: PlanVariant
    position: int
    phase: int
    specialty: Specialty
    kind: str
    duration_min: int
    depends_on: "_Stage | None"
    min_gap_days: int
    parallel: bool
    explanation: dict = field(default_factory=dict)  # language → text
    items: list = field(default_factory=list)
    id: int | None = None

    def row(self):
        return {
            "id": self.id,
            "variant_id": self.variant.id,
            "position": self.position,
            "kind": self.kind,
            "specialty_id": self.specialty.id,
            "depends_on_id": self.depends_on.id if self.depends_on else None,
            "parallel": self.parallel,
            "min_gap_days": self.min_gap_days,
            "duration_min": self.duration_min,
            "explanation": None,  # no person has written one yet
            "explanation_generated": self.explanation,
        }


def _build_variant(variant, problems, catalog):
    """The variant's stages, in their order."""
    blocks = []
    for problem in sorted(problems, key=lambda p: (p.tooth, p.condition.sort_order)):
        protocol = catalog.protocols.get((problem.condition.id, variant.tier))
        if protocol is not None:
            blocks.extend(_protocol_blocks(problem, protocol, catalog))
    for block in blocks:  # in protocol order: a block's predecessor is placed first
        _place(block, catalog.prices)
    groups = defaultdict(list)
    for block in blocks:
        groups[block.phase, block.round, block.specialty.sort_order, block.specialty.id].append(block)
    _plan_whole_mouth_once([groups[key] for key in sorted(groups)])
    stages = []
    for key in sorted(groups):
        group = [block for block in groups[key] if block.drafts]
        if group:
            _add_stages(variant, stages, group, catalog)
    return stages


def _protocol_blocks(problem, protocol, catalog):
    blocks = []
    for step in _steps_for(problem, protocol):
        if not blocks or step.min_gap_days > 0:
            blocks.append(_Block(problem, step.min_gap_days, [], blocks[-1] if blocks else None))
        if step.service_id in catalog.prices and step.service.active:
            blocks[-1].drafts.append(_draft(problem, step))
    for block in blocks:  # a block whose services are all off the price list is skipped
        while block.after is not None and not block.after.drafts:
            block.after = block.after.after
    blocks = [block for block in blocks if block.drafts]
    first = blocks[0] if blocks else None
    opening = list(takewhile(lambda d: d.service.stage_kind != "treatment", first.drafts)) if first else []
    if 0 < len(opening) < len(first.drafts):
        first.drafts = first.drafts[len(opening):]
        blocks.insert(0, _Block(problem, 0, opening, None))
    return blocks


def _steps_for(problem, protocol):
    """The protocol's steps, without those replacing a tooth that is not
    replaced once it is lost."""
    if replaced_when_lost(problem.tooth):
        return protocol.steps
    steps, lost = [], False
    for step in protocol.steps:
        if not (lost and step.service.specialty.code in REPLACEMENT_SPECIALTIES):
            steps.append(step)
        target = step.service.target_condition
        lost = lost or (target is not None and target.code == MISSING)
    return steps


def _draft(problem, step):
    service = step.service
    if service.scope == "mouth":
        return _Draft(step, None, "", step.quantity, [problem])
    if service.scope == "surface" and problem.surfaces:
        # One filling per affected surface, as the protocols say.
        return _Draft(step, problem.tooth, problem.surfaces, step.quantity * len(problem.surfaces), [problem])
    return _Draft(step, problem.tooth, "", step.quantity, [problem])


def _place(block, prices):
    """The block's phase, round of that phase and specialty."""
    principal = _principal(block.drafts, prices).service
    before = block.after
    if before is None and all(d.service.stage_kind != "treatment" for d in block.drafts):
        phase = DIAGNOSTICS
    elif principal.target_condition is not None and principal.target_condition.code == MISSING:
        phase = EXTRACTION
    elif before is not None and all(d.service.target_condition_id is None for d in block.drafts):
        phase = before.phase  # follow-up of the same work: sutures out, a dressing changed
    else:
        phase = PHASE_OF_SPECIALTY.get(principal.specialty.code, THERAPY)
    if before is not None and before.phase >= phase:
        phase = before.phase
        block.round = before.round + 1
    block.phase = phase
    block.specialty = principal.specialty


def _principal(drafts, prices):
    """The step that changes the tooth (the costliest of them), else the costliest."""
    changing = [d for d in drafts if d.service.target_condition_id is not None] or drafts
    return max(changing, key=lambda d: prices[d.service.id] * d.quantity)


def _plan_whole_mouth_once(groups):
    """A whole-mouth service (hygiene, a CT of the jaws, a consultation) is
    planned once per variant, where it first comes; it answers every problem."""
    first = {}
    for group in groups:
        for block in group:
            kept = []
            for draft in block.drafts:
                if draft.tooth is None and draft.service.id in first:
                    first[draft.service.id].treats.extend(draft.treats)
                    continue
                if draft.tooth is None:
                    first[draft.service.id] = draft
                kept.append(draft)
            block.drafts = kept


def _add_stages(variant, stages, group, catalog):
    """Pack a group's blocks into visits and append them to ``stages``."""
    phase, specialty = group[0].phase, group[0].specialty
    previous = stages[-1] if stages else None
    waiting = [block for block in group if _stage_before(block) is not None]
    for index, visit in enumerate(_visits(group, catalog.visit_minutes)):
        drafts = _once_per_tooth([draft for _, draft in visit])
        if index == 0 and waiting:
            depends_on = max((_stage_before(block) for block in waiting), key=lambda s: s.position)
            gap, parallel = max(block.gap for block in waiting), False
        else:
            depends_on, gap = previous, 0
            parallel = bool(
                index == 0
                and previous is not None
                and phase in INDEPENDENT_PHASES
                and previous.phase in INDEPENDENT_PHASES
                and previous.specialty is not specialty
            )
        stage = _Stage(
            variant=variant,
            position=len(stages) + 1,
            phase=phase,
            specialty=specialty,
            kind=_stage_kind(visit),
            duration_min=sum(draft.minutes for draft in drafts),
            depends_on=depends_on,
            min_gap_days=gap,
            parallel=parallel,
            explanation=_explanation(len(stages) + 1, drafts, catalog),
            items=[_item(draft, catalog) for draft in drafts],
        )
        for block, _ in visit:
            block.stage = stage
        stages.append(stage)
        previous = stage


def _once_per_tooth(drafts):
    """A visit does a service on a tooth once, even when two of the tooth's
    problems call for it (one anaesthesia, one rubber dam for a fracture and
    a caries of the same tooth)."""
    kept = {}
    for draft in drafts:
        key = (draft.service.id, draft.tooth, draft.surfaces)
        if draft.tooth is not None and key in kept:
            kept[key].treats.extend(draft.treats)
        else:
            kept[key] = draft
    return list(kept.values())


def _stage_before(block):
    """The stage holding the last step this block waits for (after its gap)."""
    before = block.after
    while before is not None and before.stage is None:
        before = before.after
    return before.stage if before is not None else None


def _visits(group, limit):
    """[[(block, draft)]]: visits of at most ``limit`` minutes. A quadrant's
    teeth move to a fresh visit together when they fit in one; a tooth's steps
    that do not fit in what is left of a visit start a fresh one, and are
    split before a step that no longer fits (a single service longer than a
    visit makes a visit of its own) — but only while a step that changes the
    tooth is still to come: what finishes a treatment (a dressing, a bone
    graft, a healing abutment) stays in its visit even past the limit."""
    visits, minutes = [[]], 0

    def start_fresh_for(needed, unless_longer_than_a_visit):
        nonlocal minutes
        if visits[-1] and minutes + needed > limit and not (unless_longer_than_a_visit and needed > limit):
            visits.append([])
            minutes = 0

    ordered = sorted(group, key=lambda block: block.problem.tooth)
    for _, quadrant in groupby(ordered, key=lambda block: block.problem.tooth // 10):
        quadrant = list(quadrant)
        start_fresh_for(sum(draft.minutes for block in quadrant for draft in block.drafts), True)
        for block in quadrant:
            start_fresh_for(sum(draft.minutes for draft in block.drafts), False)
            last_change = max(
                (i for i, draft in enumerate(block.drafts) if draft.service.target_condition_id is not None),
                default=-1,
            )
            for index, draft in enumerate(block.drafts):
                substantial = any(d.minutes >= SUBSTANTIAL_MINUTES for _, d in visits[-1])
                if substantial and index <= last_change and minutes + draft.minutes > limit:
                    visits.append([])
                    minutes = 0
                visits[-1].append((block, draft))
                minutes += draft.minutes
    return visits


def _stage_kind(visit):
    kinds = {draft.service.stage_kind for _, draft in visit}
    if "treatment" in kinds:
        return "treatment"
    return "examination" if "examination" in kinds else "consultation"


def _item(draft, catalog):
    """A future plan_item row (its stage and id are added when it is written)."""
    service = draft.service
    return {
        "tooth": draft.tooth,
        "surfaces": draft.surfaces,
        "service_id": service.id,
        "quantity": draft.quantity,
        "price": catalog.prices[service.id],
        "target_condition_id": service.target_condition_id,
        "mandatory": draft.step.mandatory,
        "self_paid": catalog.covered is not None and service.id not in catalog.covered,
    }


def _write_stages(session, stages):
    """The stages and their items in bulk (``stompro.bulk``): ids first, so a
    stage can name the stage it depends on in the same batch."""
    for stage, stage_id in zip(stages, reserve_ids(session, PlanStage.__table__, len(stages))):
        stage.id = stage_id
    items = [dict(item, stage_id=stage.id) for stage in stages for item in stage.items]
    for item, item_id in zip(items, reserve_ids(session, PlanItem.__table__, len(items))):
        item["id"] = item_id
    insert_audited(session, PlanStage.__table__, [stage.row() for stage in stages])
    insert_audited(session, PlanItem.__table__, items)


def _explanation_formats():
    """EXPLANATION translated into every language, once per plan: the
    builder writes each stage's words in all of them, and each reader sees
    theirs (``services.stage_explanation``)."""
    formats = {}
    for language in LANGUAGES:
        with force_locale(language):
            formats[language] = str(EXPLANATION)
    return formats


def _name(row, language):
    """``row.name_ru`` or ``row.name_en`` (``i18n.localized`` for a given language)."""
    return getattr(row, f"name_{language}", None) or row.name_en or ""


def _title(service, language):
    """“Composite filling, per surface (optimal)” of “… (optimal): light-cured composite”:
    the materials are on the item itself."""
    return _name(service, language).split(":")[0].strip()


def _explanation(position, drafts, catalog):
    """{"en": "Visit 3 — caries 16, 26 — Composite filling, per surface (optimal)", "ru": …}:
    the builder's words in every language; people may write their own later."""
    teeth = {}
    for draft in drafts:
        for problem in draft.treats:
            found = teeth.setdefault(problem.condition, [])
            if problem.tooth not in found:
                found.append(problem.tooth)
    conditions = [
        (condition, ", ".join(str(tooth) for tooth in sorted(found)))
        for condition, found in sorted(teeth.items(), key=lambda pair: pair[0].sort_order)
    ]
    prices = catalog.prices
    changing = [d for d in drafts if d.service.target_condition_id is not None]
    principal = changing or [_principal(drafts, prices)]
    ranked = sorted(principal, key=lambda d: -prices[d.service.id] * d.quantity)
    return {
        language: form % {
            "number": position,
            "problems": "; ".join(f"{_name(condition, language).lower()} {found}" for condition, found in conditions),
            "solutions": ", ".join(dict.fromkeys(_title(draft.service, language) for draft in ranked)),
        }
        for language, form in catalog.explanations.items()
    }

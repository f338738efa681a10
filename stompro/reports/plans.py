"""Treatment-plan figures: how presented plans convert, and the accepted
plans whose patients are lost (the task book's rule, tasks.lost)."""
import statistics
from collections import defaultdict
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal, select

from ..db import utcnow
from ..patients.models import Patient
from ..planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from ..tasks.lost import RUNNING_PLANS, plan_state
from .scope import dialect_of, group_key
from .table import Chart, Column, assemble, money, ratio

CONVERSION_GROUPS = ("month", "coordinator", "doctor", "variant", "branch")
LOST_GROUPS = ("stage", "branch", "coordinator", "doctor", "month")
STARTED = ("in_progress", "completed")


def plan_branch(scope):
    """SQL: a plan's branch — its own, else its patient's home branch (else,
    for the network, the first branch, so no plan falls out of the total)."""
    fallback = literal(scope.clinic_ids[0]) if scope.network and scope.clinic_ids else None
    return func.coalesce(TreatmentPlan.clinic_id, Patient.home_clinic_id, fallback)


def conversion(session, scope, group_by="month"):
    """Plans presented in the range (by their presentation day) and how far
    they got: accepted, started (in progress or completed), completed,
    declined. Money presented is the chosen variant once one is chosen,
    else the optimal one (the clinic's recommendation), else the dearest;
    money accepted is the chosen variant of the accepted plans. Days to
    accept: the median from presentation to acceptance."""
    branch = plan_branch(scope)
    coordinator = func.coalesce(TreatmentPlan.coordinator_id, Patient.coordinator_id)
    key = group_key(group_by, {"coordinator": coordinator, "doctor": TreatmentPlan.author_id, "branch": branch,
                               "variant": literal(None)},
                    lambda: scope.bucket(TreatmentPlan.presented_at, branch, dialect_of(session), group_by))
    presented = (
        select(TreatmentPlan.id, key, TreatmentPlan.status, TreatmentPlan.presented_at, TreatmentPlan.accepted_at)
        .join(Patient, Patient.id == TreatmentPlan.patient_id)
        .where(TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None),
               TreatmentPlan.presented_at.is_not(None), scope.during(TreatmentPlan.presented_at, branch))
    )
    plans = session.execute(presented).all()
    variants = _variant_totals(session, presented.with_only_columns(TreatmentPlan.id))
    groups = defaultdict(_Conversion)
    total = _Conversion()
    for plan_id, group, status, presented_at, accepted_at in plans:
        chosen, presented_money = _presented(variants.get(plan_id, []))
        if group_by == "variant":
            group = chosen[0] if chosen and accepted_at else None
        for tally in (groups[group], total):
            tally.add(status, presented_at, accepted_at, presented_money, chosen[1] if chosen else Decimal(0))
    columns = [
        Column("presented", _l("Plans presented"), "count"),
        Column("accepted", _l("Plans accepted"), "count"),
        Column("started", _l("Plans started"), "count"),
        Column("completed", _l("Plans completed"), "count"),
        Column("declined", _l("Plans declined"), "count", better="down"),
        Column("acceptance", _l("Accepted, %"), "percent"),
        Column("money_presented", _l("Money presented"), "money"),
        Column("money_accepted", _l("Money accepted"), "money"),
        Column("money_acceptance", _l("Money accepted, %"), "percent"),
        Column("days_to_accept", _l("Days to accept (median)"), "days", better="down"),
    ]
    values = {group: tally.figures() for group, tally in groups.items()}
    return assemble(session, "conversion", _l("Plan conversion"), group_by, columns, values, total.figures(),
                    chart=Chart(("presented", "accepted", "completed")), sort_by="presented")


class _Conversion:
    def __init__(self):
        self.counts = defaultdict(int)
        self.money_presented = Decimal(0)
        self.money_accepted = Decimal(0)
        self.days = []

    def add(self, status, presented_at, accepted_at, presented_money, chosen_money):
        self.counts["presented"] += 1
        self.money_presented += presented_money
        if accepted_at is not None:
            self.counts["accepted"] += 1
            self.money_accepted += chosen_money
            self.days.append((accepted_at - presented_at).total_seconds() / 86400)
        self.counts["started"] += status in STARTED
        self.counts["completed"] += status == "completed"
        self.counts["declined"] += status == "declined"

    def figures(self):
        counts = self.counts
        median = statistics.median(self.days) if self.days else None
        return {
            **{name: counts[name] for name in ("presented", "accepted", "started", "completed", "declined")},
            "acceptance": ratio(counts["accepted"], counts["presented"]),
            "money_presented": money(self.money_presented),
            "money_accepted": money(self.money_accepted),
            "money_acceptance": ratio(self.money_accepted, self.money_presented),
            "days_to_accept": None if median is None else Decimal(str(round(max(median, 0), 1))),
        }


def _variant_totals(session, plan_ids):
    """{plan id: [(tier, chosen, total of its live items not removed)]} of
    the plans ``plan_ids`` (a SELECT of ids)."""
    found = defaultdict(list)
    amount = func.coalesce(func.sum(PlanItem.quantity * PlanItem.price), 0)
    rows = session.execute(
        select(PlanVariant.plan_id, PlanVariant.tier, PlanVariant.chosen, amount)
        .outerjoin(PlanStage, and_(PlanStage.variant_id == PlanVariant.id, PlanStage.deleted_at.is_(None)))
        .outerjoin(PlanItem, and_(PlanItem.stage_id == PlanStage.id, PlanItem.deleted_at.is_(None),
                                  PlanItem.removed.is_(False)))
        .where(PlanVariant.deleted_at.is_(None), PlanVariant.plan_id.in_(plan_ids.scalar_subquery()))
        .group_by(PlanVariant.id, PlanVariant.plan_id, PlanVariant.tier, PlanVariant.chosen)
    )
    for plan_id, tier, chosen, total in rows:
        found[plan_id].append((tier, chosen, money(total)))
    return found


def _presented(variants):
    """((chosen tier, its money) or None, the money presented) of a plan's variants."""
    chosen = next(((tier, total) for tier, is_chosen, total in variants if is_chosen), None)
    if chosen:
        return chosen, chosen[1]
    optimal = next((total for tier, _, total in variants if tier == "optimal"), None)
    return None, optimal if optimal is not None else max((total for *_, total in variants), default=Decimal(0))


def lost_patients(session, scope, group_by="stage", now=None):
    """Of the plans accepted in the range and still running (accepted or in
    progress), the ones whose patient is lost now — the task book's rule
    (tasks.lost.plan_state) decides — and the money left in them (the chosen
    variant's items not yet performed). By stage: the specialty of the first
    stage with work left, where the patients stopped."""
    now = now or utcnow()
    branch = plan_branch(scope)
    coordinator = func.coalesce(TreatmentPlan.coordinator_id, Patient.coordinator_id)
    # a running plan without its acceptance time counts from its creation
    accepted = func.coalesce(TreatmentPlan.accepted_at, TreatmentPlan.created_at)
    key = group_key(group_by, {"coordinator": coordinator, "doctor": TreatmentPlan.author_id, "branch": branch,
                               "stage": literal(None)},
                    lambda: scope.bucket(accepted, branch, dialect_of(session), group_by))
    plans = session.execute(
        select(TreatmentPlan.id, TreatmentPlan.patient_id, key, plan_state(now))
        .join(Patient, Patient.id == TreatmentPlan.patient_id)
        .where(TreatmentPlan.deleted_at.is_(None), TreatmentPlan.status.in_(RUNNING_PLANS),
               Patient.deleted_at.is_(None), scope.during(accepted, branch))
    ).all()
    # by stage every running plan has its place (so the rows add up); else the lost ones' money is all we need
    left = _work_left(session, [plan_id for plan_id, _, _, state in plans if group_by == "stage" or state == "lost"])
    groups = defaultdict(lambda: {"running": 0, "lost": set(), "plans": 0, "money": Decimal(0)})
    total = {"running": 0, "lost": set(), "plans": 0, "money": Decimal(0)}
    for plan_id, patient_id, group, state in plans:
        stage, amount = left.get(plan_id, (None, Decimal(0)))
        if group_by == "stage":
            group = stage
        for tally in (groups[group], total):
            tally["running"] += 1
            if state == "lost":
                tally["lost"].add(patient_id)
                tally["plans"] += 1
                tally["money"] += amount
    columns = [
        Column("running", _l("Running plans"), "count"),
        Column("lost_plans", _l("Lost plans"), "count", better="down"),
        Column("lost_patients", _l("Lost patients"), "count", better="down"),
        Column("lost_share", _l("Lost, %"), "percent", better="down"),
        Column("money", _l("Money left in them"), "money", better="down"),
    ]
    values = {group: _lost_figures(tally) for group, tally in groups.items()}
    return assemble(session, "lost_patients", _l("Lost patients"), group_by, columns, values, _lost_figures(total),
                    chart=Chart(("money",)), sort_by="money")


def _lost_figures(tally):
    return {"running": tally["running"], "lost_plans": tally["plans"], "lost_patients": len(tally["lost"]),
            "lost_share": ratio(tally["plans"], tally["running"]), "money": money(tally["money"])}


def _work_left(session, plan_ids):
    """{plan id: (the specialty of its chosen variant's first stage with work
    left, the money of the work left)}."""
    found = {}
    for start in range(0, len(plan_ids), 900):
        rows = session.execute(
            select(PlanVariant.plan_id, PlanStage.position, PlanStage.specialty_id,
                   func.sum(PlanItem.quantity * PlanItem.price))
            .join(PlanStage, PlanStage.variant_id == PlanVariant.id)
            .join(PlanItem, PlanItem.stage_id == PlanStage.id)
            .where(PlanVariant.plan_id.in_(plan_ids[start:start + 900]), PlanVariant.chosen.is_(True),
                   PlanVariant.deleted_at.is_(None), PlanStage.deleted_at.is_(None), PlanItem.deleted_at.is_(None),
                   PlanItem.removed.is_(False), PlanItem.performed_at.is_(None))
            .group_by(PlanVariant.plan_id, PlanStage.id, PlanStage.position, PlanStage.specialty_id)
            .order_by(PlanVariant.plan_id, PlanStage.position)
        )
        for plan_id, _, specialty_id, amount in rows:
            stage, total = found.get(plan_id, (specialty_id, Decimal(0)))
            found[plan_id] = (stage, total + money(amount))
    return found

"""The payment schedule: the patient's amount per visit, its date (planned or
estimated from the order and the healing gaps) and per calendar month."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from stompro.billing.models import PaymentSchedule
from stompro.catalog.models import Service
from stompro.chart.services import record_findings
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.org.models import Specialty
from stompro.patients.models import InsurancePolicy
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from stompro.planning import builder
from stompro.planning.schedule import payment_schedule, save_payment_schedule
from stompro.planning.services import (
    add_stage, choose_variant, plan_totals, present_plan, remove_stage, visit_count,
)

TODAY = date(2027, 1, 10)


def service(code):
    return db.session.execute(select(Service).filter_by(code=code)).scalar_one()


def specialty(code):
    return db.session.execute(select(Specialty).filter_by(code=code)).scalar_one()


# (specialty, depends on the stage at index, parallel, min gap days, items as
# (service code, tooth, price, quantity, self-paid)) — an implant case:
# hygiene, extraction of 46, the implant 60 days later with a hygiene visit
# beside it, the crown 90 days after the implant.
IMPLANT_CASE = (
    ("hygiene", None, False, 0, [("HYG-PRO-O", None, "5000.00", 1, False)]),
    ("surgery", 0, False, 0, [("SURG-EXT", 46, "6000.00", 1, False)]),
    ("implantology", 1, False, 60, [("IMPL-P", 46, "150000.00", 1, True)]),
    ("hygiene", 2, True, 0, [("HYG-FLUOR", None, "1000.00", 2, True)]),
    ("prosthetics", 2, False, 90, [("IMPL-ABUT-P", 46, "50000.00", 1, True)]),
)


def build_plan(patient, author, stages=IMPLANT_CASE, policy=None, tiers=("optimal",), chosen=None):
    """A plan made with the ORM: the same stages in every tier given."""
    plan = TreatmentPlan(
        patient=patient, author=author, coordinator=author, status="presented",
        payer_kind="insurance" if policy else "self", policy=policy,
    )
    db.session.add(plan)
    for tier in tiers:
        variant = PlanVariant(plan=plan, tier=tier, chosen=tier == chosen)
        db.session.add(variant)
        made = []
        for position, (code, depends, parallel, gap, items) in enumerate(stages, start=1):
            stage = PlanStage(
                variant=variant, position=position, kind="treatment", specialty=specialty(code),
                depends_on=made[depends] if depends is not None else None, parallel=parallel,
                min_gap_days=gap, duration_min=60, explanation=f"Визит {position} — {code} — решение {position}",
            )
            db.session.add(stage)
            for service_code, tooth, price, quantity, self_paid in items:
                stage.items.append(PlanItem(
                    tooth=tooth, service=service(service_code), price=Decimal(price),
                    quantity=quantity, self_paid=self_paid,
                ))
            made.append(stage)
    db.session.flush()
    return plan


@pytest.fixture
def implant_plan(app, patient, doctor):
    return build_plan(patient, doctor)


def test_dates_follow_the_order_the_healing_gaps_and_parallel_visits(implant_plan):
    schedule = payment_schedule(db.session, implant_plan, today=TODAY)
    assert [s.date for s in schedule.stages] == [
        date(2027, 1, 10),  # today
        date(2027, 1, 17),  # a week after the first visit
        date(2027, 3, 18),  # 60 days after the extraction
        date(2027, 3, 18),  # beside the implant surgery
        date(2027, 6, 16),  # 90 days after the implant
    ]
    assert not any(s.planned for s in schedule.stages)
    assert visit_count(schedule.variant, TODAY) == len({s.date for s in schedule.stages}) == 4  # the hygienist beside the surgeon: one day
    assert schedule.span_months == 6


def test_a_planned_date_wins_and_the_visits_after_it_follow(implant_plan):
    extraction = implant_plan.variants[0].stages[1]
    extraction.planned_date = date(2027, 2, 1)
    schedule = payment_schedule(db.session, implant_plan, today=TODAY)
    assert schedule.stages[1].date == date(2027, 2, 1) and schedule.stages[1].planned
    assert schedule.stages[2].date == date(2027, 4, 2)
    assert schedule.stages[4].date == date(2027, 7, 1)


def test_a_stage_over_the_threshold_is_flagged(app, implant_plan):
    assert app.config["PAYMENT_FLAG_THRESHOLD"] == 100000
    schedule = payment_schedule(db.session, implant_plan, today=TODAY)
    assert [s.flagged for s in schedule.stages] == [False, False, True, False, False]
    lower = payment_schedule(db.session, implant_plan, today=TODAY, threshold=40000)
    assert [s.flagged for s in lower.stages] == [False, False, True, False, True]


def test_months_are_calendar_months_holding_their_visits(implant_plan):
    schedule = payment_schedule(db.session, implant_plan, today=date(2027, 1, 28))
    # 28 Jan, 4 Feb (a week later), 5 Apr (+60), 5 Apr (beside), 4 Jul (+90)
    assert [(m.month, m.amount, m.flagged) for m in schedule.months] == [
        (date(2027, 1, 1), Decimal("5000.00"), False),
        (date(2027, 2, 1), Decimal("6000.00"), False),
        (date(2027, 4, 1), Decimal("152000.00"), True),
        (date(2027, 7, 1), Decimal("50000.00"), False),
    ]
    assert sum(m.amount for m in schedule.months) == schedule.total == Decimal("213000.00")


def test_removed_and_deleted_items_are_not_paid_for(implant_plan, doctor):
    implant = implant_plan.variants[0].stages[2].items[0]
    implant.removed, implant.removal_justification, implant.removed_by = True, "Пациент передумал ставить имплант", doctor
    schedule = payment_schedule(db.session, implant_plan, today=TODAY)
    assert schedule.stages[2].amount == 0 and not schedule.stages[2].flagged
    assert schedule.total == Decimal("63000.00")


def test_an_insured_plan_schedules_only_what_the_patient_pays(app, doctor):
    policy = db.session.execute(select(InsurancePolicy).limit(1)).scalar_one()
    plan = build_plan(policy.patient, doctor, policy=policy)
    schedule = payment_schedule(db.session, plan, today=TODAY)
    # The hygiene visit and the extraction are the insurer's; the rest is self-paid.
    assert [s.amount for s in schedule.stages] == [0, 0, Decimal("150000.00"), Decimal("2000.00"), Decimal("50000.00")]
    assert schedule.total == plan_totals(plan).variant(schedule.variant).self_paid


def test_the_variant_is_the_chosen_one_else_optimal(app, patient, doctor):
    plan = build_plan(patient, doctor, tiers=("premium", "optimal", "economy"))
    assert payment_schedule(db.session, plan, today=TODAY).variant.tier == "optimal"
    plan.variants[2].chosen = True
    assert payment_schedule(db.session, plan, today=TODAY).variant.tier == "economy"


def test_demo_schedules_add_up_to_what_the_patient_pays(app):
    plans = db.session.execute(select(TreatmentPlan)).scalars().all()
    assert any(p.payer_kind == "insurance" for p in plans)
    for plan in plans:
        totals = plan_totals(plan)
        for variant in plan.variants:
            schedule = payment_schedule(db.session, plan, variant, today=TODAY)
            assert schedule.total == totals.variant(variant).self_paid, plan
            assert sum((m.amount for m in schedule.months), Decimal(0)) == schedule.total
            assert all(m.month.day == 1 for m in schedule.months)
            dates = [s.date for s in schedule.stages]
            unplanned = [s.date for s in schedule.stages if not s.planned]
            assert all(day >= TODAY for day in unplanned)
            assert len(dates) == len([s for s in variant.stages if s.deleted_at is None])


def test_saving_writes_the_chosen_variant_and_replaces_old_rows(app, patient, doctor):
    plan = build_plan(patient, doctor, tiers=("premium", "optimal"), chosen="premium")
    save_payment_schedule(db.session, plan, today=TODAY)
    plan.variants[0].chosen, plan.variants[1].chosen = False, True
    rows = save_payment_schedule(db.session, plan, today=TODAY)
    stored = db.session.execute(select(PaymentSchedule).filter_by(plan_id=plan.id)).scalars().all()
    assert sorted(r.id for r in stored) == sorted(r.id for r in rows)
    assert {r.variant_id for r in stored} == {plan.variants[1].id}
    assert sum(r.amount for r in stored) == Decimal("213000.00")
    assert [(r.due_month, r.flagged) for r in stored if r.flagged] == [(date(2027, 3, 1), True)]


def test_saving_needs_a_chosen_variant(app, patient, doctor):
    plan = build_plan(patient, doctor)
    with pytest.raises(DomainError, match="Choose a variant"):
        save_payment_schedule(db.session, plan, today=TODAY)


def test_choosing_a_variant_writes_its_payment_schedule(app, doctor, patient):
    record_findings(db.session, patient, doctor, [{"tooth": 16, "surfaces": "O", "condition": "caries"}])
    plan = builder.build_plan(db.session, patient, doctor)
    present_plan(db.session, plan, doctor)
    choose_variant(db.session, plan, "optimal", doctor)
    rows = db.session.execute(select(PaymentSchedule).where(PaymentSchedule.plan_id == plan.id)).scalars().all()
    expected = payment_schedule(db.session, plan)
    assert rows and {r.variant.tier for r in rows} == {"optimal"}
    assert sum(r.amount for r in rows) == sum(stage.amount for stage in expected.stages)


def test_visits_are_the_days_the_patient_comes(implant_plan):
    """Five stages: the parallel hygiene visit shares the implant surgery's
    day. A consultation brings the patient in like any visit; two stages
    booked for one day are one visit."""
    variant = implant_plan.variants[0]
    assert len(variant.stages) == 5 and visit_count(variant, TODAY) == 4
    consultation = add_stage(db.session, variant, kind="consultation", specialty=specialty("surgery"), duration_min=20)
    assert visit_count(variant, TODAY) == 5
    extraction = variant.stages[1]
    extraction.planned_date = consultation.planned_date = date(2027, 2, 1)
    assert visit_count(variant, TODAY) == 4
    variant.stages[3].parallel = False  # the hygiene visit on a day of its own
    assert visit_count(variant, TODAY) == 5
    extraction.planned_date = None
    remove_stage(db.session, consultation)  # a removed stage is no visit
    assert visit_count(variant, TODAY) == 5

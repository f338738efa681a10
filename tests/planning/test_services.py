"""The rules of a plan after it is built: protocol enforcement on removal,
the insurance program, frozen prices, the status flow, editing stages."""
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from stompro.catalog.models import TIERS, PriceListItem, Service
from stompro.catalog.prices import current_price_list
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.patients.models import InsurancePolicy
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from stompro.planning.services import (
    NotAllowed, add_item, add_stage, choose_variant, complete_plan, decline_plan, load_plan, move_item, move_stage,
    plan_json, plan_totals, present_plan, remove_item, remove_stage, removed_items, reprice_plan, stage_explanation,
    start_plan, update_stage,
)
from stompro.records import soft_delete

from ..conftest import staff_by_login

JUSTIFICATION = "Аллергия на латекс, изоляция валиками"


# --- helpers shared with tests/api/test_plans.py ---------------------------------


def service(code):
    return db.session.execute(select(Service).where(Service.code == code)).scalar_one()


def list_price(item):
    """The price of the item's service in the plan's price list, as stored now."""
    return db.session.execute(
        select(PriceListItem.price).where(
            PriceListItem.price_list_id == item.stage.variant.plan.price_list_id,
            PriceListItem.service_id == item.service_id,
        )
    ).scalar_one()


def demo_plan_with_mandatory_item(status="draft"):
    """A demo plan (self-paid) in ``status`` and one of its mandatory items."""
    return db.session.execute(
        select(TreatmentPlan, PlanItem)
        .join(PlanVariant, PlanVariant.plan_id == TreatmentPlan.id)
        .join(PlanStage, PlanStage.variant_id == PlanVariant.id)
        .join(PlanItem, PlanItem.stage_id == PlanStage.id)
        .where(
            TreatmentPlan.status == status,
            TreatmentPlan.payer_kind == "self",
            PlanItem.mandatory.is_(True),
            PlanItem.removed.is_(False),
        )
        .order_by(TreatmentPlan.id, PlanItem.id)
        .limit(1)
    ).one()


def demo_plan(status):
    return db.session.execute(
        select(TreatmentPlan).where(TreatmentPlan.status == status).order_by(TreatmentPlan.id).limit(1)
    ).scalar_one()


def make_plan(patient, policy=None, status="draft"):
    """A plan with three variants of one empty stage each, priced by the demo price list."""
    price_list_id = current_price_list(db.session, date.today()).id
    plan = TreatmentPlan(
        patient=patient,
        author=staff_by_login("doctor"),
        payer_kind="insurance" if policy else "self",
        policy=policy,
        price_list_id=price_list_id,
        status=status,
    )
    for tier in TIERS:
        PlanStage(variant=PlanVariant(plan=plan, tier=tier), position=1, kind="treatment", duration_min=60)
    db.session.add(plan)
    db.session.flush()
    return plan


def first_stage(plan, tier="optimal"):
    variant = next(v for v in plan.variants if v.tier == tier)
    return min(variant.stages, key=lambda s: s.position)


def insured_plan():
    policy = db.session.execute(
        select(InsurancePolicy).where(InsurancePolicy.deleted_at.is_(None)).order_by(InsurancePolicy.id).limit(1)
    ).scalar_one()
    return make_plan(policy.patient, policy=policy)


def variant_total(plan, tier):
    variant = next(v for v in plan.variants if v.tier == tier)
    return plan_totals(plan).variant(variant)


# --- protocol enforcement --------------------------------------------------------


@pytest.mark.parametrize("justification", [None, "", "слишком ко", "   коротко      "])
def test_a_mandatory_item_is_not_removed_without_a_justification_of_15_characters(app, justification):
    plan, item = demo_plan_with_mandatory_item()
    total_before = plan_totals(plan).stage(item.stage)
    with pytest.raises(DomainError) as refused:
        remove_item(db.session, item, staff_by_login("coordinator"), justification)
    assert "mandatory step of the protocol" in str(refused.value)
    assert "at least 15 characters" in str(refused.value)
    assert refused.value.field == "justification"
    db.session.expire_all()
    assert (item.removed, item.removal_justification, item.removed_by_id, item.removed_at) == (False, None, None, None)
    assert plan_totals(plan).stage(item.stage) == total_before


def test_with_a_justification_it_is_removed_with_who_and_when_and_the_owner_sees_it(app, client, auth):
    plan, item = demo_plan_with_mandatory_item()
    coordinator = staff_by_login("coordinator")
    stage_total = plan_totals(plan).stage(item.stage)
    remove_item(db.session, item, coordinator, f"  {JUSTIFICATION}  ")
    db.session.commit()
    db.session.expire_all()
    assert item.removed
    assert item.removal_justification == JUSTIFICATION
    assert item.removed_by_id == coordinator.id
    assert item.removed_at is not None and item.removed_at.tzinfo is not None
    assert plan_totals(plan).stage(item.stage) == stage_total - item.price * item.quantity
    listed_ids = [i["id"] for v in plan_json(plan)["variants"] for s in v["stages"] for i in s["items"]]
    assert item.id not in listed_ids
    assert removed_items(db.session)[0] == item

    auth.as_role("owner")
    page = client.get("/admin/plan_removals/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert JUSTIFICATION in text
    assert coordinator.last_name in text
    assert plan.patient.last_name in text


@pytest.mark.parametrize("role", ["doctor", "coordinator", "administrator", "cashier", "call_center"])
def test_only_the_owner_opens_the_removals_list(client, auth, role):
    auth.as_role(role)
    assert client.get("/admin/plan_removals/").status_code == 403


def test_the_removals_list_shows_only_removed_items(app, client, auth):
    _, kept = demo_plan_with_mandatory_item()
    auth.as_role("owner")
    assert client.get(f"/admin/plan_removals/details/?id={kept.id}").status_code == 404  # not a removal: no such record here
    text = client.get("/admin/plan_removals/").get_data(as_text=True)
    for item in removed_items(db.session):
        assert item.removal_justification[:40] in text


def test_the_owner_may_not_remove_a_mandatory_step(app):
    _, item = demo_plan_with_mandatory_item()
    with pytest.raises(NotAllowed):
        remove_item(db.session, item, staff_by_login("owner"), JUSTIFICATION)
    assert not item.removed


def test_an_optional_item_needs_no_justification(app, patient):
    plan = make_plan(patient)
    item = add_item(db.session, first_stage(plan), service("DX-XR"), staff_by_login("doctor"), tooth=36)
    remove_item(db.session, item, staff_by_login("owner"))
    assert item.removed and item.removal_justification == ""
    assert variant_total(plan, "optimal").total == Decimal("0.00")
    with pytest.raises(DomainError, match="already removed"):
        remove_item(db.session, item, staff_by_login("owner"))


# --- insurance -----------------------------------------------------------------------


def test_an_insured_plan_refuses_a_service_outside_the_program(app):
    plan = insured_plan()
    stage = first_stage(plan)
    program = plan.policy.program
    with pytest.raises(DomainError) as refused:
        add_item(db.session, stage, service("IMPL-P"), staff_by_login("doctor"), tooth=46)
    assert program.name in str(refused.value)
    assert "self-paid" in str(refused.value)
    assert refused.value.field == "service_code"
    assert db.session.scalars(select(PlanItem).where(PlanItem.stage_id == stage.id)).all() == []


def test_outside_the_program_it_is_accepted_as_self_paid_with_its_own_subtotal(app):
    plan = insured_plan()
    stage = first_stage(plan)
    doctor = staff_by_login("doctor")
    covered = add_item(db.session, stage, service("DX-XR"), doctor, tooth=46)
    implant = add_item(db.session, stage, service("IMPL-P"), doctor, tooth=46, self_paid=True)
    assert (covered.self_paid, implant.self_paid) == (False, True)
    totals = variant_total(plan, "optimal")
    assert totals.insured == covered.price
    assert totals.self_paid == implant.price
    assert totals.total == covered.price + implant.price
    assert plan_totals(plan).stage(stage) == totals.total
    items = plan_json(plan)["variants"][1]["stages"][0]["items"]
    assert [(i["service_code"], i["self_paid"]) for i in items] == [("DX-XR", False), ("IMPL-P", True)]


def test_a_self_paid_plan_has_no_insured_part(app, patient):
    plan = make_plan(patient)
    item = add_item(db.session, first_stage(plan), service("IMPL-P"), staff_by_login("doctor"), tooth=46, self_paid=True)
    assert not item.self_paid  # the whole plan is the patient's
    totals = variant_total(plan, "optimal")
    assert (totals.total, totals.insured, totals.self_paid) == (item.price, Decimal("0.00"), item.price)


# --- prices ----------------------------------------------------------------------------


def test_presenting_freezes_the_prices_and_only_repricing_changes_them(app):
    plan, item = demo_plan_with_mandatory_item()
    coordinator = staff_by_login("coordinator")
    item.price = Decimal("1.00")  # a stale draft price
    present_plan(db.session, plan, coordinator)
    db.session.commit()
    presented_price = list_price(item)
    assert item.price == presented_price
    assert plan.status == "presented" and plan.presented_at is not None

    row = db.session.execute(
        select(PriceListItem).where(PriceListItem.price_list_id == plan.price_list_id, PriceListItem.service_id == item.service_id)
    ).scalar_one()
    row.price = presented_price + 1000
    db.session.commit()
    db.session.expire_all()
    assert item.price == presented_price
    prices = {i["id"]: i["price"] for v in plan_json(plan)["variants"] for s in v["stages"] for i in s["items"]}
    assert prices[item.id] == f"{presented_price:.2f}"

    reprice_plan(db.session, plan, coordinator)
    db.session.commit()
    db.session.expire_all()
    assert item.price == presented_price + 1000


def test_an_accepted_plan_is_not_repriced(app):
    plan = demo_plan("accepted")
    with pytest.raises(DomainError, match="agreed"):
        reprice_plan(db.session, plan, staff_by_login("coordinator"))


def test_an_item_added_later_takes_the_plan_price_list(app, patient):
    plan = make_plan(patient)
    item = add_item(db.session, first_stage(plan), service("CONS-FIRST"), staff_by_login("doctor"))
    assert item.price == list_price(item)
    assert (item.tooth, item.surfaces, item.mandatory) == (None, "", False)


# --- status flow --------------------------------------------------------------------------


def test_presenting_needs_at_least_one_item(app, patient):
    plan = make_plan(patient)
    with pytest.raises(DomainError, match="without items"):
        present_plan(db.session, plan, staff_by_login("coordinator"))
    assert plan.status == "draft"


def test_choosing_marks_exactly_one_variant_and_accepts_the_plan(app):
    plan = demo_plan("presented")
    chosen = choose_variant(db.session, plan, "optimal", staff_by_login("coordinator"))
    assert chosen.tier == "optimal"
    assert [v.tier for v in plan.variants if v.chosen] == ["optimal"]
    assert plan.status == "accepted" and plan.accepted_at is not None
    choose_variant(db.session, plan, "economy", staff_by_login("coordinator"))  # the patient changes their mind
    assert [v.tier for v in plan.variants if v.chosen] == ["economy"]
    assert [v["chosen"] for v in plan_json(plan)["variants"]] == [v.tier == "economy" for v in plan.variants]


@pytest.mark.parametrize(
    "status, tier, message",
    [
        ("declined", "optimal", "declined"),
        ("draft", "optimal", "Present the plan"),
        ("completed", "optimal", "completed"),
        ("presented", "gold", "premium, optimal or economy"),
    ],
)
def test_a_variant_is_chosen_only_for_a_presented_plan(app, status, tier, message):
    plan = demo_plan(status)
    chosen_before = [v.chosen for v in plan.variants]
    with pytest.raises(DomainError, match=message):
        choose_variant(db.session, plan, tier, staff_by_login("coordinator"))
    assert plan.status == status
    assert [v.chosen for v in plan.variants] == chosen_before


def test_a_missing_variant_is_named_in_the_users_language(app):
    plan = demo_plan("presented")
    premium = next(v for v in plan.variants if v.tier == "premium")
    premium.deleted_at = premium.created_at
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        with pytest.raises(DomainError) as refused:
            choose_variant(db.session, plan, "premium", staff_by_login("coordinator"))
        assert str(refused.value.message) == "В этом плане нет варианта «Премиум»."
    assert plan.status == "presented"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_declining_needs_a_reason(app, reason):
    plan = demo_plan("presented")
    with pytest.raises(DomainError, match="why"):
        decline_plan(db.session, plan, staff_by_login("coordinator"), reason)
    assert plan.status == "presented" and plan.decline_reason is None


def test_a_declined_plan_keeps_its_reason_and_is_closed(app):
    plan, item = demo_plan_with_mandatory_item("presented")
    decline_plan(db.session, plan, staff_by_login("coordinator"), " Дорого, подумает о рассрочке ")
    db.session.commit()
    assert (plan.status, plan.decline_reason) == ("declined", "Дорого, подумает о рассрочке")
    with pytest.raises(DomainError, match="declined"):
        remove_item(db.session, item, staff_by_login("doctor"), JUSTIFICATION)
    with pytest.raises(DomainError, match="declined"):
        add_item(db.session, item.stage, service("DX-XR"), staff_by_login("doctor"), tooth=36)


def test_an_accepted_plan_is_started_then_completed(app):
    plan = demo_plan("accepted")
    coordinator = staff_by_login("coordinator")
    with pytest.raises(DomainError):
        complete_plan(db.session, plan, coordinator)
    start_plan(db.session, plan, coordinator)
    assert plan.status == "in_progress"
    complete_plan(db.session, plan, coordinator)
    assert plan.status == "completed" and plan.completed_at is not None


# --- editing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, placement, field",
    [
        ("CONS-FIRST", {"tooth": 36}, "tooth"),
        ("DX-XR", {}, "tooth"),
        ("DX-XR", {"tooth": 19}, "tooth"),
        ("DX-XR", {"tooth": 36, "surfaces": "O"}, "surfaces"),
        ("DX-XR", {"tooth": 36, "quantity": 0}, "quantity"),
    ],
)
def test_an_item_is_placed_as_its_service_requires(app, patient, code, placement, field):
    plan = make_plan(patient)
    with pytest.raises(DomainError) as refused:
        add_item(db.session, first_stage(plan), service(code), staff_by_login("doctor"), **placement)
    assert refused.value.field == field


def test_items_move_between_stages_of_one_variant_only(app, patient):
    plan = make_plan(patient)
    doctor = staff_by_login("doctor")
    item = add_item(db.session, first_stage(plan), service("DX-XR"), doctor, tooth=36)
    second = add_stage(db.session, first_stage(plan).variant, specialty=None, duration_min=40)
    move_item(db.session, item, second)
    assert item.stage is second
    totals = plan_totals(plan)
    assert (totals.stage(first_stage(plan)), totals.stage(second)) == (Decimal("0.00"), item.price)
    with pytest.raises(DomainError, match="own variant"):
        move_item(db.session, item, first_stage(plan, "premium"))


def test_moving_a_stage_keeps_the_chain_of_visits(app, patient):
    plan = make_plan(patient)
    variant = first_stage(plan).variant
    first = first_stage(plan)
    second = add_stage(db.session, variant)
    third = add_stage(db.session, variant)
    assert [(s.position, s.depends_on) for s in (first, second, third)] == [(1, None), (2, first), (3, second)]
    move_stage(db.session, third, 1)
    assert [(s.position, s.depends_on) for s in (third, first, second)] == [(1, None), (2, third), (3, first)]
    with pytest.raises(DomainError):
        move_stage(db.session, third, 4)


def test_a_stage_is_edited_field_by_field_and_removed_only_when_empty(app, patient):
    plan = make_plan(patient)
    first = first_stage(plan)
    second = add_stage(db.session, first.variant)
    third = add_stage(db.session, first.variant)
    with pytest.raises(DomainError) as refused:
        update_stage(db.session, second, explanation="Визит 2 — кариес 36 — пломба", duration_min=0)
    assert refused.value.field == "duration_min"
    assert second.explanation is None  # nothing was set
    update_stage(db.session, second, explanation="  Визит 2 — кариес 36 — пломба ", min_gap_days=7)
    assert (second.explanation, second.min_gap_days, second.duration_min) == ("Визит 2 — кариес 36 — пломба", 7, 30)
    add_item(db.session, second, service("DX-XR"), staff_by_login("doctor"), tooth=36)
    with pytest.raises(DomainError, match="items of this stage"):
        remove_stage(db.session, second)
    remove_stage(db.session, third)
    remove_stage(db.session, first)
    assert (second.position, second.depends_on) == (1, None)
    assert [s["id"] for s in plan_json(plan)["variants"][1]["stages"]] == [second.id]


# --- explanations: the builder's words in the reader's language, or a person's -------------

GENERATED = {"en": "Visit 1 — caries 36 — Composite filling", "ru": "Визит 1 — кариес 36 — Пломба"}


def in_language(language, function, *args):
    with force_locale(language):
        return function(*args)


def test_the_builders_words_follow_the_reader_until_a_person_writes_their_own(app, patient):
    stage = first_stage(make_plan(patient))
    stage.explanation_generated = dict(GENERATED)
    assert in_language("en", stage_explanation, stage) == GENERATED["en"]
    assert in_language("ru", stage_explanation, stage) == GENERATED["ru"]
    assert in_language("ru", plan_json, stage.variant.plan)["variants"][1]["stages"][0]["explanation"] == GENERATED["ru"]

    update_stage(db.session, stage, explanation="  Visit 1 — a deep caries of 36 — a filling, an X-ray after ")
    person = "Visit 1 — a deep caries of 36 — a filling, an X-ray after"
    assert stage.explanation == person
    assert stage.explanation_generated == GENERATED  # kept, for when the person's text goes
    assert in_language("en", stage_explanation, stage) == person
    assert in_language("ru", stage_explanation, stage) == person

    update_stage(db.session, stage, explanation="   ")  # emptied: the builder's words again
    assert stage.explanation is None
    assert in_language("ru", stage_explanation, stage) == GENERATED["ru"]


def test_saving_the_builders_words_unchanged_keeps_them_following_the_reader(app, patient):
    stage = first_stage(make_plan(patient))
    stage.explanation_generated = dict(GENERATED)
    update_stage(db.session, stage, explanation=GENERATED["ru"] + "\n")  # the Russian screen's text, saved as it was
    assert stage.explanation is None
    assert in_language("en", stage_explanation, stage) == GENERATED["en"]


def test_stages_written_before_the_builder_spoke_every_language_keep_their_text(app, patient):
    stage = first_stage(make_plan(patient))
    stage.explanation = "Визит 1 — кариес 36 — пломба"  # as rows made before this change hold it
    assert stage.explanation_generated is None
    assert in_language("en", stage_explanation, stage) == "Визит 1 — кариес 36 — пломба"
    assert in_language("en", plan_json, stage.variant.plan)["variants"][1]["stages"][0]["explanation"] == stage.explanation
    other = add_stage(db.session, stage.variant)  # a stage a person added and left without words
    assert in_language("ru", stage_explanation, other) == ""


def test_a_language_the_builder_did_not_write_falls_back_to_english(app, patient):
    stage = first_stage(make_plan(patient))
    stage.explanation_generated = {"en": GENERATED["en"]}
    assert in_language("ru", stage_explanation, stage) == GENERATED["en"]


# --- the patient's record: a deleted patient takes the plans along ------------------------


def test_the_plan_of_a_deleted_patient_is_not_loaded(app):
    plan = demo_plan("presented")
    assert load_plan(db.session, plan.id) is plan
    soft_delete(db.session, plan.patient)
    assert load_plan(db.session, plan.id) is None
    soft_delete(db.session, plan)
    plan.patient.deleted_at = None
    assert load_plan(db.session, plan.id) is None  # a deleted plan of a live patient neither

"""The plan builder: three variants from the chart, the protocols and the
price list, staged into visits in the clinic's order of treatment."""
from datetime import date

import pytest
from flask_babel import force_locale, refresh
from sqlalchemy import event, select

from stompro.audit.models import AuditLog
from stompro.catalog.models import Service
from stompro.catalog.prices import current_price_list, prices_by_service
from stompro.chart.services import record_findings
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.patients.models import InsuranceProgram, InsurancePolicy, Patient
from stompro.planning.builder import build_plan
from stompro.planning.services import stage_explanation

SCENARIO = [
    {"tooth": 16, "surfaces": "O", "condition": "caries"},
    {"tooth": 26, "surfaces": "MO", "condition": "caries"},
    {"tooth": 36, "surfaces": "", "condition": "pulpitis"},
    {"tooth": 46, "surfaces": "", "condition": "extraction_indicated"},
    {"tooth": 47, "surfaces": "", "condition": "missing"},
    {"tooth": 31, "surfaces": "", "condition": "calculus"},
    {"tooth": 41, "surfaces": "", "condition": "calculus"},
    {"tooth": 42, "surfaces": "", "condition": "calculus"},
]


@pytest.fixture
def scenario_plan(patient, doctor):
    record_findings(db.session, patient, doctor, SCENARIO)
    return build_plan(db.session, patient, doctor)


def items_of(variant):
    return [item for stage in variant.stages for item in stage.items]


def total(variant):
    return sum(item.price * item.quantity for item in items_of(variant))


def stages_with(variant, target, teeth=None):
    """Positions of the stages holding an item that leaves ``target`` (on one of ``teeth``)."""
    return sorted(
        {
            stage.position
            for stage in variant.stages
            for item in stage.items
            if item.target_condition is not None
            and item.target_condition.code == target
            and (teeth is None or item.tooth in teeth)
        }
    )


def earliest_day(stage):
    """Days from the start of the plan at the earliest, by the healing gaps."""
    return 0 if stage.depends_on is None else earliest_day(stage.depends_on) + stage.min_gap_days


def waits_for(stage, earlier):
    while stage.depends_on is not None:
        stage = stage.depends_on
        if stage is earlier:
            return True
    return False


def test_the_issue_scenario_gives_three_variants_in_the_clinics_order(scenario_plan):
    plan = scenario_plan
    assert plan.status == "draft" and plan.payer_kind == "self"
    assert [v.tier for v in plan.variants] == ["premium", "optimal", "economy"]
    for variant in plan.variants:
        stages = variant.stages
        assert [s.position for s in stages] == list(range(1, len(stages) + 1))
        by_position = {s.position: s for s in stages}
        hygiene = [s.position for s in stages if any(i.service.code.startswith("HYG-PRO") for i in s.items)]
        therapy = stages_with(variant, "filling", {16, 26, 36}) + stages_with(variant, "root_canal_treated", {36})
        extraction = stages_with(variant, "missing", {46})
        implants = stages_with(variant, "implant", {46, 47})
        crowns = stages_with(variant, "crown")
        assert len(hygiene) == 1 and len(extraction) == 1 and implants and crowns, variant.tier
        assert hygiene[0] < min(therapy)
        assert max(therapy) < extraction[0] < min(implants)
        assert max(implants) < min(crowns)
        # Prosthetics last, all crowns together: nothing else after the first crown.
        assert all(s.specialty.code == "prosthetics" for s in stages if s.position >= min(crowns))
        # Implants wait at least 60 days after the extraction, crowns 90 after the implants.
        extraction_stage = by_position[extraction[0]]
        first_implant = by_position[min(implants)]
        assert first_implant.min_gap_days >= 60
        assert waits_for(first_implant, extraction_stage)
        for position in implants:
            assert earliest_day(by_position[position]) - earliest_day(extraction_stage) >= 60
        first_crown = by_position[min(crowns)]
        assert first_crown.min_gap_days >= 90
        assert earliest_day(first_crown) - earliest_day(by_position[max(implants)]) >= 90


def test_every_tooth_item_is_tied_to_its_tooth_and_leaves_the_right_condition(scenario_plan):
    for variant in scenario_plan.variants:
        items = items_of(variant)
        for item in items:
            assert (item.tooth is None) == (item.service.scope == "mouth"), item.service.code
            assert item.tooth in (None, 16, 26, 36, 46, 47)
            assert item.price > 0 and item.quantity >= 1
        became = {
            (item.tooth, item.surfaces, item.target_condition.code)
            for item in items
            if item.target_condition is not None and item.tooth is not None
        }
        assert {
            (16, "O", "filling"), (26, "MO", "filling"), (36, "", "root_canal_treated"),
            (46, "", "missing"), (46, "", "implant"), (47, "", "implant"), (46, "", "crown"), (47, "", "crown"),
        } <= became
        fillings = [i for i in items if i.tooth == 26 and i.service.scope == "surface"]
        assert [f.quantity for f in fillings] == [2]  # one filling per surface, in one item


def test_economy_costs_40_to_75_percent_of_premium(scenario_plan):
    totals = {variant.tier: total(variant) for variant in scenario_plan.variants}
    assert totals["premium"] > totals["optimal"] > totals["economy"]
    assert 0.40 <= totals["economy"] / totals["premium"] <= 0.75


def test_prices_come_from_the_current_price_list(scenario_plan):
    price_list = current_price_list(db.session, date.today())
    prices = prices_by_service(db.session, price_list)
    assert scenario_plan.price_list_id == price_list.id
    for variant in scenario_plan.variants:
        assert all(item.price == prices[item.service_id] for item in items_of(variant))


def test_whole_mouth_services_appear_once_per_variant(scenario_plan):
    for variant in scenario_plan.variants:
        mouth = [item.service.code for item in items_of(variant) if item.service.scope == "mouth"]
        assert mouth and len(mouth) == len(set(mouth)), variant.tier
        hygiene = [s for s in variant.stages if s.specialty.code == "hygiene"]
        assert len(hygiene) == 1 and "31, 41, 42" in stage_explanation(hygiene[0])


def test_mandatory_flags_follow_the_protocol(scenario_plan):
    economy = scenario_plan.variants[2]
    dams = {item.tooth: item.mandatory for item in items_of(economy) if item.service.code == "TH-DAM"}
    assert dams[16] is False and dams[36] is True  # rubber dam: recommended for caries, required for endodontics


@pytest.mark.parametrize("limit", [None, 60])
def test_no_visit_is_longer_than_the_limit_unless_one_service_makes_it(app, patient, doctor, limit):
    record_findings(db.session, patient, doctor, SCENARIO)
    plan = build_plan(db.session, patient, doctor, max_visit_minutes=limit)
    limit = limit or app.config["MAX_VISIT_MINUTES"]
    for variant in plan.variants:
        for stage in variant.stages:
            minutes = [item.service.duration_min * item.quantity for item in stage.items]
            assert stage.duration_min == sum(minutes)
            if stage.duration_min > limit:
                # One tooth's treatment: its preparation (anaesthesia, rubber dam,
                # an X-ray), at most one step that changes the tooth, and what
                # finishes it (a dressing, a bone graft, a healing abutment).
                assert len({item.tooth for item in stage.items}) == 1, stage_explanation(stage)
                assert len([i for i in stage.items if i.target_condition_id is not None]) <= 1, stage_explanation(stage)


@pytest.mark.parametrize("builders_language", ["en", "ru"])
def test_explanations_read_visit_problem_solution_in_the_readers_language(app, patient, doctor, builders_language):
    """Whoever builds the plan, in whatever language, each reader reads the
    builder's words in theirs; no person's text is recorded."""
    record_findings(db.session, patient, doctor, SCENARIO)
    with app.test_request_context(headers={"Accept-Language": builders_language}):
        refresh()
        plan = build_plan(db.session, patient, doctor)
    filling = db.session.execute(select(Service).filter_by(code="TH-FILL-O")).scalar_one()
    optimal = plan.variants[1]
    therapy = [s for s in optimal.stages if any(i.service_id == filling.id for i in s.items)][0]
    assert therapy.explanation is None
    assert set(therapy.explanation_generated) == {"en", "ru"}
    with force_locale("en"):
        english = stage_explanation(therapy)
    with force_locale("ru"):
        russian = stage_explanation(therapy)
    assert english.startswith(f"Visit {therapy.position} — caries 16")
    assert english.endswith(" — Composite filling, per surface (optimal)")  # materials: on the item
    assert russian.startswith(f"Визит {therapy.position} — кариес 16")
    assert russian.endswith(" — Пломба, 1 поверхность (оптимум)")
    for stage in (s for variant in plan.variants for s in variant.stages):
        assert stage.explanation is None
        assert stage.explanation_generated["en"].startswith(f"Visit {stage.position} — ")
        assert stage.explanation_generated["ru"].startswith(f"Визит {stage.position} — ")


def test_the_stages_are_audited_with_the_builders_words(patient, doctor):
    record_findings(db.session, patient, doctor, SCENARIO)
    plan = build_plan(db.session, patient, doctor)
    stage = plan.variants[0].stages[0]
    audited = db.session.execute(
        select(AuditLog.changes).where(
            AuditLog.table_name == "plan_stage", AuditLog.row_id == stage.id, AuditLog.action == "insert"
        )
    ).scalar_one()
    assert audited["explanation"] is None
    assert audited["explanation_generated"] == stage.explanation_generated


def test_a_chart_with_nothing_to_treat_is_refused(patient, doctor):
    with pytest.raises(DomainError):
        build_plan(db.session, patient, doctor)
    record_findings(db.session, patient, doctor, [
        {"tooth": 11, "surfaces": "", "condition": "healthy"},
        {"tooth": 36, "surfaces": "", "condition": "crown"},
        {"tooth": 16, "surfaces": "O", "condition": "filling"},
        {"tooth": 48, "surfaces": "", "condition": "missing"},  # a lost wisdom tooth is not replaced
    ])
    with pytest.raises(DomainError, match="Nothing in the chart needs treatment"):
        build_plan(db.session, patient, doctor)


def test_wisdom_and_milk_teeth_are_extracted_but_never_replaced(patient, doctor):
    record_findings(db.session, patient, doctor, [
        {"tooth": 38, "surfaces": "", "condition": "extraction_indicated"},
        {"tooth": 75, "surfaces": "", "condition": "extraction_indicated"},
        {"tooth": 46, "surfaces": "", "condition": "extraction_indicated"},
    ])
    plan = build_plan(db.session, patient, doctor)
    for variant in plan.variants:
        left = {(item.tooth, item.target_condition.code) for item in items_of(variant) if item.target_condition}
        assert {(38, "missing"), (75, "missing"), (46, "missing"), (46, "implant"), (46, "crown")} <= left
        replaced = {
            item.tooth for item in items_of(variant)
            if item.tooth is not None and item.service.specialty.code in ("implantology", "prosthetics")
        }
        assert replaced == {46}, variant.tier


def test_a_visit_does_a_service_on_a_tooth_once_whatever_the_problems(patient, doctor):
    record_findings(db.session, patient, doctor, [
        {"tooth": 11, "surfaces": "", "condition": "fracture"},
        {"tooth": 11, "surfaces": "M", "condition": "caries"},
        {"tooth": 12, "surfaces": "D", "condition": "caries"},
    ])
    plan = build_plan(db.session, patient, doctor, max_visit_minutes=240)  # room for both problems of 11
    for variant in plan.variants:
        for stage in variant.stages:
            done = [(item.service_id, item.tooth, item.surfaces) for item in stage.items]
            assert len(done) == len(set(done)), stage_explanation(stage)
            assert stage.duration_min == sum(item.service.duration_min * item.quantity for item in stage.items)
    optimal = plan.variants[1]
    explanations = [stage_explanation(stage) for stage in optimal.stages]
    assert [text for text in explanations if "fracture 11" in text and "caries 11" in text], explanations


def test_an_implant_and_its_bone_graft_are_one_operation(patient, doctor):
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "", "condition": "missing"}])
    premium = build_plan(db.session, patient, doctor).variants[0]
    [operation] = [stage for stage in premium.stages if any(i.service.code == "IMPL-P" for i in stage.items)]
    assert {"IMPL-P", "SURG-GBR", "IMPL-HEAL"} <= {item.service.code for item in operation.items}


def insure(patient, program_code, valid_from=date(2020, 1, 1)):
    program = db.session.execute(select(InsuranceProgram).filter_by(code=program_code)).scalar_one()
    policy = InsurancePolicy(
        patient=patient, company_id=program.company_id, program=program, number=f"T-{patient.id}-{program_code}",
        valid_from=valid_from,
    )
    db.session.add(policy)
    db.session.flush()
    return policy, {service.code for service in program.services}


def test_an_insured_plan_marks_exactly_the_services_outside_the_program_self_paid(patient, doctor):
    record_findings(db.session, patient, doctor, SCENARIO)
    policy, covered = insure(patient, "DMS-DENT-BASIC")
    plan = build_plan(db.session, patient, doctor, payer=policy)
    assert plan.payer_kind == "insurance" and plan.policy_id == policy.id
    for variant in plan.variants:
        items = items_of(variant)
        assert all(item.self_paid == (item.service.code not in covered) for item in items)
        assert any(item.self_paid for item in items) and any(not item.self_paid for item in items)
    implants = [i for i in items_of(plan.variants[1]) if i.service.code == "IMPL-O"]
    assert implants and all(i.self_paid for i in implants)


def test_a_self_paid_plan_has_no_self_paid_marks(scenario_plan):
    assert not any(item.self_paid for variant in scenario_plan.variants for item in items_of(variant))


def test_a_policy_of_another_patient_or_out_of_date_is_refused(patient, doctor):
    record_findings(db.session, patient, doctor, SCENARIO)
    other = Patient(last_name="Другой", first_name="Пациент", birth_date=date(1990, 1, 1), phone="+79160000003")
    db.session.add(other)
    db.session.flush()
    foreign, _ = insure(other, "DMS-DENT-BASIC")
    with pytest.raises(DomainError, match="not the patient's"):
        build_plan(db.session, patient, doctor, payer=foreign)
    future, _ = insure(patient, "DMS-DENT-EXT", valid_from=date(2999, 1, 1))
    with pytest.raises(DomainError, match="not valid today"):
        build_plan(db.session, patient, doctor, payer=future)


def test_the_builder_reads_each_table_once_whatever_the_chart(patient, doctor):
    findings = [{"tooth": tooth, "surfaces": "O", "condition": "caries"} for tooth in (14, 15, 24, 25, 34, 35, 44, 45)]
    record_findings(db.session, patient, doctor, SCENARIO + findings)
    db.session.expire_all()
    patient, doctor = db.session.get(Patient, patient.id), db.session.get(type(doctor), doctor.id)
    selects = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        build_plan(db.session, patient, doctor)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # conditions, findings, price list, prices, protocols, their steps with
    # services; ids for the stages and for the items
    assert 0 < len(selects) <= 8, "\n\n".join(selects)


def test_every_row_of_a_new_plan_is_audited(scenario_plan):
    written = {
        "treatment_plan": {scenario_plan.id},
        "plan_variant": {variant.id for variant in scenario_plan.variants},
        "plan_stage": {stage.id for variant in scenario_plan.variants for stage in variant.stages},
        "plan_item": {item.id for variant in scenario_plan.variants for item in items_of(variant)},
    }
    for table, ids in written.items():
        audited = db.session.execute(
            select(AuditLog.row_id)
            .where(AuditLog.table_name == table, AuditLog.action == "insert", AuditLog.row_id.in_(ids))
        ).scalars()
        assert set(audited) == ids, table
    item = items_of(scenario_plan.variants[0])[0]
    changes = db.session.execute(
        select(AuditLog.changes).where(AuditLog.table_name == "plan_item", AuditLog.row_id == item.id)
    ).scalar_one()
    assert changes["service_id"] == item.service_id and changes["price"] == str(item.price)

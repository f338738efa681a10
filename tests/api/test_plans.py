"""Plans through the API: build, read, add and remove items, present, choose.
Refusals are 422 with a readable message and change nothing; roles are 403."""
import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.planning.models import PlanItem, TreatmentPlan
from stompro.records import soft_delete

from ..planning.test_services import (
    JUSTIFICATION, demo_plan, demo_plan_with_mandatory_item, first_stage, insured_plan, make_plan,
)
from .conftest import count

MISSING = 2147483647
PLAN_KEYS = {"id", "status", "payer", "variants"}
VARIANT_KEYS = {"tier", "total", "chosen", "stages"}
STAGE_KEYS = {
    "id", "position", "kind", "specialty", "depends_on", "parallel", "min_gap_days", "duration_min",
    "explanation", "total", "items",
}
ITEM_KEYS = {
    "id", "tooth", "surfaces", "service_code", "service_name", "quantity", "price", "mandatory",
    "target_condition", "self_paid",
}


def assert_plan_shape(body):
    assert set(body) == PLAN_KEYS
    assert [v["tier"] for v in body["variants"]] == ["premium", "optimal", "economy"]
    for variant in body["variants"]:
        assert set(variant) == VARIANT_KEYS
        stage_totals = 0
        for stage in variant["stages"]:
            assert set(stage) == STAGE_KEYS
            for item in stage["items"]:
                assert set(item) == ITEM_KEYS
                assert item["price"].count(".") == 1 and len(item["price"].split(".")[1]) == 2
            assert float(stage["total"]) == pytest.approx(sum(float(i["price"]) * i["quantity"] for i in stage["items"]))
            stage_totals += float(stage["total"])
        assert float(variant["total"]) == pytest.approx(stage_totals)


def items_of(body):
    return {item["id"]: item for v in body["variants"] for s in v["stages"] for item in s["items"]}


# --- building ------------------------------------------------------------------------


def test_a_coordinator_builds_a_plan_from_the_chart(api):
    api.as_role("coordinator")
    patient = demo_plan("draft").patient
    response = api.post(f"/api/v1/patients/{patient.id}/plans")
    assert response.status_code == 201
    body = response.get_json()
    assert_plan_shape(body)
    assert (body["status"], body["payer"]) == ("draft", "self")
    assert all(v["stages"] and not v["chosen"] for v in body["variants"])
    stages = body["variants"][0]["stages"]
    assert stages[0]["depends_on"] is None and stages[0]["position"] == 1
    assert db.session.get(TreatmentPlan, body["id"]).patient_id == patient.id


def test_an_insured_plan_is_built_for_the_patients_policy(api):
    api.as_role("doctor")
    policy = db.session.execute(
        select(TreatmentPlan).where(TreatmentPlan.payer_kind == "insurance").order_by(TreatmentPlan.id.desc()).limit(1)
    ).scalar_one().policy
    response = api.post(f"/api/v1/patients/{policy.patient_id}/plans", json={"payer": policy.id})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["payer"] == policy.id
    assert_plan_shape(body)


@pytest.mark.parametrize("payer", ["insurer", True, MISSING])
def test_an_unknown_payer_is_refused(api, payer):
    api.as_role("coordinator")
    patient = demo_plan("draft").patient
    plans_before = count(TreatmentPlan)
    response = api.post(f"/api/v1/patients/{patient.id}/plans", json={"payer": payer})
    assert response.status_code == 422
    assert "payer" in response.get_json()["fields"]
    assert count(TreatmentPlan) == plans_before


def test_a_chart_with_nothing_to_treat_gives_no_plan(api, patient):
    api.as_role("doctor")
    response = api.post(f"/api/v1/patients/{patient.id}/plans", json={})
    assert response.status_code == 422
    assert "needs treatment" in response.get_json()["error"]


def test_building_needs_a_planning_role_and_an_existing_patient(api):
    patient = demo_plan("draft").patient
    api.as_role("cashier")
    assert api.post(f"/api/v1/patients/{patient.id}/plans").status_code == 403
    api.as_role("doctor")
    assert api.post(f"/api/v1/patients/{MISSING}/plans").status_code == 404


# --- reading --------------------------------------------------------------------------


def test_reading_a_plan_leaves_out_removed_items(api):
    removed = db.session.execute(select(PlanItem).where(PlanItem.removed.is_(True)).limit(1)).scalar_one()
    plan = removed.stage.variant.plan
    api.as_role("cashier")
    response = api.get(f"/api/v1/plans/{plan.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert_plan_shape(body)
    assert body["status"] == plan.status
    assert removed.id not in items_of(body)


def test_reading_needs_a_role_and_an_existing_plan(api):
    plan = demo_plan("draft")
    api.as_role("call_center")
    assert api.get(f"/api/v1/plans/{plan.id}").status_code == 403
    api.as_role("administrator")
    response = api.get(f"/api/v1/plans/{MISSING}")
    assert response.status_code == 404
    assert f"#{MISSING}" in response.get_json()["error"]


# --- removing ---------------------------------------------------------------------------


def remove_url(plan, item):
    return f"/api/v1/plans/{plan.id}/items/{item.id}/remove"


@pytest.mark.parametrize("body", [{}, {"justification": "коротко..."}, {"justification": None}])
def test_a_mandatory_item_without_a_justification_stays(api, body):
    plan, item = demo_plan_with_mandatory_item()
    api.as_role("coordinator")
    response = api.post(remove_url(plan, item), json=body)
    assert response.status_code == 422
    answer = response.get_json()
    assert "mandatory step" in answer["error"] and "justification" in answer["fields"]
    db.session.expire_all()
    assert not item.removed and item.removal_justification is None


def test_with_a_justification_the_item_is_removed(api):
    plan, item = demo_plan_with_mandatory_item()
    doctor = api.as_role("doctor")
    response = api.post(remove_url(plan, item), json={"justification": JUSTIFICATION})
    assert response.status_code == 200
    assert item.id not in items_of(response.get_json())
    db.session.expire_all()
    assert (item.removed, item.removal_justification, item.removed_by_id) == (True, JUSTIFICATION, doctor.id)


def test_removing_is_refused_to_the_wrong_role_and_for_another_plans_item(api):
    plan, item = demo_plan_with_mandatory_item()
    api.as_role("owner")  # plans yes, mandatory steps no
    assert api.post(remove_url(plan, item), json={"justification": JUSTIFICATION}).status_code == 403
    api.as_role("cashier")
    assert api.post(remove_url(plan, item), json={"justification": JUSTIFICATION}).status_code == 403
    api.as_role("coordinator")
    other = demo_plan("presented")
    assert api.post(remove_url(other, item), json={"justification": JUSTIFICATION}).status_code == 404
    db.session.expire_all()
    assert not item.removed


# --- adding -------------------------------------------------------------------------------


def test_an_item_is_added_to_a_stage(api, patient):
    plan = make_plan(patient)
    stage = first_stage(plan)
    api.as_role("doctor")
    response = api.post(f"/api/v1/plans/{plan.id}/items", json={"stage_id": stage.id, "service_code": "DX-XR", "tooth": 36})
    assert response.status_code == 201
    body = response.get_json()
    optimal = body["variants"][1]
    [item] = optimal["stages"][0]["items"]
    assert (item["service_code"], item["tooth"], item["surfaces"], item["quantity"], item["mandatory"]) == ("DX-XR", 36, "", 1, False)
    assert optimal["total"] == optimal["stages"][0]["total"] == item["price"]


def test_an_insured_plan_refuses_a_service_outside_the_program_unless_self_paid(api):
    plan = insured_plan()
    stage = first_stage(plan)
    api.as_role("coordinator")
    url = f"/api/v1/plans/{plan.id}/items"
    refused = api.post(url, json={"stage_id": stage.id, "service_code": "IMPL-P", "tooth": 46})
    assert refused.status_code == 422
    assert plan.policy.program.name in refused.get_json()["error"]
    assert db.session.scalars(select(PlanItem).where(PlanItem.stage_id == stage.id)).all() == []
    accepted = api.post(url, json={"stage_id": stage.id, "service_code": "IMPL-P", "tooth": 46, "self_paid": True})
    assert accepted.status_code == 201
    [item] = accepted.get_json()["variants"][1]["stages"][0]["items"]
    assert (item["service_code"], item["self_paid"]) == ("IMPL-P", True)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service_code": "DX-XR", "tooth": 36}, "stage_id"),
        ({"service_code": "NOPE", "tooth": 36}, "service_code"),
        ({"service_code": "DX-XR", "tooth": 19}, "tooth"),
        ({"service_code": "DX-XR", "tooth": 36, "quantity": "two"}, "quantity"),
        ({"service_code": "DX-XR", "tooth": 36, "self_paid": "yes"}, "self_paid"),
        ({"service_code": "DX-XR", "tooth": 36, "price": 1}, "price"),
    ],
)
def test_bad_items_are_refused_by_field(api, patient, body, field):
    plan = make_plan(patient)
    if field != "stage_id":
        body = {"stage_id": first_stage(plan).id, **body}
    api.as_role("doctor")
    items_before = count(PlanItem)
    response = api.post(f"/api/v1/plans/{plan.id}/items", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert count(PlanItem) == items_before


def test_a_stage_of_another_plan_is_refused_and_readers_cannot_add(api, patient):
    plan, other = make_plan(patient), demo_plan("draft")
    api.as_role("doctor")
    response = api.post(f"/api/v1/plans/{plan.id}/items", json={"stage_id": first_stage(other).id, "service_code": "DX-XR", "tooth": 36})
    assert response.status_code == 422
    api.as_role("administrator")
    response = api.post(f"/api/v1/plans/{plan.id}/items", json={"stage_id": first_stage(plan).id, "service_code": "DX-XR", "tooth": 36})
    assert response.status_code == 403
    api.as_role("doctor")
    assert api.post(f"/api/v1/plans/{MISSING}/items", json={}).status_code == 404


# --- presenting and choosing ----------------------------------------------------------------


def test_presenting_then_choosing(api):
    plan = demo_plan("draft")
    api.as_role("coordinator")
    presented = api.post(f"/api/v1/plans/{plan.id}/present")
    assert presented.status_code == 200
    assert presented.get_json()["status"] == "presented"
    again = api.post(f"/api/v1/plans/{plan.id}/present")
    assert again.status_code == 422 and "draft" in again.get_json()["error"]
    chosen = api.post(f"/api/v1/plans/{plan.id}/choose", json={"variant": "optimal"})
    assert chosen.status_code == 200
    body = chosen.get_json()
    assert body["status"] == "accepted"
    assert [v["tier"] for v in body["variants"] if v["chosen"]] == ["optimal"]


def test_presenting_an_empty_plan_is_refused(api, patient):
    plan = make_plan(patient)
    api.as_role("doctor")
    response = api.post(f"/api/v1/plans/{plan.id}/present")
    assert response.status_code == 422
    assert "without items" in response.get_json()["error"]
    assert db.session.get(TreatmentPlan, plan.id).status == "draft"


@pytest.mark.parametrize("status, body, message", [
    ("presented", {"variant": "gold"}, "premium, optimal or economy"),
    ("presented", {}, "premium, optimal or economy"),
    ("draft", {"variant": "optimal"}, "Present the plan"),
    ("declined", {"variant": "optimal"}, "declined"),
])
def test_choosing_is_refused_with_a_reason(api, status, body, message):
    plan = demo_plan(status)
    api.as_role("coordinator")
    response = api.post(f"/api/v1/plans/{plan.id}/choose", json=body)
    assert response.status_code == 422
    assert message in response.get_json()["error"]
    db.session.expire_all()
    assert plan.status == status


def test_presenting_and_choosing_need_a_planning_role(api):
    plan = demo_plan("presented")
    for role in ("cashier", "administrator", "call_center"):
        api.as_role(role)
        assert api.post(f"/api/v1/plans/{plan.id}/present").status_code == 403
        assert api.post(f"/api/v1/plans/{plan.id}/choose", json={"variant": "optimal"}).status_code == 403
    api.as_role("owner")
    assert api.post(f"/api/v1/plans/{MISSING}/present").status_code == 404
    assert api.post(f"/api/v1/plans/{MISSING}/choose", json={"variant": "optimal"}).status_code == 404


# --- printout -----------------------------------------------------------------------------------


def test_the_printout_is_a_pdf(api):
    plan = demo_plan("accepted")
    api.as_role("administrator")
    response = api.get(f"/api/v1/plans/{plan.id}/printout.pdf?which=chosen")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_the_printout_is_refused_with_a_reason(api):
    plan = demo_plan("draft")
    api.as_role("coordinator")
    response = api.get(f"/api/v1/plans/{plan.id}/printout.pdf?which=chosen")
    assert response.status_code == 422
    assert "No variant is chosen" in response.get_json()["error"]
    assert api.get(f"/api/v1/plans/{plan.id}/printout.pdf?which=some").status_code == 422
    assert api.get(f"/api/v1/plans/{MISSING}/printout.pdf").status_code == 404
    api.as_role("call_center")
    assert api.get(f"/api/v1/plans/{plan.id}/printout.pdf").status_code == 403


# --- the builder's words in the caller's language --------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
def test_explanations_come_in_the_callers_language_unless_a_person_wrote_them(api, language):
    plan = demo_plan("draft")
    variant = next(v for v in plan.variants if len(v.stages) >= 2)
    edited, generated = variant.stages[:2]
    edited.explanation = "Визит 1 — снимки — обсуждаем план"
    db.session.commit()
    api.as_role("doctor", language=language)
    stages = {
        stage["id"]: stage["explanation"]
        for v in api.get(f"/api/v1/plans/{plan.id}").get_json()["variants"] for stage in v["stages"]
    }
    assert stages[generated.id] == generated.explanation_generated[language]
    assert stages[edited.id] == "Визит 1 — снимки — обсуждаем план"


# --- a deleted patient takes the plans along: the API refuses what the panel refuses ------------------


def test_the_plan_of_a_deleted_patient_is_404_in_the_api_as_in_the_panel(api, auth, client):
    plan = demo_plan("presented")
    stage = first_stage(plan)
    item = next(i for s in stage.variant.stages for i in s.items if not i.removed)
    api.as_role("coordinator")
    auth.as_role("coordinator")
    assert api.get(f"/api/v1/plans/{plan.id}").status_code == 200
    assert client.get(f"/admin/plan/{plan.id}").status_code == 200
    soft_delete(db.session, plan.patient)
    db.session.commit()
    calls = [
        api.get(f"/api/v1/plans/{plan.id}"),
        api.get(f"/api/v1/plans/{plan.id}/printout.pdf"),
        api.post(f"/api/v1/plans/{plan.id}/present"),
        api.post(f"/api/v1/plans/{plan.id}/choose", json={"variant": "optimal"}),
        api.post(f"/api/v1/plans/{plan.id}/items", json={"stage_id": stage.id, "service_code": "DX-XR", "tooth": 36}),
        api.post(f"/api/v1/plans/{plan.id}/items/{item.id}/remove", json={"justification": JUSTIFICATION}),
    ]
    for response in calls:
        assert response.status_code == 404, response.request.path
        assert response.get_json()["error"] == f"There is no plan #{plan.id}."
    assert client.get(f"/admin/plan/{plan.id}").status_code == 404  # the panel's plan screen, the same rule
    db.session.expire_all()
    stored = db.session.get(TreatmentPlan, plan.id)
    assert stored.status == "presented" and not any(v.chosen for v in stored.variants)
    assert not db.session.get(PlanItem, item.id).removed

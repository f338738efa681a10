"""The plan screen through its HTTP views: what it shows, the JSON actions
that change a plan (answered with the redrawn fragments, or 422 and nothing
changed) and who may do what."""
import html as markup
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from stompro.catalog.models import Service
from stompro.chart.services import record_findings
from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import InsurancePolicy, InsuranceProgram
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from stompro.planning.services import active_items, live_stages, plan_totals, visit_count
from stompro.records import soft_delete
from stompro.timefmt import format_money, to_local


def demo_plan(status, having=None, payer_kind=None):
    """A seeded plan of ``status`` (whose items satisfy ``having``, and of
    ``payer_kind``, if given)."""
    query = select(TreatmentPlan).where(TreatmentPlan.status == status, TreatmentPlan.deleted_at.is_(None))
    if payer_kind is not None:
        query = query.where(TreatmentPlan.payer_kind == payer_kind)
    plans = db.session.execute(query.order_by(TreatmentPlan.id)).scalars()
    for plan in plans:
        if having is None or any(having(item) for item in plan_items(plan)):
            return plan
    pytest.skip(f"the demo clinic has no {status} plan of that kind")


def plan_items(plan):
    return [item for variant in plan.variants for stage in live_stages(variant) for item in active_items(stage)]


def post(client, auth, path, payload=None):
    return client.post(path, json=payload or {}, headers={"X-CSRFToken": auth.csrf_token()})


def variant_fragment(html, variant):
    """The HTML of one variant's card on the page."""
    start = html.index(f'data-variant="{variant.id}"')
    end = html.find('class="card plan-variant', start)
    return html[start:end if end != -1 else len(html)]


def test_the_screen_shows_three_variants_with_the_totals_of_the_service(client, auth):
    plan = demo_plan("presented")
    totals = plan_totals(plan)
    auth.as_role("coordinator")
    html = client.get(f"/admin/plan/{plan.id}").get_data(as_text=True)
    assert plan.patient.full_name in html
    for tier in ("Premium", "Optimal", "Economy"):
        assert f">{tier}</h2>" in html
    for variant in plan.variants:
        fragment = variant_fragment(html, variant)
        assert f"{format_money(totals.variant(variant).total)}&nbsp;₽" in fragment
        for stage in live_stages(variant):
            assert re.search(rf'data-stage="{stage.id}".*?data-stage-total>{re.escape(format_money(totals.stage(stage)))}<', fragment, re.S)
        assert fragment.count('<div class="odontogram"') == 2  # the chart now and after
    assert "Present to the patient" not in html  # already presented
    assert "The patient chooses this variant" in html


def test_removing_a_mandatory_item_needs_a_justification(client, auth):
    plan = demo_plan("draft", having=lambda item: item.mandatory)
    item = next(item for item in plan_items(plan) if item.mandatory)
    total_before = plan_totals(plan).variant(item.stage.variant).total
    auth.as_role("coordinator")

    refused = post(client, auth, f"/admin/plan/{plan.id}/items/{item.id}/remove", {"justification": "no"})
    assert refused.status_code == 422
    assert "mandatory step of the protocol" in refused.get_json()["error"]
    db.session.expire_all()
    assert not db.session.get(PlanItem, item.id).removed

    answer = post(client, auth, f"/admin/plan/{plan.id}/items/{item.id}/remove",
                  {"justification": "The patient had this done elsewhere last month."})
    assert answer.status_code == 200
    db.session.expire_all()
    removed = db.session.get(PlanItem, item.id)
    assert removed.removed and removed.removal_justification == "The patient had this done elsewhere last month."
    assert removed.removed_by.login == "coordinator"
    variant = removed.stage.variant
    new_total = plan_totals(variant.plan).variant(variant).total
    assert new_total == total_before - removed.price * removed.quantity
    fragment = answer.get_json()["variants"][str(variant.id)]
    assert f"{format_money(new_total)}&nbsp;₽" in fragment
    assert "plan-item-removed" in fragment


def test_choosing_optimal_with_the_patient_accepts_the_plan(client, auth):
    plan = demo_plan("presented")
    auth.as_role("coordinator")
    answer = post(client, auth, f"/admin/plan/{plan.id}/choose", {"tier": "optimal"})
    assert answer.status_code == 200
    db.session.expire_all()
    plan = db.session.get(TreatmentPlan, plan.id)
    assert plan.status == "accepted" and plan.accepted_at is not None
    assert [v.tier for v in plan.variants if v.chosen] == ["optimal"]
    body = answer.get_json()
    assert 'data-status="accepted"' in body["header"]
    assert len(body["variants"]) == 3
    optimal = next(v for v in plan.variants if v.tier == "optimal")
    assert "Chosen by the patient" in body["variants"][str(optimal.id)]


def test_adding_a_service_redraws_the_variant_with_its_new_total(client, auth):
    plan = demo_plan("draft", payer_kind="self")
    stage = live_stages(plan.variants[0])[0]
    service = db.session.execute(select(Service).filter_by(code="HYG-PRO")).scalar_one_or_none() or db.session.execute(
        select(Service).where(Service.scope == "mouth", Service.active.is_(True))
    ).scalars().first()
    auth.as_role("doctor")
    answer = post(client, auth, f"/admin/plan/{plan.id}/items", {"stage_id": stage.id, "service_id": service.id})
    assert answer.status_code == 200, answer.get_json()
    db.session.expire_all()
    variant = db.session.get(PlanVariant, plan.variants[0].id)
    added = db.session.execute(select(PlanItem).where(PlanItem.stage_id == stage.id, PlanItem.service_id == service.id)).scalars().all()
    assert added
    fragment = answer.get_json()["variants"][str(variant.id)]
    assert f"{format_money(plan_totals(variant.plan).variant(variant).total)}&nbsp;₽" in fragment


def test_a_bad_tooth_is_refused_with_a_message_and_nothing_added(client, auth):
    plan = demo_plan("draft")
    stage = live_stages(plan.variants[0])[0]
    service = db.session.execute(select(Service).where(Service.scope == "tooth", Service.active.is_(True))).scalars().first()
    count = len(stage.items)
    auth.as_role("doctor")
    answer = post(client, auth, f"/admin/plan/{plan.id}/items", {"stage_id": stage.id, "service_id": service.id, "tooth": 19})
    assert answer.status_code == 422 and answer.get_json()["error"]
    db.session.expire_all()
    assert len(db.session.get(PlanStage, stage.id).items) == count


def test_moving_a_stage_down_and_editing_its_explanation(client, auth):
    plan = demo_plan("draft")
    variant = next(v for v in plan.variants if len(live_stages(v)) >= 2)
    first, second = live_stages(variant)[:2]
    auth.as_role("coordinator")
    assert post(client, auth, f"/admin/plan/{plan.id}/stages/{first.id}/move", {"direction": "down"}).status_code == 200
    answer = post(client, auth, f"/admin/plan/{plan.id}/stages/{first.id}", {"explanation": "Visit 2 — tartar — cleaning."})
    assert answer.status_code == 200
    assert "Visit 2 — tartar — cleaning." in answer.get_json()["variants"][str(variant.id)]
    db.session.expire_all()
    assert [s.id for s in live_stages(db.session.get(PlanVariant, variant.id))][:2] == [second.id, first.id]
    top = post(client, auth, f"/admin/plan/{plan.id}/stages/{second.id}/move", {"direction": "up"})
    assert top.status_code == 422 and top.get_json()["error"] == "This stage cannot move further."


def shown_explanation(html, stage):
    """The explanation the screen shows for ``stage``, and what its edit box holds."""
    part = html[html.index(f'data-stage="{stage.id}"'):]
    shown = re.search(r"data-explanation-text>(.*?)</p>", part, re.S).group(1)
    box = re.search(r"<textarea[^>]*>(.*?)</textarea>", part, re.S)
    return markup.unescape(shown), markup.unescape(box.group(1)) if box else None


def test_each_reader_sees_the_builders_words_in_their_language_until_a_person_edits_them(client, auth):
    plan = demo_plan("draft")
    stage = live_stages(plan.variants[0])[0]
    generated = dict(stage.explanation_generated)
    assert stage.explanation is None and generated["en"] != generated["ru"]
    url = f"/admin/plan/{plan.id}"
    for language in ("en", "ru"):
        auth.as_role("coordinator", language=language)
        assert shown_explanation(client.get(url).get_data(as_text=True), stage) == (generated[language],) * 2

    # The Russian reader saves the words unchanged: they still follow each reader.
    assert post(client, auth, f"{url}/stages/{stage.id}", {"explanation": generated["ru"]}).status_code == 200
    db.session.expire_all()
    assert db.session.get(PlanStage, stage.id).explanation is None

    answer = post(client, auth, f"{url}/stages/{stage.id}", {"explanation": "Визит 1 — снимки и гигиена — вместе"})
    assert answer.status_code == 200
    assert "Визит 1 — снимки и гигиена — вместе" in answer.get_json()["variants"][str(stage.variant_id)]
    auth.as_role("doctor", language="en")
    assert shown_explanation(client.get(url).get_data(as_text=True), stage)[0] == "Визит 1 — снимки и гигиена — вместе"

    assert post(client, auth, f"{url}/stages/{stage.id}", {"explanation": ""}).status_code == 200  # back to the builder's
    assert shown_explanation(client.get(url).get_data(as_text=True), stage)[0] == generated["en"]
    db.session.expire_all()
    edited = db.session.get(PlanStage, stage.id)
    assert (edited.explanation, edited.explanation_generated) == (None, generated)


def test_the_variant_counts_its_visits_not_its_stages(client, auth):
    """Stages on one day — a hygienist beside a therapist — are one visit."""
    plan = demo_plan("draft")
    variant = plan.variants[1]
    stages = live_stages(variant)
    assert len(stages) >= 3
    stages[1].parallel, stages[1].min_gap_days, stages[1].planned_date = True, 0, None
    stages[2].parallel, stages[2].planned_date = False, None
    db.session.commit()
    auth.as_role("coordinator")
    fragment = variant_fragment(client.get(f"/admin/plan/{plan.id}").get_data(as_text=True), variant)
    visits = visit_count(variant)
    assert visits < len(stages)
    assert f"Visits: {visits}</span>" in fragment
    assert f"{len(stages)} stages; stages on the same day make one visit" in fragment


def test_the_plan_of_a_deleted_patient_is_not_found_anywhere_in_the_panel(client, auth):
    plan = demo_plan("presented")
    stage = live_stages(plan.variants[1])[0]
    auth.as_role("coordinator")
    assert client.get(f"/admin/plan/{plan.id}").status_code == 200
    soft_delete(db.session, plan.patient)
    db.session.commit()
    assert client.get(f"/admin/plan/{plan.id}").status_code == 404
    assert client.get(f"/admin/plan_printout/{plan.id}?which=all").status_code == 404
    assert client.get(f"/admin/plan_printout/{plan.id}.pdf?which=all").status_code == 404
    for action, payload in (
        ("choose", {"tier": "optimal"}), ("present", {}), ("decline", {"reason": "Переехала"}),
        (f"stages/{stage.id}", {"explanation": "Визит 1"}),
    ):
        assert post(client, auth, f"/admin/plan/{plan.id}/{action}", payload).status_code == 404, action
    db.session.expire_all()
    assert db.session.get(TreatmentPlan, plan.id).status == "presented"


def test_declining_needs_a_reason(client, auth):
    plan = demo_plan("presented")
    auth.as_role("coordinator")
    assert post(client, auth, f"/admin/plan/{plan.id}/decline", {"reason": "  "}).status_code == 422
    assert post(client, auth, f"/admin/plan/{plan.id}/decline", {"reason": "Too expensive now"}).status_code == 200
    db.session.expire_all()
    plan = db.session.get(TreatmentPlan, plan.id)
    assert (plan.status, plan.decline_reason) == ("declined", "Too expensive now")


def test_a_cashier_reads_the_plan_but_may_not_change_it(client, auth):
    plan = demo_plan("presented")
    auth.as_role("cashier")
    html = client.get(f"/admin/plan/{plan.id}").get_data(as_text=True)
    assert plan.patient.full_name in html
    assert "data-plan-action" not in html and "data-item-add" not in html
    assert post(client, auth, f"/admin/plan/{plan.id}/choose", {"tier": "optimal"}).status_code == 403
    item = plan_items(plan)[0]
    assert post(client, auth, f"/admin/plan/{plan.id}/items/{item.id}/remove", {"justification": "x" * 20}).status_code == 403
    db.session.expire_all()
    assert db.session.get(TreatmentPlan, plan.id).status == "presented"
    assert not db.session.get(PlanItem, item.id).removed


def test_the_call_center_opens_a_plan_to_book_it_but_may_not_change_it(client, auth):
    plan = demo_plan("presented")
    auth.as_role("call_center")
    response = client.get(f"/admin/plan/{plan.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "data-plan-action" not in html and "data-item-add" not in html
    assert post(client, auth, f"/admin/plan/{plan.id}/choose", {"tier": "optimal"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(TreatmentPlan, plan.id).status == "presented"


def test_building_a_plan_from_the_card(client, auth, patient, doctor):
    record_findings(db.session, patient, doctor, [{"tooth": 16, "surfaces": "O", "condition": "caries"}],
                    now=utcnow() - timedelta(days=1))
    db.session.commit()
    auth.as_role("coordinator")
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert f'action="/admin/plan/build/{patient.id}"' in card and "Build a treatment plan" in card
    response = client.post(f"/admin/plan/build/{patient.id}", data={"payer": "self", "csrf_token": auth.csrf_token()})
    assert response.status_code == 302
    plan = db.session.execute(select(TreatmentPlan).where(TreatmentPlan.patient_id == patient.id)).scalar_one()
    assert response.headers["Location"].endswith(f"/admin/plan/{plan.id}")
    assert (plan.status, plan.payer_kind, len(plan.variants)) == ("draft", "self", 3)
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert f'href="/admin/plan/{plan.id}"' in card


def test_nothing_to_treat_sends_the_builder_back_to_the_card_with_the_reason(client, auth, patient):
    auth.as_role("doctor")
    response = client.post(f"/admin/plan/build/{patient.id}", data={"payer": "self", "csrf_token": auth.csrf_token()},
                           follow_redirects=True)
    assert response.request.path == f"/admin/patient_card/{patient.id}"
    assert 'class="alert alert-danger' in response.get_data(as_text=True)
    assert db.session.execute(select(TreatmentPlan).where(TreatmentPlan.patient_id == patient.id)).first() is None


def test_an_administrator_sees_no_build_button(client, auth, patient):
    auth.as_role("administrator")
    assert "Build a treatment plan" not in client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert client.post(f"/admin/plan/build/{patient.id}", data={"payer": "self", "csrf_token": auth.csrf_token()}).status_code == 403


def test_only_policies_in_force_are_offered_or_accepted_as_payer(client, auth, patient, doctor):
    program = db.session.execute(select(InsuranceProgram).order_by(InsuranceProgram.id)).scalars().first()
    today = to_local(utcnow()).date()  # the clinic's day (after 21:00 UTC it is tomorrow in Moscow)
    ended = InsurancePolicy(patient=patient, company=program.company, program=program, number="T-ENDED",
                            valid_from=today - timedelta(days=400), valid_to=today - timedelta(days=1))
    future = InsurancePolicy(patient=patient, company=program.company, program=program, number="T-FUTURE",
                             valid_from=today + timedelta(days=1))
    current = InsurancePolicy(patient=patient, company=program.company, program=program, number="T-CURRENT",
                              valid_from=today - timedelta(days=10), valid_to=today)
    db.session.add_all([ended, future, current])
    record_findings(db.session, patient, doctor, [{"tooth": 16, "surfaces": "O", "condition": "caries"}],
                    now=utcnow() - timedelta(days=1))
    db.session.commit()
    auth.as_role("doctor")
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    build_form = card.split('id="build-plan-form"')[1].split("</form>")[0]
    assert f'<option value="{current.id}">T-CURRENT' in build_form
    assert "T-ENDED" not in build_form and "T-FUTURE" not in build_form
    for refused in (ended, future):
        response = client.post(f"/admin/plan/build/{patient.id}", data={"payer": str(refused.id), "csrf_token": auth.csrf_token()},
                               follow_redirects=True)
        assert "This policy is not in force" in response.get_data(as_text=True)
    assert db.session.execute(select(TreatmentPlan).where(TreatmentPlan.patient_id == patient.id)).first() is None


def test_building_an_insured_plan_from_a_policy_in_force(client, auth, patient, doctor):
    program = db.session.execute(select(InsuranceProgram).order_by(InsuranceProgram.id)).scalars().first()
    policy = InsurancePolicy(patient=patient, company=program.company, program=program, number="T-4242",
                             valid_from=date.today() - timedelta(days=30))
    db.session.add(policy)
    record_findings(db.session, patient, doctor, [{"tooth": 16, "surfaces": "O", "condition": "caries"}],
                    now=utcnow() - timedelta(days=1))
    db.session.commit()
    auth.as_role("doctor")
    card = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)
    assert f'<option value="{policy.id}">T-4242' in card
    response = client.post(f"/admin/plan/build/{patient.id}", data={"payer": str(policy.id), "csrf_token": auth.csrf_token()})
    assert response.status_code == 302
    plan = db.session.execute(select(TreatmentPlan).where(TreatmentPlan.patient_id == patient.id)).scalar_one()
    assert (plan.payer_kind, plan.policy_id) == ("insurance", policy.id)

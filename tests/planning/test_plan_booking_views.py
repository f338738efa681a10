"""Booking a plan from the plan screen: the preview of the chosen variant's
stages, booking what the preview showed (or, if the free time changed, a new
preview and nothing booked), the stages showing their visits, and who may."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from stompro.chart.services import record_findings
from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.planning.builder import build_plan
from stompro.planning.services import choose_variant, live_stages, live_variants, present_plan
from stompro.scheduling.availability import clinic_zone, local_day
from stompro.scheduling.models import Appointment
from stompro.scheduling.plan_booking import holding_visits

from ..conftest import staff_by_login

# A plan of a few weeks: a hygiene visit, fillings, a root canal — within
# the demo's shifts (two months ahead), no implant's months of healing.
FINDINGS = [
    {"tooth": 16, "surfaces": "O", "condition": "caries"},
    {"tooth": 26, "surfaces": "M", "condition": "caries"},
    {"tooth": 36, "surfaces": "", "condition": "pulpitis"},
]


@pytest.fixture
def chosen_plan(app):
    """An accepted plan whose optimal variant the patient chose."""
    doctor = staff_by_login("doctor")
    patient = Patient(last_name="Записова", first_name="Нина", birth_date=date(1983, 5, 6), phone="+79160005566")
    db.session.add(patient)
    record_findings(db.session, patient, doctor, FINDINGS, now=utcnow() - timedelta(days=1))
    plan = build_plan(db.session, patient, doctor)
    present_plan(db.session, plan, doctor)
    choose_variant(db.session, plan, "optimal", doctor)
    db.session.commit()
    return plan


def post(client, auth, path, payload=None):
    return client.post(path, json=payload or {}, headers={"X-CSRFToken": auth.csrf_token()})


def _chosen_stages(plan):
    return live_stages(next(variant for variant in live_variants(plan) if variant.chosen))


def _visits():
    return db.session.scalar(select(func.count()).select_from(Appointment))


def test_the_administrator_previews_then_books_the_whole_plan(client, auth, chosen_plan):
    auth.as_role("administrator")
    page = client.get(f"/admin/plan/{chosen_plan.id}").get_data(as_text=True)
    assert "data-plan-booking" in page and "Book the plan" in page

    before = _visits()
    preview = post(client, auth, f"/admin/plan/{chosen_plan.id}/booking/preview")
    assert preview.status_code == 200, preview.get_json()
    answer = preview.get_json()
    stages = _chosen_stages(chosen_plan)
    assert len(answer["expect"]) == len(stages) == answer["html"].count("data-preview-row")
    assert "Times on the branch's clock (Moscow Time)" in answer["html"]
    assert _visits() == before  # a preview writes nothing

    booked = post(client, auth, f"/admin/plan/{chosen_plan.id}/booking", {"expect": answer["expect"]})
    if booked.status_code == 409:  # the nearest slot slipped into the past meanwhile: the new preview
        booked = post(client, auth, f"/admin/plan/{chosen_plan.id}/booking", {"expect": booked.get_json()["expect"]})
    assert booked.status_code == 200, booked.get_json()
    assert booked.get_json()["notice"] == f"Visits booked: {len(stages)}."
    db.session.expire_all()
    visits = holding_visits(db.session, stages)
    assert set(visits) == {stage.id for stage in stages}
    assert _visits() == before + len(stages)
    for stage in stages:
        [visit] = visits[stage.id]
        assert (visit.patient_id, visit.status, visit.booked_by.login) == (chosen_plan.patient_id, "booked", "admin")
        before_it = stage.depends_on_id and visits.get(stage.depends_on_id)
        if before_it and not stage.parallel:
            gap = local_day(visit.clinic, visit.starts_at) - local_day(visit.clinic, before_it[0].starts_at)
            assert gap >= timedelta(days=max(stage.min_gap_days or 0, 1))  # a later day, the healing kept

    # The chosen variant shows each stage's visit, and nothing is left to book.
    chosen = next(variant for variant in live_variants(chosen_plan) if variant.chosen)
    fragment = booked.get_json()["variants"][str(chosen.id)]
    assert fragment.count("data-stage-visit") == len(stages)
    assert "Every visit is booked." in fragment and "data-plan-booking" not in fragment
    first = min((v[0] for v in visits.values()), key=lambda v: v.starts_at)
    assert f"{first.starts_at.astimezone(clinic_zone(first.clinic)):%d.%m.%Y %H:%M}–" in fragment


def test_booking_what_the_preview_no_longer_shows_books_nothing_and_shows_the_new_preview(client, auth, chosen_plan):
    auth.as_role("administrator")
    answer = post(client, auth, f"/admin/plan/{chosen_plan.id}/booking/preview").get_json()
    stale = [[stage_id, doctor_id, room_id, "2030-01-01T07:00:00+00:00"]
             for stage_id, doctor_id, room_id, _ in answer["expect"]]
    before = _visits()
    refused = post(client, auth, f"/admin/plan/{chosen_plan.id}/booking", {"expect": stale})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] == "The free time changed since the preview: check the new one and book again."
    assert sorted(row[0] for row in body["expect"]) == sorted(row[0] for row in answer["expect"])  # every stage
    assert body["html"].count("data-preview-row") == len(answer["expect"])
    db.session.expire_all()
    assert _visits() == before
    assert holding_visits(db.session, _chosen_stages(chosen_plan)) == {}


@pytest.mark.parametrize("role", ["doctor", "cashier"])
def test_only_those_who_book_see_and_use_it(client, auth, chosen_plan, role):
    auth.as_role(role)
    page = client.get(f"/admin/plan/{chosen_plan.id}").get_data(as_text=True)
    assert "data-plan-booking" not in page
    for path in ("booking/preview", "booking"):
        refused = post(client, auth, f"/admin/plan/{chosen_plan.id}/{path}", {"expect": []})
        assert refused.status_code == 403
        assert refused.get_json()["error"] == "Visits are booked by the reception, the call center and coordinators."


@pytest.mark.parametrize("role", ["call_center", "coordinator", "owner"])
def test_the_call_center_coordinator_and_owner_book_too(client, auth, chosen_plan, role):
    auth.as_role(role)
    assert "data-plan-booking" in client.get(f"/admin/plan/{chosen_plan.id}").get_data(as_text=True)
    assert post(client, auth, f"/admin/plan/{chosen_plan.id}/booking/preview").status_code == 200


def test_a_plan_not_chosen_yet_is_not_booked(client, auth, chosen_plan):
    chosen_plan.status = "declined"
    chosen_plan.decline_reason = "Передумала"
    db.session.commit()
    auth.as_role("administrator")
    assert "data-plan-booking" not in client.get(f"/admin/plan/{chosen_plan.id}").get_data(as_text=True)
    refused = post(client, auth, f"/admin/plan/{chosen_plan.id}/booking/preview")
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "Only a plan being carried out is booked."


def test_the_call_center_reaches_the_plan_from_the_card(client, auth, chosen_plan):
    auth.as_role("call_center")
    card = client.get(f"/admin/patient_card/{chosen_plan.patient_id}").get_data(as_text=True)
    assert f'href="/admin/plan/{chosen_plan.id}"' in card

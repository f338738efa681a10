"""The plan screen in a real headless Chromium: the coordinator builds a plan
from the patient card, adds a service and moves it to another visit,
presents the plan, the patient chooses the optimal variant, and the printout
opens with the patient's name."""
from datetime import date

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.planning.models import TreatmentPlan

from .conftest import committed_patient, sign_in, switch_language

pytestmark = pytest.mark.browser

# The chart of the example: something for every kind of stage.
FINDINGS = [
    {"tooth": 16, "surfaces": "O", "condition": "caries"},
    {"tooth": 26, "surfaces": "M", "condition": "caries"},
    {"tooth": 36, "surfaces": "", "condition": "pulpitis"},
    {"tooth": 46, "surfaces": "", "condition": "extraction_indicated"},
    {"tooth": 47, "surfaces": "", "condition": "missing"},
]


@pytest.fixture(scope="module")
def patient_id(app):
    with committed_patient(app, "Планова", "Вера", date(1979, 3, 14), "+79160000041", FINDINGS, 2) as patient_id:
        yield patient_id


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_coordinator_builds_presents_and_the_patient_chooses_optimal(page, live_server, patient_id, screenshot, language, app):
    sign_in(page, live_server, "coordinator")
    switch_language(page, language)
    page.goto(f"{live_server}/admin/patient_card/{patient_id}")
    page.click("#build-plan-form button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/plan/**")
    assert page.locator(".plan-variant").count() == 3
    assert page.locator(".plan-status").get_attribute("data-status") == "draft"
    screenshot("built")

    optimal = page.locator('.plan-variant[data-tier="optimal"]')
    total_before = optimal.locator("[data-total]").first.inner_text()
    first_stage = optimal.locator(".plan-stage").first
    first_stage.locator("[data-item-add]").click()
    page.locator("#plan-add-item").wait_for(state="visible")
    page.fill("#plan-service-search", "CONS-REPEAT")
    page.keyboard.press("Enter")
    page.click("#plan-add-item-form button[type=submit]")
    page.locator("#plan-add-item").wait_for(state="hidden")
    assert optimal.locator("[data-total]").first.inner_text() != total_before
    screenshot("added")

    # The service just added moves to the second visit of its variant.
    added = first_stage.locator(".plan-item").last.get_attribute("data-item")
    second = optimal.locator(".plan-stage").nth(1).get_attribute("data-stage")
    first_stage.locator(f'.plan-item[data-item="{added}"] [data-item-move]').click()
    page.locator("#plan-move-item").wait_for(state="visible")
    assert page.locator("#plan-move-stage option").count() == optimal.locator(".plan-stage").count() - 1
    page.select_option("#plan-move-stage", second)
    page.click("#plan-move-item-form button[type=submit]")
    page.locator("#plan-move-item").wait_for(state="hidden")
    page.locator(f'.plan-stage[data-stage="{second}"] .plan-item[data-item="{added}"]').wait_for()
    assert first_stage.locator(f'.plan-item[data-item="{added}"]').count() == 0
    screenshot("moved")

    # A mandatory step is not removed without a justification.
    mandatory = page.locator('.plan-item[data-mandatory="true"]').first
    if mandatory.count():
        mandatory.locator("[data-item-remove]").click()
        page.locator("#plan-remove-item").wait_for(state="visible")
        page.click("#plan-remove-item-form button[type=submit]")
        page.locator("#plan-remove-item .plan-dialog-error:not(.d-none)").wait_for()
        screenshot("justification-required")
        page.click("#plan-remove-item .close")
        page.locator("#plan-remove-item").wait_for(state="hidden")

    page.click('[data-plan-action="present"]')
    page.locator('.plan-status[data-status="presented"]').wait_for()
    page.click('[data-plan-action="choose"][data-tier="optimal"]')
    page.locator('.plan-status[data-status="accepted"]').wait_for()
    assert page.locator(".plan-variant-chosen").get_attribute("data-tier") == "optimal"
    screenshot("chosen")

    with app.app_context():
        plan = db.session.execute(
            select(TreatmentPlan).filter_by(patient_id=patient_id).order_by(TreatmentPlan.id.desc())
        ).scalars().first()
        assert plan.status == "accepted"
        assert [v.tier for v in plan.variants if v.chosen] == ["optimal"]
        has_printout = "plan_printout.preview" in app.view_functions
    if has_printout:
        preview = page.locator("a.plan-printout").last.get_attribute("href")
        response = page.request.get(f"{live_server}{preview}")
        assert response.status == 200
        assert "Планова" in response.text()
        pdf = page.locator("a.plan-printout-pdf").last.get_attribute("href")
        assert page.request.get(f"{live_server}{pdf}").status == 200
    switch_language(page, "ru")  # the coordinator's language as seeded, for the other tests

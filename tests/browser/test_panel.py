"""The panel in a real headless Chromium: sign in, menu, a list, a refusal."""
import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_the_owner_signs_in_and_opens_the_patient_list(page, live_server, screenshot):
    elsewhere = []  # a clinic's network may have no internet: nothing is fetched from outside
    page.on("request", lambda request: None if request.url.startswith(live_server) else elsewhere.append(request.url))
    sign_in(page, live_server, "owner")
    assert "StomPRO" in page.title()
    page.goto(f"{live_server}/admin/patient/")
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() > 10
    assert page.locator("text=Пациенты").first.is_visible()
    assert elsewhere == []
    screenshot("patients")


def test_a_doctor_is_refused_the_price_list(page, live_server):
    sign_in(page, live_server, "doctor")
    response = page.goto(f"{live_server}/admin/price_list/")
    assert response.status == 403
    assert "403" in page.content()


def test_a_wrong_password_shows_a_message(page, live_server):
    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".invalid-feedback").first.inner_text().strip() != ""

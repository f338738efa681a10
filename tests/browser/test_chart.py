"""The odontogram in a real headless Chromium: the doctor records caries on
36 O and sees it after a reload; the administrator's chart is read-only."""
from datetime import date

import pytest


from .conftest import committed_patient, sign_in

pytestmark = pytest.mark.browser

CARIES_RED = "#E53935"


# Earlier work on this patient, so the screenshots show every kind of drawing.
EARLIER_FINDINGS = [
    {"tooth": 16, "surfaces": "", "condition": "crown"},
    {"tooth": 26, "surfaces": "", "condition": "root_canal_treated"},
    {"tooth": 46, "surfaces": "", "condition": "implant"},
    {"tooth": 21, "surfaces": "", "condition": "pulpitis"},
    {"tooth": 14, "surfaces": "MOD", "condition": "filling"},
    {"tooth": 11, "surfaces": "V", "condition": "caries"},
    {"tooth": 47, "surfaces": "", "condition": "extraction_indicated"},
]


@pytest.fixture(scope="module")
def patient_id(app):
    with committed_patient(app, "Кариесова", "Анна", date(1990, 6, 1), "+79160000009", EARLIER_FINDINGS, 90) as patient_id:
        yield patient_id


def surface(page, tooth, letter):
    return page.locator(f'polygon.surface[data-tooth="{tooth}"][data-surface="{letter}"]')


def test_the_doctor_records_caries_on_36_o_and_sees_it_after_a_reload(page, live_server, patient_id, screenshot):
    sign_in(page, live_server, "doctor")
    page.goto(f"{live_server}/admin/chart/{patient_id}")
    assert page.locator("#chart-record").is_disabled()

    surface(page, 36, "O").click()
    assert "selected" in surface(page, 36, "O").get_attribute("class")
    assert page.locator("#chart-selection").inner_text() == "36 O"
    surface(page, 37, "O").click(modifiers=["Shift"])
    assert page.locator("#chart-selection").inner_text() == "36 O, 37 O"
    screenshot("selecting")
    surface(page, 37, "O").click(modifiers=["Shift"])
    assert page.locator("#chart-selection").inner_text() == "36 O"
    page.select_option("#chart-condition", "caries")
    page.click("#chart-record")
    page.wait_for_selector('polygon[data-tooth="36"][data-surface="O"][data-condition="caries"]')
    page.locator("#tooth-history h2", has_text="36").wait_for()
    assert page.locator("#tooth-history .tooth-timeline-entry").count() == 1

    page.reload()
    o36 = surface(page, 36, "O")
    assert o36.get_attribute("data-condition") == "caries"
    assert o36.get_attribute("fill") == CARIES_RED
    assert o36.evaluate("el => getComputedStyle(el).fill") == "rgb(229, 57, 53)"
    assert surface(page, 36, "M").get_attribute("data-condition") == ""

    # Several teeth at once: "select several", then one whole-tooth condition.
    page.check("#chart-several", force=True)
    page.locator('g.tooth[data-tooth="18"] text.tooth-number').click()
    page.locator('g.tooth[data-tooth="28"] text.tooth-number').click()
    assert page.locator("#chart-selection").inner_text().startswith("18 (")
    page.select_option("#chart-condition", "missing")
    page.click("#chart-record")
    page.wait_for_selector('g.tooth-missing[data-tooth="28"]')
    assert page.locator('g.tooth-missing[data-tooth="18"]').count() == 1
    screenshot("permanent")

    page.click('a[data-dentition-link="primary"]')
    page.wait_for_selector('.odontogram[data-dentition="primary"]')
    assert page.locator("g.tooth").count() == 20
    screenshot("primary")
    page.click('a[data-dentition-link="mixed"]')
    page.wait_for_selector('.odontogram[data-dentition="mixed"]')
    assert page.locator("g.tooth").count() == 52
    assert surface(page, 36, "O").get_attribute("data-condition") == "caries"
    screenshot("mixed")


def test_bad_input_shows_the_message_and_changes_nothing(page, live_server, patient_id):
    sign_in(page, live_server, "doctor")
    page.goto(f"{live_server}/admin/chart/{patient_id}")
    before = page.locator("#chart-state").inner_html()
    page.evaluate(
        """async () => {
            const root = document.getElementById("chart-page");
            const response = await fetch(root.dataset.recordUrl, {
                method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
                body: JSON.stringify({findings: [{tooth: 19, surfaces: "", condition: "caries"}]})
            });
            window.__status = response.status;
        }"""
    )
    assert page.evaluate("window.__status") == 422
    page.reload()
    assert page.locator("#chart-state").inner_html() == before


def test_the_administrator_sees_the_chart_read_only(page, live_server, patient_id, screenshot):
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/chart/{patient_id}")
    assert page.locator("#chart-record").count() == 0
    assert page.locator("#chart-condition").count() == 0
    assert page.locator("#chart-read-only").is_visible()
    assert page.locator(".odontogram-editable").count() == 0

    surface(page, 36, "O").click()
    assert "selected" not in surface(page, 36, "O").get_attribute("class")
    page.wait_for_selector("#tooth-history h2")
    assert "36" in page.locator("#tooth-history h2").inner_text()
    screenshot("read-only")

"""The Content-Security-Policy in a real headless Chromium: the buttons that
used inline handlers still work through static/admin/panel.js — the delete
confirmation (dismissed, nothing is deleted), a bulk action, an inline row,
the language select — and the browser reports no violation on the way."""
from datetime import date
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Staff
from stompro.patients.models import Patient
from stompro.planning.models import TreatmentPlan

from .conftest import committed_patient, sign_in

pytestmark = pytest.mark.browser

LAST_NAME = "Политикова"

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.stomproCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.documentURI}:${event.lineNumber}`
  );
});
"""


@pytest.fixture(scope="module")
def patient_id(app):
    findings = [{"tooth": 16, "surfaces": "O", "condition": "caries"}]
    with committed_patient(app, LAST_NAME, "Ксения", date(1988, 2, 3), "+79160000077", findings, 30) as patient_id:
        yield patient_id


@pytest.fixture
def violations(page):
    """What the browser refused: securitypolicyviolation events of every
    frame, and CSP messages on the console."""
    found = []

    def report(text):
        found.append(text)

    page.expose_function("stomproCspViolation", report)
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: found.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return found


@pytest.fixture
def dialogs(page):
    """Every dialog's message; each is dismissed (Cancel) unless the test
    sets ``answer[0] = True`` first."""
    seen, answer = [], [False]

    def handle(dialog):
        seen.append(dialog.message)
        dialog.accept() if answer[0] else dialog.dismiss()

    page.on("dialog", handle)
    return seen, answer


def live(app, patient_id):
    with app.app_context():
        return db.session.get(Patient, patient_id).deleted_at is None


def test_the_delete_button_asks_first_and_cancel_deletes_nothing(page, live_server, app, patient_id, violations, dialogs):
    seen, _ = dialogs
    sign_in(page, live_server, "owner")
    page.goto(f"{live_server}/admin/patient/?search={LAST_NAME}")
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() == 1
    button = rows.first.locator("form.icon button[data-confirm]")
    button.click()
    assert seen == [button.get_attribute("data-confirm")]
    page.wait_for_timeout(300)  # a form sent anyway would be under way by now
    assert unquote(page.url) == f"{live_server}/admin/patient/?search={LAST_NAME}"
    assert rows.count() == 1 and live(app, patient_id)
    assert violations == []


def test_a_bulk_action_runs_and_asks_first(page, live_server, app, patient_id, violations, dialogs):
    seen, _ = dialogs
    sign_in(page, live_server, "owner")
    page.goto(f"{live_server}/admin/patient/?search={LAST_NAME}")
    menu = page.locator("li.dropdown", has=page.locator("[data-model-action]")).locator("a.dropdown-toggle")
    # Nothing selected: the action says so.
    menu.click()
    page.locator("[data-model-action=delete]").click()
    assert len(seen) == 1
    # One row selected: the action asks before deleting; cancelled, nothing happens.
    page.locator("input.action-checkbox").first.check()
    menu.click()
    page.locator("[data-model-action=delete]").click()
    assert len(seen) == 2 and seen[0] != seen[1]
    page.wait_for_timeout(300)
    assert unquote(page.url) == f"{live_server}/admin/patient/?search={LAST_NAME}"
    assert live(app, patient_id)
    assert violations == []


def test_an_inline_row_is_added_and_removed(page, live_server, violations, dialogs):
    seen, answer = dialogs
    sign_in(page, live_server, "owner")
    page.goto(f"{live_server}/admin/patient/new/")
    tags = page.locator("#tags > .inline-field-list > .inline-field")
    assert tags.count() == 0
    page.click("[data-inline-add=tags]")
    page.click("[data-inline-add=tags]")
    assert tags.count() == 2
    assert page.url == f"{live_server}/admin/patient/new/"  # "#" was not followed
    answer[0] = True
    tags.last.locator(".inline-remove-field").click()
    assert len(seen) == 1
    assert tags.count() == 1
    assert violations == []


def test_the_language_select_switches_the_language(page, live_server, app, violations):
    with app.app_context():
        owner = db.session.execute(select(Staff).filter_by(login="owner")).scalar_one()
        language = owner.language
    try:
        sign_in(page, live_server, "owner")
        page.goto(f"{live_server}/admin/patient/")
        start = page.locator("select[name=language]").input_value()
        other = "en" if start == "ru" else "ru"
        with page.expect_navigation():
            page.locator("select[name=language]").select_option(other)
        assert page.url == f"{live_server}/admin/patient/"
        assert page.locator("select[name=language]").input_value() == other
        assert ("Patients" if other == "en" else "Пациенты") in page.locator("h4").first.inner_text()
        with page.expect_navigation():
            page.locator("select[name=language]").select_option(start)
        assert page.locator("select[name=language]").input_value() == start
        assert violations == []
    finally:
        with app.app_context():
            owner = db.session.execute(select(Staff).filter_by(login="owner")).scalar_one()
            owner.language = language
            db.session.commit()


def test_the_panel_screens_run_without_violations(page, live_server, app, patient_id, violations):
    """The odontogram (inline SVG, fetch), the plan screen, the printout
    preview (a srcdoc frame), the card, filters and the pager."""
    with app.app_context():
        plan_id = db.session.scalars(
            select(TreatmentPlan.id).join(Patient, TreatmentPlan.patient_id == Patient.id)
            .where(TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None)).order_by(TreatmentPlan.id)
        ).first()
    sign_in(page, live_server, "owner")
    for path in (
        f"/admin/patient_card/{patient_id}",
        f"/admin/chart/{patient_id}",
        f"/admin/exam/card/{patient_id}",
        f"/admin/attachment/patient/{patient_id}",
        f"/admin/plan/{plan_id}",
        f"/admin/plan_printout/{plan_id}",
        f"/admin/patient/edit/?id={patient_id}",
        f"/admin/patient/details/?id={patient_id}",
    ):
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
    # The odontogram's history panel is fetched and drawn.
    page.goto(f"{live_server}/admin/chart/{patient_id}")
    page.locator('polygon.surface[data-tooth="16"][data-surface="O"]').click()
    page.wait_for_load_state("networkidle")
    # A list's menus, filter and pager ("#" links, not followed).
    page.goto(f"{live_server}/admin/patient/")
    page.locator("li.dropdown", has=page.locator(".field-filters")).locator("a.dropdown-toggle").click()
    page.locator(".field-filters a.filter").first.click()
    assert page.locator("#filter_form table.filters tr").count() == 1
    page.locator("nav.navbar li.dropdown > a.dropdown-toggle").first.click()
    assert page.locator("nav.navbar li.dropdown .dropdown-menu").first.is_visible()
    assert page.url == f"{live_server}/admin/patient/"
    page.goto(f"{live_server}/admin/diagnosis/?page_size=20")
    current = page.locator(".pagination .page-item.active a.page-link")
    assert current.count() == 1
    current.click()
    assert page.url == f"{live_server}/admin/diagnosis/?page_size=20"
    assert violations == []


def test_a_pdf_opens_in_the_browsers_viewer(page, live_server, app, violations):
    """object-src 'none' and frame-ancestors 'none' on the PDF itself do not
    keep Chromium's viewer from showing it."""
    with app.app_context():
        plan_id = db.session.scalars(
            select(TreatmentPlan.id).join(Patient, TreatmentPlan.patient_id == Patient.id)
            .where(TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None)).order_by(TreatmentPlan.id)
        ).first()
    sign_in(page, live_server, "owner")
    response = page.goto(f"{live_server}/admin/plan_printout/{plan_id}.pdf")
    headers = response.all_headers()  # .headers holds what the viewer's stream kept of them
    assert response.status == 200 and headers["content-type"] == "application/pdf"
    assert "object-src 'none'" in headers["content-security-policy"]
    for _ in range(50):  # the viewer is a frame of Chromium's own
        if any(frame.url.startswith("chrome-extension://") for frame in page.frames):
            break
        page.wait_for_timeout(100)
    assert any(frame.url.startswith("chrome-extension://") for frame in page.frames), [f.url for f in page.frames]
    page.wait_for_timeout(500)  # time for the viewer to report a refusal, if any
    assert violations == []

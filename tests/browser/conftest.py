"""A live server in a thread and Debian's headless Chromium driven by Playwright.

Browser tests commit for real (the server runs in another thread, outside
the per-test transaction), so they only sign in and read."""
import os
import threading
from contextlib import contextmanager
from datetime import time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from stompro.chart.services import record_findings
from stompro.db import utcnow
from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.patients.models import Patient
from stompro.planning.models import TreatmentPlan
from stompro.records import soft_delete
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Shift

CHROMIUM = os.environ.get("STOMPRO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the [test] extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@contextmanager
def browser_page(browser):
    """A page of a browser context of its own: its own cookies, as on another person's computer."""
    context = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser):
    with browser_page(browser) as page:
        yield page


@pytest.fixture
def screenshot(page, request):
    """Save a screenshot of the test's page (or ``of`` another) under test-artifacts/ (kept by CI)."""

    def take(name, of=None):
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return take


@contextmanager
def committed_patient(app, last_name, first_name, birth_date, phone, findings, recorded_days_ago):
    """A patient of a browser test's own, with chart findings, committed for
    real (the live server runs in another thread) and soft-deleted at the end,
    with any plans made for them, so the lists other tests read stay as seeded."""
    with app.app_context():
        patient = Patient(last_name=last_name, first_name=first_name, birth_date=birth_date, phone=phone)
        db.session.add(patient)
        doctor = db.session.execute(select(Staff).filter_by(login="doctor")).scalar_one()
        record_findings(db.session, patient, doctor, findings, now=utcnow() - timedelta(days=recorded_days_ago))
        db.session.commit()
        patient_id = patient.id
    try:
        yield patient_id
    finally:  # a failed test's patient too, or the next test would find two
        with app.app_context():
            for plan in db.session.execute(select(TreatmentPlan).filter_by(patient_id=patient_id)).scalars():
                soft_delete(db.session, plan)
            soft_delete(db.session, db.session.get(Patient, patient_id))
            db.session.commit()


def choose_a_plan(app, patient_id, tier="optimal"):
    """The doctor builds the patient's plan, presents it and the patient chooses ``tier``; committed; its id."""
    from stompro.planning.builder import build_plan
    from stompro.planning.services import choose_variant, present_plan

    with app.app_context():
        doctor = db.session.execute(select(Staff).filter_by(login="doctor")).scalar_one()
        plan = build_plan(db.session, db.session.get(Patient, patient_id), doctor)
        present_plan(db.session, plan, doctor)
        choose_variant(db.session, plan, tier, doctor)
        db.session.commit()
        return plan.id


@contextmanager
def shift_for(app, last_name, day, hours=(time(9), time(18)), clinic_name="StomPRO Центр"):
    """A shift of a demo doctor on ``day`` in the branch, committed for the
    live server and soft-deleted at the end."""
    with app.app_context():
        doctor = db.session.execute(select(Staff).filter_by(last_name=last_name)).scalar_one()
        branch = db.session.execute(select(Clinic).filter_by(name=clinic_name)).scalar_one()
        shift = Shift(staff=doctor, clinic=branch, work_date=day,
                      starts_at=at_local(branch, day, hours[0]), ends_at=at_local(branch, day, hours[1]))
        db.session.add(shift)
        db.session.commit()
        shift_id = shift.id
    try:
        yield shift_id
    finally:
        with app.app_context():
            soft_delete(db.session, db.session.get(Shift, shift_id))
            db.session.commit()


def sign_in(page, live_server, login, password="demo", language="ru"):
    """Sign in, speaking ``language``: the language is the person's, kept from
    whatever an earlier test chose, so every test starts from the one it reads."""
    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/**")
    switch_language(page, language)


def switch_language(page, language):
    select = page.locator("select[name=language]")
    if select.input_value() != language:
        with page.expect_navigation():
            select.select_option(language)

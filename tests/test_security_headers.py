"""Issue 8, headers on every response: the Content-Security-Policy and the
hardening headers on every kind of answer, nonces on inline scripts, no
inline event handlers left in any admin page (the policy would block them
silently), HSTS and the Secure cookie only when served over HTTPS."""
import re

import pytest
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import select

from stompro import create_app
from stompro.api.auth import issue_token
from stompro.chart.models import Exam
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.planning.models import TreatmentPlan
from stompro.security import HSTS

from .conftest import staff_by_login

REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
INLINE_HANDLER = re.compile(r"""\son(click|change|submit|input|load|error|focus|blur|key\w+|mouse\w+)\s*=""", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.I | re.S)
NONCE_ATTRIBUTE = re.compile(r"""\bnonce=["']([^"']*)["']""")


def policy(response):
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value.strip()
    return directives


def response_nonce(response):
    match = re.search(r"'nonce-([^']+)'", policy(response).get("script-src", ""))
    return match.group(1) if match else None


def assert_secured(response):
    where = f"{response.request.path} ({response.status_code})"
    directives = policy(response)
    for name, value in REQUIRED_DIRECTIVES.items():
        assert directives.get(name) == value, f"{where}: {name} is {directives.get(name)!r}"
    script_src = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, where
    assert "*" not in script_src and "data:" not in script_src, where
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] == "same-origin", where
    assert "Strict-Transport-Security" not in response.headers, f"{where}: HSTS without HTTPS"


def assert_scripts_carry_the_nonce(response):
    """Every inline script carries this response's nonce; so does every
    script tag that has one at all (a stale nonce would be refused)."""
    html = response.get_data(as_text=True)
    nonce = response_nonce(response)
    for attributes, body in SCRIPT_TAG.findall(html):
        found = NONCE_ATTRIBUTE.search(attributes)
        inline = "src=" not in attributes
        if inline:
            assert found and found.group(1) == nonce, f"{response.request.path}: inline script without this response's nonce: {body[:80]!r}"
        elif found:
            assert found.group(1) == nonce, f"{response.request.path}: a script with another response's nonce"


def assert_no_inline_handlers(url, html):
    handler = INLINE_HANDLER.search(html)
    assert not handler, f"{url}: inline handler {html[max(0, handler.start() - 80):handler.end() + 40]!r}"
    assert "javascript:" not in html.lower(), f"{url}: a javascript: URL"


# -- every kind of response ---------------------------------------------------------


def test_a_panel_page_of_a_signed_in_person(client, auth):
    auth.as_role("owner")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert_secured(response)
    assert_scripts_carry_the_nonce(response)


def test_the_sign_in_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_secured(response)
    assert_no_inline_handlers("/login", response.get_data(as_text=True))


def test_a_redirect_to_sign_in(client):
    response = client.get("/admin/patient/")
    assert response.status_code == 302
    assert_secured(response)


@pytest.mark.parametrize("url", ["/no-such-page", "/admin/no-such-page/"])
def test_a_missing_page(client, auth, url):
    auth.as_role("owner")
    response = client.get(url)
    assert response.status_code == 404
    assert_secured(response)


def test_a_refused_page(client, auth):
    auth.as_role("doctor")
    response = client.get("/admin/price_list/")
    assert response.status_code == 403
    assert_secured(response)


@pytest.mark.parametrize(
    "url",
    ["/static/admin/panel.js", "/admin/static/vendor/jquery.min.js", "/theme/bootstrap.css"],
)
def test_static_files(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_secured(response)
    response.close()


def test_an_api_answer(client):
    token = issue_token(staff_by_login("owner"))
    response = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.is_json
    assert_secured(response)


@pytest.mark.parametrize(
    "url, status",
    [("/api/v1/patients", 401), ("/api/v1/plans/999999999", 404), ("/api/v1/nowhere", 404)],
)
def test_api_errors(client, url, status):
    headers = {} if status == 401 else {"Authorization": f"Bearer {issue_token(staff_by_login('owner'))}"}
    response = client.get(url, headers=headers)
    assert response.status_code == status
    assert_secured(response)


def test_the_policy_has_a_fresh_nonce_only_when_a_page_uses_one(client, auth):
    auth.as_role("owner")
    first, second = client.get("/admin/patient/"), client.get("/admin/patient/")
    assert response_nonce(first) and response_nonce(second)
    assert response_nonce(first) != response_nonce(second)
    assert f'nonce="{response_nonce(first)}"' in first.get_data(as_text=True)
    assert response_nonce(client.get("/static/admin/panel.js")) is None
    style_src = policy(first)["style-src"]
    assert "'unsafe-inline'" in style_src and "nonce" not in style_src  # a nonce would void 'unsafe-inline'


# -- the panel's pages ------------------------------------------------------------------


def _model_views():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "SEED_DEMO_ON_FIRST_START": False})
    return sorted(v.endpoint for v in app.extensions["stompro_admin"]._views if isinstance(v, ModelView))


MODEL_VIEWS = _model_views()


@pytest.mark.parametrize("endpoint", MODEL_VIEWS)
def test_no_inline_handlers_in_any_list_create_edit_or_details_page(client, auth, endpoint):
    """Opened as the owner, who sees every button the panel draws; the edit
    and details pages of the first row the list shows."""
    auth.as_role("owner")
    listed = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    row = re.search(rf"/admin/{endpoint}/(?:details|edit)/\?id=(\d+)", listed)
    urls = [f"/admin/{endpoint}/", f"/admin/{endpoint}/new/"]
    if row is not None:
        urls += [f"/admin/{endpoint}/edit/?id={row.group(1)}", f"/admin/{endpoint}/details/?id={row.group(1)}"]
    opened = 0
    for url in urls:
        response = client.get(url)
        if response.status_code in (302, 403):  # not the owner's to write (exams), or changed elsewhere (plans, logs)
            continue
        assert response.status_code == 200, f"{url}: {response.status_code}"
        html = response.get_data(as_text=True)
        assert_secured(response)
        assert_scripts_carry_the_nonce(response)
        assert_no_inline_handlers(url, html)
        assert "admin/panel.js" in html, f"{url}: the panel's handlers are not loaded"
        opened += 1
    assert opened, endpoint


def _smoke_urls():
    patient = db.session.scalars(
        select(Patient).join(TreatmentPlan, TreatmentPlan.patient_id == Patient.id)
        .where(Patient.deleted_at.is_(None), TreatmentPlan.deleted_at.is_(None)).order_by(Patient.id)
    ).first()
    plan = db.session.scalars(
        select(TreatmentPlan).where(TreatmentPlan.patient_id == patient.id, TreatmentPlan.deleted_at.is_(None))
    ).first()
    return [
        "/admin/",
        f"/admin/patient_card/{patient.id}",
        f"/admin/exam/card/{patient.id}",
        f"/admin/chart/{patient.id}",
        f"/admin/chart/{patient.id}/tooth/16",
        f"/admin/attachment/patient/{patient.id}",
        f"/admin/attachment/upload/{patient.id}",
        f"/admin/plan/{plan.id}",
        f"/admin/plan_printout/{plan.id}",
        "/admin/recycle_bin/",
    ]


@pytest.mark.parametrize("role", ["owner", "doctor"])
def test_the_panel_screens(client, auth, role):
    """The hand-made screens, as the owner and as a doctor (who has the sign
    and delete buttons of the medical card)."""
    auth.as_role(role)
    for url in _smoke_urls():
        response = client.get(url)
        if role != "owner" and response.status_code == 403:  # the recycle bin is the owner's
            continue
        assert response.status_code == 200, f"{url}: {response.status_code}"
        html = response.get_data(as_text=True)
        assert_secured(response)
        assert_scripts_carry_the_nonce(response)
        assert_no_inline_handlers(url, html)


def test_the_confirmations_moved_to_data_attributes(app, client, auth):
    """The questions the inline handlers asked are still asked (panel.js)."""
    doctor = auth.as_role("doctor")
    draft = Exam(patient=db.session.scalars(select(Patient).order_by(Patient.id)).first(), doctor=doctor)
    db.session.add(draft)
    db.session.commit()
    exams = client.get("/admin/exam/").get_data(as_text=True)
    assert 'data-confirm="A signed exam cannot be changed. Sign it?"' in exams
    card = client.get(f"/admin/exam/card/{draft.patient_id}").get_data(as_text=True)
    assert 'data-confirm="A signed exam cannot be changed. Sign it?"' in card
    auth.as_role("owner")
    patients = client.get("/admin/patient/").get_data(as_text=True)
    assert 'data-confirm="Are you sure you want to delete this record?"' in patients
    assert 'data-model-action="delete"' in patients
    new_patient = client.get("/admin/patient/new/").get_data(as_text=True)
    assert 'data-inline-add="tags"' in new_patient
    assert "data-autosubmit" in new_patient


# -- HTTPS ----------------------------------------------------------------------------


def _app(database_url, **settings):
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "SEED_DEMO_ON_FIRST_START": False, **settings})


def _session_cookie(response):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_without_https_no_hsts_and_a_plain_session_cookie(database_url):
    app = _app(database_url)
    assert app.config["HTTPS"] is False and not app.config.get("SESSION_COOKIE_SECURE")
    response = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers
    cookie = _session_cookie(response)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_with_https_hsts_and_a_secure_session_cookie(database_url, monkeypatch, value):
    monkeypatch.setenv("STOMPRO_HTTPS", value)
    app = _app(database_url)
    assert app.config["HTTPS"] is True and app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    cookie = _session_cookie(client.get("/login", base_url="https://localhost"))
    for url in ("/login", "/static/admin/panel.js", "/no-such-page", "/api/v1/patients"):
        response = client.get(url, base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == HSTS, url
        assert response.headers["X-Frame-Options"] == "DENY", url
        response.close()
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_https_off_spelled_out(database_url, monkeypatch, value):
    monkeypatch.setenv("STOMPRO_HTTPS", value)
    app = _app(database_url)
    assert app.config["HTTPS"] is False
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers

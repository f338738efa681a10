"""Tokens: issued for a correct login and password under the sign-in rules,
required on every call, expiring, revoked by a password change; roles per endpoint."""
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from stompro.api.auth import TOKEN_SALT, issue_token
from stompro.chart.models import ToothFinding
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import SignInFailure
from stompro.org.services import set_password

from ..conftest import DEMO_LOGIN_BY_ROLE, staff_by_login
from .conftest import count


def request_token(client, login, password):
    return client.post("/api/v1/token", json={"login": login, "password": password})


def test_a_token_is_issued_and_opens_the_api(client):
    response = request_token(client, "doctor", "demo")
    assert response.status_code == 200
    body = response.get_json()
    assert body["expires_in"] == 12 * 3600
    found = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {body['token']}"})
    assert found.status_code == 200
    assert "patients" in found.get_json()


def test_wrong_credentials_are_401_and_the_failure_is_counted(client, app):
    response = request_token(client, "doctor", "not-the-password")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Wrong login or password."}
    failures = db.session.execute(select(SignInFailure).filter_by(login="doctor")).scalars().all()
    assert [f.address for f in failures] == ["127.0.0.1"]
    assert request_token(client, "nobody", "demo").status_code == 401


def test_the_lockout_applies_to_tokens_too(client, app):
    for _ in range(app.config["LOCKOUT_FAILURES"]):
        assert request_token(client, "doctor", "wrong").status_code == 401
    response = request_token(client, "doctor", "demo")
    assert response.status_code == 401
    assert "Too many failed attempts" in response.get_json()["error"]


def test_credentials_must_be_text(client):
    response = client.post("/api/v1/token", json={"login": "doctor", "password": 12345})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"password"}


def test_no_token_is_401_json(client):
    response = client.get("/api/v1/patients")
    assert response.status_code == 401
    assert "Bearer" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic ZG9jdG9yOmRlbW8=", "nonsense"])
def test_a_wrong_token_is_401(client, header):
    response = client.get("/api/v1/patients", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.is_json


def test_a_token_signed_with_another_key_is_401(client, app):
    doctor = staff_by_login("doctor")
    forged = URLSafeTimedSerializer("another-key", salt=TOKEN_SALT).dumps({"staff": doctor.id, "pw": "x"})
    response = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "The token is not valid: request a new one."


def test_an_expired_token_is_401(client, app, monkeypatch):
    token = issue_token(staff_by_login("doctor"))
    later = int(time.time()) + 12 * 3600 + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "The token has expired: request a new one."


def test_a_password_change_revokes_the_token(client, app):
    doctor = staff_by_login("doctor")
    token = issue_token(doctor)
    set_password(doctor, "a-new-password")
    db.session.commit()
    response = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_deactivated_person_loses_access(client, app):
    doctor = staff_by_login("doctor")
    token = issue_token(doctor)
    doctor.active = False
    db.session.commit()
    assert client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_panel_cookie_does_not_open_the_api(client, auth):
    auth.as_role("owner")
    assert client.get("/admin/").status_code == 200
    response = client.get("/api/v1/patients")
    assert response.status_code == 401
    assert response.is_json


def test_api_calls_set_no_cookie(api):
    api.as_role("doctor")
    response = api.get("/api/v1/patients")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


READ_PATIENTS = set(DEMO_LOGIN_BY_ROLE)
WRITE_PATIENTS = {"owner", "doctor", "administrator", "coordinator", "call_center"}
READ_CHART = {"owner", "doctor", "administrator", "coordinator"}
WRITE_CHART = {"doctor"}


@pytest.mark.parametrize("role", sorted(DEMO_LOGIN_BY_ROLE))
def test_each_endpoint_checks_the_role(api, patient, role):
    """Allowed roles get past the check (the POST bodies are invalid on
    purpose, so they end in 422 and write nothing); the rest get a 403."""
    api.as_role(role)
    chart = f"/api/v1/patients/{patient.id}/chart"
    calls = {
        "GET patients": (api.get("/api/v1/patients"), READ_PATIENTS, 200),
        "POST patients": (api.post("/api/v1/patients", json={}), WRITE_PATIENTS, 422),
        "GET chart": (api.get(chart), READ_CHART, 200),
        "POST chart": (api.post(chart, json={"findings": []}), WRITE_CHART, 422),
    }
    for name, (response, allowed, status) in calls.items():
        expected = status if role in allowed else 403
        assert response.status_code == expected, f"{role} {name}: {response.status_code}"
        assert response.is_json


@pytest.mark.parametrize(
    "role, method",
    [("cashier", "post"), ("coordinator", "post"), ("cashier", "get")],
)
def test_a_role_without_rights_gets_403_on_the_chart(api, patient, role, method):
    api.as_role(role)
    url = f"/api/v1/patients/{patient.id}/chart"
    before = count(ToothFinding)
    if method == "post":
        response = api.post(url, json={"findings": [{"tooth": 36, "surfaces": "O", "condition": "caries"}]})
    else:
        response = api.get(url)
    assert response.status_code == 403
    assert response.get_json() == {"error": "Your role does not allow this."}
    assert count(ToothFinding) == before

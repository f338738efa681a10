"""Tokens: issued for a correct login and password under the sign-in rules,
required on every call, expiring, revoked with the person's sessions (sign-out,
a new password, deactivation, other roles or branches); roles per endpoint."""
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from stompro.api.auth import TOKEN_SALT, issue_token
from stompro.chart.models import ToothFinding
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Clinic, SignInFailure
from stompro.org.services import (
    change_own_password,
    deactivate_staff,
    end_sessions,
    reactivate_staff,
    reset_password,
    set_clinics,
    set_password,
    set_roles,
)

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
    forged = URLSafeTimedSerializer("another-key", salt=TOKEN_SALT).dumps({"staff": doctor.id, "epoch": doctor.session_epoch})
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


def patients(client, token):
    return client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})


def test_a_password_change_revokes_the_token(client, app):
    doctor = staff_by_login("doctor")
    token = issue_token(doctor)
    set_password(doctor, "a-new-password")
    db.session.commit()
    response = patients(client, token)
    assert response.status_code == 401
    assert response.get_json()["error"] == "The token is not valid: request a new one."


def test_the_person_s_own_password_change_revokes_their_tokens(client, app):
    doctor = staff_by_login("doctor")
    token = issue_token(doctor)
    change_own_password(db.session, doctor, "demo", "a-new-password")
    db.session.commit()
    assert patients(client, token).status_code == 401
    assert patients(client, issue_token(doctor)).status_code == 200


def test_a_deactivated_person_loses_access(client, app):
    doctor = staff_by_login("doctor")
    token = issue_token(doctor)
    deactivate_staff(db.session, doctor)
    db.session.commit()
    assert patients(client, token).status_code == 401
    reactivate_staff(db.session, doctor)
    db.session.commit()
    assert patients(client, token).status_code == 401  # reactivation does not revive old tokens


@pytest.mark.parametrize(
    "change",
    [
        lambda doctor: set_roles(db.session, doctor, ["doctor", "coordinator"]),
        lambda doctor: set_clinics(db.session, doctor, db.session.execute(db.select(Clinic)).scalars().all()),
        lambda doctor: reset_password(db.session, doctor, "temporary-pass-1"),
        lambda doctor: end_sessions(doctor),
    ],
    ids=["roles", "branches", "reset", "end_sessions"],
)
def test_changes_that_end_sessions_revoke_tokens(client, app, change):
    doctor = staff_by_login("doctor")
    token = issue_token(doctor)
    assert patients(client, token).status_code == 200
    change(doctor)
    db.session.commit()
    assert patients(client, token).status_code == 401


def test_signing_out_of_the_panel_revokes_the_tokens(client, auth):
    token = request_token(client, "doctor", "demo").get_json()["token"]
    assert patients(client, token).status_code == 200
    assert auth.login("doctor", "demo").status_code == 302
    client.post("/logout", data={"csrf_token": auth.csrf_token()})
    assert patients(client, token).status_code == 401


def test_a_token_from_an_older_epoch_or_without_one_is_401(client, app):
    doctor = staff_by_login("doctor")
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=TOKEN_SALT)
    for claims in (
        {"staff": doctor.id, "epoch": doctor.session_epoch - 1},
        {"staff": doctor.id, "epoch": doctor.session_epoch + 1},
        {"staff": doctor.id, "epoch": str(doctor.session_epoch)},
        {"staff": doctor.id, "pw": "0123456789abcdef"},
        {"staff": doctor.id},
        [doctor.id, doctor.session_epoch],
    ):
        assert patients(client, serializer.dumps(claims)).status_code == 401, claims
    assert patients(client, serializer.dumps({"staff": doctor.id, "epoch": doctor.session_epoch})).status_code == 200


def test_no_token_while_the_password_is_temporary(client, app):
    doctor = staff_by_login("doctor")
    reset_password(db.session, doctor, "temporary-pass-1")
    db.session.commit()
    response = request_token(client, "doctor", "temporary-pass-1")
    assert response.status_code == 403
    assert response.get_json()["error"] == "Choose a new password in the panel first: the current one is temporary."
    assert "token" not in response.get_json()
    # a token made some other way does not work either
    assert patients(client, issue_token(doctor)).status_code == 401


def test_rehashing_the_password_at_sign_in_keeps_the_tokens(client, app, monkeypatch):
    """An upgrade of the hash parameters is not a new password."""
    from stompro.org import services

    token = request_token(client, "doctor", "demo").get_json()["token"]
    monkeypatch.setattr(services, "needs_rehash", lambda password_hash: True)
    assert request_token(client, "doctor", "demo").status_code == 200
    assert patients(client, token).status_code == 200


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


def test_me_says_who_the_token_is(app, api):
    from ..conftest import staff_by_login

    api.as_role("administrator")
    me = api.get("/api/v1/me")
    admin = staff_by_login("admin")
    assert me.status_code == 200
    assert me.get_json() == {"id": admin.id, "login": "admin", "name": admin.full_name, "roles": ["administrator"],
                             "clinic_ids": sorted(clinic.id for clinic in admin.clinics)}
    api.token = None
    assert api.get("/api/v1/me").status_code == 401

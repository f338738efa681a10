"""The sign-in throttle (per login and address, and per address), unknown
logins, purging old failures; and where sign-in leads (``next=``)."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from stompro.db import utcnow
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.org.models import SignInFailure
from stompro.org.services import ADDRESS_FAILURE_FACTOR, WRONG_CREDENTIALS, authenticate
from stompro.org.views import safe_next


def sign_in_from(client, auth, address, login, password):
    client.environ_base["REMOTE_ADDR"] = address
    return auth.login(login, password)


def failures(**where):
    return db.session.scalar(select(func.count()).select_from(SignInFailure).filter_by(**where))


def test_a_stranger_s_wrong_passwords_do_not_lock_the_owner_out(client, auth, app):
    for _ in range(app.config["LOCKOUT_FAILURES"]):
        response = sign_in_from(client, auth, "203.0.113.7", "owner", "guess")
        assert "Wrong login or password." in response.get_data(as_text=True)
    locked = sign_in_from(client, auth, "203.0.113.7", "owner", "demo")
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert sign_in_from(client, auth, "192.0.2.10", "owner", "demo").status_code == 302


def test_failures_across_logins_throttle_the_address(client, auth, app):
    limit = app.config["LOCKOUT_FAILURES"] * ADDRESS_FAILURE_FACTOR
    assert limit == 20
    address = "198.51.100.3"
    # sixteen earlier failures, at most three per login (argon2 makes each real one slow) …
    now = utcnow()
    earlier = [f"user{n % 6}" for n in range(limit - 4)]
    db.session.add_all([SignInFailure(at=now - timedelta(seconds=30), login=login, address=address) for login in earlier])
    db.session.commit()
    # … and three more through the sign-in page, each for another login
    for login in ("owner", "doctor", "nobody"):
        assert "Wrong login or password." in sign_in_from(client, auth, address, login, "guess").get_data(as_text=True)
    assert failures(address=address) == limit - 1
    # nineteen: the address may still sign in
    assert sign_in_from(client, auth, address, "cashier", "demo").status_code == 302
    client.post("/logout", data={"csrf_token": auth.csrf_token()})
    sign_in_from(client, auth, address, "ghost", "guess")  # the twentieth
    response = sign_in_from(client, auth, address, "doctor", "demo")
    assert response.status_code == 200
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # another address is not concerned
    assert sign_in_from(client, auth, "198.51.100.4", "doctor", "demo").status_code == 302


def test_an_unknown_login_gets_the_same_answer(client, auth):
    known = sign_in_from(client, auth, "192.0.2.20", "owner", "wrong-password").get_data(as_text=True)
    unknown = sign_in_from(client, auth, "192.0.2.20", "no-such-person", "wrong-password").get_data(as_text=True)
    assert "Wrong login or password." in known and "Wrong login or password." in unknown
    assert failures(login="no-such-person", address="192.0.2.20") == 1


def _time_failure(login, address):
    started = time.perf_counter()
    with pytest.raises(DomainError) as error:
        authenticate(db.session, login, "wrong-password", address)
    elapsed = time.perf_counter() - started
    assert error.value.message == WRONG_CREDENTIALS
    return elapsed


def test_an_unknown_login_takes_about_as_long_as_a_wrong_password(app):
    """Both run one argon2 verification: timing does not tell which logins exist."""
    _time_failure("owner", "192.0.2.30")  # warm up (the dummy hash is made once)
    _time_failure("ghost", "192.0.2.30")
    known, unknown = [], []
    for round in range(3):  # fewer than the throttle's five per login and address
        known.append(_time_failure("owner", f"192.0.2.{31 + round}"))
        unknown.append(_time_failure("ghost", f"192.0.2.{31 + round}"))
    known, unknown = min(known), min(unknown)  # the least a failure costs: load on the machine only adds
    assert known > 0.010 and unknown > 0.010, (known, unknown)
    assert max(known, unknown) / min(known, unknown) < 3, (known, unknown)


def test_failures_older_than_the_window_are_purged(app):
    now = utcnow()
    db.session.add_all(
        [
            SignInFailure(at=now - timedelta(minutes=30), login="owner", address="192.0.2.40"),
            SignInFailure(at=now - timedelta(minutes=6), login="doctor", address="192.0.2.41"),
            SignInFailure(at=now - timedelta(minutes=2), login="doctor", address="192.0.2.42"),
        ]
    )
    db.session.commit()
    with pytest.raises(DomainError):
        authenticate(db.session, "cashier", "wrong-password", "192.0.2.43", lockout_minutes=5, now=now)
    db.session.commit()
    remaining = db.session.execute(select(SignInFailure.address).order_by(SignInFailure.address)).scalars().all()
    assert "192.0.2.40" not in remaining and "192.0.2.41" not in remaining
    assert {"192.0.2.42", "192.0.2.43"} <= set(remaining)


def test_old_failures_do_not_throttle(app):
    now = utcnow()
    db.session.add_all(
        [SignInFailure(at=now - timedelta(minutes=6), login="doctor", address="192.0.2.50") for _ in range(30)]
    )
    db.session.commit()
    assert authenticate(db.session, "doctor", "demo", "192.0.2.50", lockout_minutes=5, now=now).login == "doctor"


def test_a_correct_sign_in_clears_the_login_s_failures_from_that_address(client, auth):
    for _ in range(3):
        sign_in_from(client, auth, "192.0.2.60", "coordinator", "wrong")
    assert failures(login="coordinator", address="192.0.2.60") == 3
    assert sign_in_from(client, auth, "192.0.2.60", "coordinator", "demo").status_code == 302
    assert failures(login="coordinator", address="192.0.2.60") == 0


# -- where sign-in leads ---------------------------------------------------------

UNSAFE_NEXT = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/x",
    "////evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " /admin/",
    "/\t/evil.example",
    "/\n/evil.example",
    "/admin/\r\nSet-Cookie: x=1",
    "/%09/evil.example",
    "/admin/\x00",
    "evil.example",
    "admin/",
    "",
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_an_unsafe_next_leads_home(client, auth, target):
    assert safe_next(target) is None
    response = client.post(
        "/login", query_string={"next": target}, data={"login": "owner", "password": "demo", "csrf_token": auth.csrf_token()}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("raw_query", ["next=////evil.example/x", "next=/\\evil.example", "next=%2F%2Fevil", "next=javascript:alert(1)"])
def test_the_issue_s_examples_typed_into_the_address_bar(client, auth, raw_query):
    token = auth.csrf_token()
    response = client.post(f"/login?{raw_query}", data={"login": "owner", "password": "demo", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", ["/admin/patient/", "/admin/patient/?search=%D0%98%D0%B2", "/patient_card/12", "/admin/"])
def test_a_same_site_path_is_followed(client, auth, target):
    assert safe_next(target) == target
    response = client.post(
        "/login", query_string={"next": target}, data={"login": "owner", "password": "demo", "csrf_token": auth.csrf_token()}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_the_language_switch_follows_the_same_rule(client, auth):
    auth.as_role("owner")
    response = client.post("/language", data={"language": "en", "next": "//evil.example", "csrf_token": auth.csrf_token()})
    assert response.headers["Location"] == "/admin/"

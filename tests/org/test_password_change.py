"""A person changes their own password at /account/password; while the owner's
temporary password stands, every page of the panel leads there."""
import pytest

from stompro.extensions import db
from stompro.org.passwords import verify_password
from stompro.org.services import reset_password

from ..conftest import staff_by_login
from .helpers import signed_in


def change(client, auth, current, new, repeat=None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
            "csrf_token": auth.csrf_token(),
        },
    )


def test_the_password_page_opens_for_every_role(client, auth):
    for role in ("owner", "doctor", "administrator", "coordinator", "call_center", "cashier"):
        auth.as_role(role)
        page = client.get("/account/password")
        assert page.status_code == 200, role
        html = page.get_data(as_text=True)
        assert 'name="current_password"' in html and 'name="repeat_password"' in html


def test_the_password_page_needs_a_signed_in_person(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_person_changes_their_password(client, auth):
    auth.as_role("doctor")
    response = change(client, auth, "demo", "my-own-secret-1")
    assert response.status_code == 302
    db.session.expire_all()
    doctor = staff_by_login("doctor")
    assert verify_password(doctor.password_hash, "my-own-secret-1")
    assert signed_in(client)
    client.post("/logout", data={"csrf_token": auth.csrf_token()})
    assert auth.login("doctor", "demo").status_code == 200
    assert auth.login("doctor", "my-own-secret-1").status_code == 302


@pytest.mark.parametrize(
    "current, new, repeat, message",
    [
        ("wrong", "my-own-secret-1", None, "The current password is wrong."),
        ("demo", "my-own-secret-1", "my-own-secret-2", "The two new passwords differ."),
        ("demo", "short", None, "A password needs at least 10 characters."),
        ("demo", "Doctor", None, "A password needs at least 10 characters."),
    ],
)
def test_a_bad_change_is_refused_with_a_message(client, auth, current, new, repeat, message):
    auth.as_role("doctor")
    response = change(client, auth, current, new, repeat)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(staff_by_login("doctor").password_hash, "demo")


def test_the_password_cannot_be_the_login(client, auth):
    staff = staff_by_login("coordinator")
    staff.login = "coordinator.long"
    db.session.commit()
    auth.as_login("coordinator.long")
    response = change(client, auth, "demo", "Coordinator.Long")
    assert "The password must not be the login." in response.get_data(as_text=True)


def test_wrong_current_passwords_count_towards_the_sign_in_throttle(client, auth, app):
    auth.as_role("doctor")
    for _ in range(app.config["LOCKOUT_FAILURES"]):
        change(client, auth, "wrong", "my-own-secret-1")
    response = change(client, auth, "demo", "my-own-secret-1")
    assert "Too many failed attempts" in response.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(staff_by_login("doctor").password_hash, "demo")


def test_the_forced_change_end_to_end(app, client, auth):
    """The owner gives a temporary password; the person signs in with it, is
    held on the password page whatever they open, chooses their own, and
    works; their API cannot be used meanwhile."""
    doctor = staff_by_login("doctor")
    doctor.language = "en"
    reset_password(db.session, doctor, "temporary-pass-1")
    db.session.commit()

    response = auth.login("doctor", "temporary-pass-1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")

    for url in ("/admin/", "/admin/patient/", "/admin/staff/", "/", "/admin/appointment/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/account/password"), url
    page = client.get("/account/password").get_data(as_text=True)
    assert "Choose a new password to continue." in page
    assert "Your password was set by the owner." in page

    # what stays reachable: static files, the API (its own rules), sign-out
    assert client.get("/static/admin/clinic_dates.js").status_code in (200, 404)
    assert client.get("/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css").status_code == 200
    assert client.get("/api/v1/patients").status_code == 401
    token = client.post("/api/v1/token", json={"login": "doctor", "password": "temporary-pass-1"})
    assert token.status_code == 403
    assert "Choose a new password in the panel first" in token.get_json()["error"]

    # a POST elsewhere is not carried out either
    response = client.post("/admin/patient/new/", data={"last_name": "X", "csrf_token": auth.csrf_token()})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")

    # the temporary password cannot be kept
    response = change(client, auth, "temporary-pass-1", "temporary-pass-1")
    assert "The new password must differ from the current one." in response.get_data(as_text=True)

    response = change(client, auth, "temporary-pass-1", "doctor-own-secret")
    assert response.status_code == 302
    db.session.expire_all()
    assert not staff_by_login("doctor").must_change_password
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/patient/").status_code == 200


def test_sign_out_works_while_a_change_is_due(client, auth):
    doctor = staff_by_login("doctor")
    reset_password(db.session, doctor, "temporary-pass-1")
    db.session.commit()
    auth.login("doctor", "temporary-pass-1")
    response = client.post("/logout", data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not signed_in(client)


def test_the_pages_speak_russian(client, auth):
    owner = auth.as_role("owner", language="ru")
    assert "Смена пароля" in client.get("/account/password").get_data(as_text=True)
    doctor = staff_by_login("doctor")
    page = client.get(f"/admin/staff/password/?id={doctor.id}").get_data(as_text=True)
    assert "Сброс пароля" in page and "Временный пароль" in page
    page = client.get(f"/admin/staff/deactivate/?id={doctor.id}").get_data(as_text=True)
    assert "Деактивировать сотрудника" in page
    assert owner.language == "ru"

"""Server-side revocation: a copy of a session cookie stops working at
sign-out, at a new password (own or reset by the owner), at deactivation and
at a change of roles or branches; the person's own session survives their
own password change."""
import pytest

from stompro.extensions import db
from stompro.org.models import Clinic
from stompro.org.services import deactivate_staff, end_sessions, reactivate_staff, set_clinics, set_roles

from ..conftest import staff_by_login
from .helpers import copy_of_session, signed_in


@pytest.fixture
def doctor_browser(app, client, auth):
    """The demo doctor signed in with the password (the real sign-in), and a
    second browser holding a copy of that session cookie."""
    staff_by_login("doctor").language = "en"
    db.session.commit()
    assert auth.login("doctor", "demo").status_code == 302
    copy = copy_of_session(app, client)
    assert signed_in(client) and signed_in(copy)
    return copy


@pytest.fixture
def owner_client(app):
    """The owner in a browser of their own."""
    from ..conftest import Auth

    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    owner_auth = Auth(browser)
    owner_auth.as_role("owner")
    return browser, owner_auth


def test_sign_in_stores_the_epoch_in_the_session(client, auth):
    doctor = staff_by_login("doctor")
    auth.login("doctor", "demo")
    with client.session_transaction() as session:
        assert session["epoch"] == doctor.session_epoch
        assert session["_user_id"] == str(doctor.id)


def test_a_session_without_the_epoch_is_not_accepted(client):
    doctor = staff_by_login("doctor")
    with client.session_transaction() as session:
        session["_user_id"] = str(doctor.id)
        session["_fresh"] = True
    assert not signed_in(client)


def test_a_copied_cookie_dies_at_sign_out(client, auth, doctor_browser):
    epoch = staff_by_login("doctor").session_epoch
    response = client.post("/logout", data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 302
    assert not signed_in(client)
    assert not signed_in(doctor_browser)
    db.session.expire_all()
    assert staff_by_login("doctor").session_epoch == epoch + 1


def test_a_copied_cookie_dies_at_the_person_s_password_change_but_this_session_stays(client, auth, doctor_browser):
    response = client.post(
        "/account/password",
        data={
            "current_password": "demo",
            "new_password": "a-brand-new-secret",
            "repeat_password": "a-brand-new-secret",
            "csrf_token": auth.csrf_token(),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Your password is changed" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert signed_in(client)
    assert not signed_in(doctor_browser)


def test_a_copied_cookie_dies_when_the_owner_resets_the_password(client, doctor_browser, owner_client):
    browser, owner_auth = owner_client
    doctor = staff_by_login("doctor")
    response = browser.post(
        f"/admin/staff/password/?id={doctor.id}",
        data={"new_password": "temporary-pass-1", "csrf_token": owner_auth.csrf_token()},
    )
    assert response.status_code == 302
    assert not signed_in(client)
    assert not signed_in(doctor_browser)


def test_a_copied_cookie_dies_at_deactivation_and_stays_dead_after_reactivation(client, doctor_browser, owner_client):
    browser, owner_auth = owner_client
    doctor = staff_by_login("doctor")
    response = browser.post(
        "/admin/staff/deactivate/", data={"id": doctor.id, "url": "/admin/staff/", "csrf_token": owner_auth.csrf_token()}
    )
    assert response.status_code == 302
    assert not signed_in(client)
    assert not signed_in(doctor_browser)
    reactivate_staff(db.session, staff_by_login("doctor"))
    db.session.commit()
    assert not signed_in(doctor_browser)


def test_a_copied_cookie_dies_at_a_change_of_roles(client, doctor_browser):
    set_roles(db.session, staff_by_login("doctor"), ["doctor", "coordinator"])
    db.session.commit()
    assert not signed_in(client)
    assert not signed_in(doctor_browser)


def test_a_copied_cookie_dies_at_a_change_of_branches(client, doctor_browser):
    doctor = staff_by_login("doctor")
    every_branch = db.session.execute(db.select(Clinic)).scalars().all()
    assert set_clinics(db.session, doctor, every_branch)
    db.session.commit()
    assert not signed_in(doctor_browser)


def test_saving_the_same_roles_and_branches_ends_nothing(client, doctor_browser):
    doctor = staff_by_login("doctor")
    epoch = doctor.session_epoch
    assert not set_roles(db.session, doctor, sorted(doctor.roles))
    assert not set_clinics(db.session, doctor, list(doctor.clinics))
    db.session.commit()
    assert staff_by_login("doctor").session_epoch == epoch
    assert signed_in(doctor_browser)


def test_another_person_s_sessions_are_untouched(client, auth, app):
    auth.as_role("cashier")
    deactivate_staff(db.session, staff_by_login("doctor"))
    end_sessions(staff_by_login("admin"))
    db.session.commit()
    assert signed_in(client)


def test_sign_out_of_one_browser_ends_every_browser_of_the_person(app, client, auth):
    """Sign-out on the reception's computer also ends the session left open at home."""
    auth.as_role("administrator")
    home = copy_of_session(app, client)
    client.post("/logout", data={"csrf_token": auth.csrf_token()})
    assert not signed_in(home)


def test_a_deactivated_person_cannot_sign_in(client, auth):
    deactivate_staff(db.session, staff_by_login("cashier"))
    db.session.commit()
    response = auth.login("cashier", "demo")
    assert response.status_code == 200
    assert "Wrong login or password." in response.get_data(as_text=True)

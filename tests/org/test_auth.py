"""Sign-in: passwords, lockout, CSRF, idle timeout, language."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Staff


def test_the_login_page_shows(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="login"' in html and 'name="password"' in html


def test_each_demo_login_signs_in(client, auth):
    for login in ("owner", "doctor", "admin", "coordinator", "callcenter", "cashier"):
        response = auth.login(login, "demo")
        assert response.status_code == 302, login
        assert client.get("/admin/").status_code == 200
        client.post("/logout", data={"csrf_token": auth.csrf_token()})
        assert client.get("/admin/").status_code == 302


def test_a_wrong_password_is_refused(client, auth):
    response = auth.login("owner", "wrong")
    assert response.status_code == 200
    assert "Wrong login or password." in response.get_data(as_text=True)


def test_five_failures_lock_the_account_for_five_minutes(client, auth):
    for _ in range(5):
        auth.login("cashier", "wrong")
    response = auth.login("cashier", "demo")
    assert response.status_code == 200
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert "Try again in 5 min." in response.get_data(as_text=True)


def test_four_failures_do_not_lock(client, auth):
    for _ in range(4):
        auth.login("coordinator", "wrong")
    assert auth.login("coordinator", "demo").status_code == 302


def test_a_post_without_csrf_token_is_rejected(client, auth):
    response = client.post("/login", data={"login": "owner", "password": "demo"})
    assert response.status_code == 400
    auth.as_role("owner")
    response = client.post("/admin/patient/new/", data={"last_name": "Без", "first_name": "Токена"})
    assert response.status_code == 400


def test_passwords_are_hashed_with_argon2id(app):
    staff = db.session.execute(select(Staff).filter_by(login="owner")).scalar_one()
    assert staff.password_hash.startswith("$argon2id$")


def test_an_idle_session_is_signed_out(client, auth, app):
    auth.as_role("owner")
    idle = app.config["SESSION_IDLE_MINUTES"]
    with client.session_transaction() as session:
        session["seen"] = (datetime.now(timezone.utc) - timedelta(minutes=idle + 1)).timestamp()
    response = client.get("/admin/patient/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/admin/").status_code == 302


def test_the_panel_speaks_the_person_s_language(client, auth):
    auth.as_role("owner")
    client.post("/language", data={"language": "en", "csrf_token": auth.csrf_token()})
    assert "Patients" in client.get("/admin/patient/").get_data(as_text=True)
    client.post("/language", data={"language": "ru", "csrf_token": auth.csrf_token()})
    assert "Пациенты" in client.get("/admin/patient/").get_data(as_text=True)


def test_no_open_redirect_after_login(client, auth):
    token = auth.csrf_token()
    response = client.post("/login?next=https://evil.example/", data={"login": "owner", "password": "demo", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin")

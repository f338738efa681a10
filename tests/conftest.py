"""Test fixtures: one app and one seeded database per run, each test in a
transaction rolled back at the end.

The database is SQLite (a temporary file) unless STOMPRO_TEST_DATABASE_URL
names a PostgreSQL server: then a fresh database is created on that server
for the run and dropped afterwards."""
import os
import re
from contextlib import contextmanager
from datetime import date, datetime, time, timezone

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient

from stompro import create_app
from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.patients.models import Patient
from stompro.org.roles import ROLES
from stompro.seeding.loader import seed

from . import pg

DEMO_LOGIN_BY_ROLE = {
    "owner": "owner",
    "doctor": "doctor",
    "administrator": "admin",
    "coordinator": "coordinator",
    "call_center": "callcenter",
    "cashier": "cashier",
}
assert set(DEMO_LOGIN_BY_ROLE) == set(ROLES)


@contextmanager
def scratch_database_url(sqlite_path, prefix):
    """The URL of a database of the tests' own: the SQLite file ``sqlite_path``,
    or a fresh database on the PostgreSQL server STOMPRO_TEST_DATABASE_URL names."""
    server = os.environ.get("STOMPRO_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{sqlite_path}"
        return
    with pg.scratch_database(server, prefix=prefix) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with scratch_database_url(tmp_path_factory.mktemp("db") / "stompro-test.db", "stompro_test") as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SEED_DEMO_ON_FIRST_START": False,
            "SECRET_KEY": "test-secret",
            "DEFAULT_LANGUAGE": "en",  # messages outside a request are asserted in English
            "HOME_FIGURES_SECONDS": 0,  # the home page's figures follow each test's rows at once
            "ATTACHMENTS_DIR": str(tmp_path_factory.mktemp("attachments")),
        }
    )
    with app.app_context():
        db.create_all()
        seed("demo")
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def rollback(request):
    """Run the test inside one outer transaction that is rolled back, so every
    commit a view makes is only a savepoint and the seeded data stays intact.
    Tests that use no app, and browser tests (their server runs in another
    thread), are left alone."""
    if "app" not in request.fixturenames or request.node.get_closest_marker("browser"):
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        engines = db.engines
        engine = engines[None]
        engines[None] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            db.session.remove()
            engines[None] = engine
            outer.rollback()
            connection.close()


class RequestClient(FlaskClient):
    """Each test holds one app context (for its transaction), and Flask lets
    requests reuse it; forget what Flask-Babel, Flask-Login and Flask-WTF cache
    on ``g`` so that every request starts afresh, as it does in production."""

    def open(self, *args, **kwargs):
        if has_app_context():
            for cached in list(vars(g)):
                g.pop(cached)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = RequestClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # before sign-in; people have their own
    return client


def staff_by_login(login):
    return db.session.execute(db.select(Staff).filter_by(login=login)).scalar_one()


@pytest.fixture
def doctor(app):
    """The demo doctor."""
    return staff_by_login("doctor")


@pytest.fixture
def owner(app):
    return staff_by_login("owner")


@pytest.fixture
def admin(app):
    """The demo administrator: the center branch only."""
    return staff_by_login("admin")


@pytest.fixture
def cashier(app):
    """The demo cashier: the center branch only."""
    return staff_by_login("cashier")


@pytest.fixture
def south_cashier(app):
    """An administrator and cashier of the south branch only."""
    return staff_by_login("frolova.ys")


CENTER = "StomPRO Центр"
SOUTH = "StomPRO Юг"


def clinic(name):
    """A demo branch by its name."""
    return db.session.execute(db.select(Clinic).where(Clinic.name == name)).scalar_one()


def doctor_works(day, login="doctor", clinic_name=CENTER, hours=(time(9), time(18))):
    """A shift of the demo doctor in the centre on ``day`` (09:00–18:00), so
    that a visit can be booked then; returns the doctor."""
    from stompro.scheduling.availability import at_local
    from stompro.scheduling.models import Shift

    doctor, branch = staff_by_login(login), clinic(clinic_name)
    db.session.add(Shift(staff=doctor, clinic=branch, work_date=day,
                         starts_at=at_local(branch, day, hours[0]), ends_at=at_local(branch, day, hours[1])))
    db.session.commit()
    return doctor


@pytest.fixture
def center(app):
    return clinic(CENTER)


@pytest.fixture
def south(app):
    return clinic(SOUTH)


@pytest.fixture
def patient(app):
    """A new patient with an empty chart and no history."""
    patient = Patient(last_name="Зубова", first_name="Ольга", birth_date=date(1985, 4, 2), phone="+79160000002")
    db.session.add(patient)
    db.session.commit()
    return patient


class Auth:
    """Signs a test client in as a demo person, and gives it CSRF tokens."""

    def __init__(self, client):
        self.client = client
        self._token = None

    def as_role(self, role, language="en"):
        return self.as_login(DEMO_LOGIN_BY_ROLE[role], language)

    def as_login(self, login, language="en"):
        """Sign in without the password round trip (argon2 is slow on purpose),
        speaking ``language`` (messages are asserted in English by default)."""
        staff = staff_by_login(login)
        staff.language = language
        db.session.commit()
        with self.client.session_transaction() as session:
            session["_user_id"] = str(staff.id)
            session["epoch"] = staff.session_epoch  # as org.views.start_session writes it
            session["_fresh"] = True
            session["seen"] = datetime.now(timezone.utc).timestamp()
        return staff

    def login(self, login, password):
        token = self.csrf_token()
        return self.client.post("/login", data={"login": login, "password": password, "csrf_token": token})

    def csrf_token(self):
        page = self.client.get("/login", follow_redirects=True).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page
        )
        assert match, "no CSRF token on the login page"
        return match.group(1)


@pytest.fixture
def auth(client):
    return Auth(client)

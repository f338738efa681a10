"""Time-clock fixtures: the demo's branches and receptionists, and a new
person of the center branch with no entries yet."""
from datetime import datetime, timedelta, timezone

import pytest

from stompro.extensions import db
from stompro.org.models import Staff

from ..billing.forms import CENTER, SOUTH, clinic
from ..conftest import staff_by_login


@pytest.fixture
def center(app):
    return clinic(CENTER)


@pytest.fixture
def south(app):
    return clinic(SOUTH)


@pytest.fixture
def admin(app):
    """The demo administrator: the center branch only."""
    return staff_by_login("admin")


@pytest.fixture
def owner(app):
    return staff_by_login("owner")


@pytest.fixture
def nurse(app, center):
    person = Staff(login="nurse.test", password_hash="-", last_name="Сестрова", first_name="Анна", clinics=[center])
    db.session.add(person)
    db.session.commit()
    return person


@pytest.fixture
def hours_ago():
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return lambda hours: now - timedelta(hours=hours)

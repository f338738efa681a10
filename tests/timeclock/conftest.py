"""Time-clock fixtures: the demo's branches and receptionists, and a new
person of the center branch with no entries yet."""
from datetime import datetime, timedelta, timezone

import pytest

from stompro.extensions import db
from stompro.org.models import Staff



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

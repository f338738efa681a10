"""The scheduling tests' own branch (tests.scheduling.conftest.Schedule) and the outbox's rows."""
import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.messaging.models import Message
from tests.scheduling.conftest import Schedule


@pytest.fixture
def schedule(owner):
    return Schedule(owner)


def messages_of(visit, status=None):
    """The visit's outbox rows by kind (the newest of each kind), or all of ``status``."""
    query = select(Message).where(Message.appointment_id == visit.id).order_by(Message.id)
    if status is not None:
        return db.session.execute(query.where(Message.status == status)).scalars().all()
    return {row.kind: row for row in db.session.execute(query).scalars()}

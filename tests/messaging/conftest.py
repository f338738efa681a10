"""The scheduling tests' own branch (tests.scheduling.conftest.Schedule), the outbox's rows, the
file gateway and the tests' own Redis database."""
import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.messaging.models import Message
from tests.scheduling.conftest import Schedule


@pytest.fixture
def any_hour(app, monkeypatch):
    """For tests that send what is due now: no quiet hours, so the hour the suite runs at
    (after 21:00 at the clinic, a message waits for the morning) changes nothing."""
    monkeypatch.setitem(app.config, "QUIET_HOURS", "")


@pytest.fixture
def schedule(owner):
    return Schedule(owner)


def messages_of(visit, status=None):
    """The visit's outbox rows by kind (the newest of each kind), or all of ``status``."""
    query = select(Message).where(Message.appointment_id == visit.id).order_by(Message.id)
    if status is not None:
        return db.session.execute(query.where(Message.status == status)).scalars().all()
    return {row.kind: row for row in db.session.execute(query).scalars()}


REDIS_URL = "redis://127.0.0.1:6379/15"  # the tests' own database, flushed by them only


@pytest.fixture
def sent_file(app, tmp_path, monkeypatch):
    """Both channels write to a file: one JSON line per message sent."""
    path = tmp_path / "sent.jsonl"
    monkeypatch.setitem(app.config, "SMS_GATEWAY", f"file:{path}")
    monkeypatch.setitem(app.config, "EMAIL_GATEWAY", f"file:{path}")
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "DISPATCH_RETRY_SECONDS", [0, 0, 0])
    return path


def reachable_redis(url):
    """A connection to the Redis at ``url``, emptied; the test is skipped when there is none."""
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"no Redis at {url}: {error}")
    connection.flushdb()
    return connection


@pytest.fixture
def redis_connection():
    """The tests' own Redis database, empty before and after."""
    connection = reachable_redis(REDIS_URL)
    yield connection
    connection.flushdb()


@pytest.fixture
def redis_app(app, sent_file, monkeypatch, redis_connection):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    return redis_connection

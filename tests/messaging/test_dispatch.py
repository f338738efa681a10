"""Sending the outbox (messaging.dispatch, messaging.jobs): in-process and
through a real Redis with a real RQ worker; retries, failures, the reaper."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from stompro.db import utcnow
from stompro.extensions import db
from stompro.messaging.dispatch import claim_due, dispatch, reap, send_batch
from stompro.messaging.models import Message
from stompro.tasks.models import Task

from .conftest import messages_of
from .test_gateways import provider  # noqa: F401 (a fixture: the local SMS provider)

pytestmark = pytest.mark.usefixtures("any_hour")

def sent_keys(path, prefix):
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line["dedupe_key"] for line in lines if line["dedupe_key"].startswith(prefix)]


def work(connection):
    """A real RQ worker in this process, until its queue is empty."""
    from rq import Queue, SimpleWorker

    SimpleWorker([Queue("messages", connection=connection)], connection=connection).work(burst=True)


def book(schedule, clock="10:00", **patient_fields):
    doctor = schedule.doctor()
    schedule.works(doctor, schedule.day(0), hours=("08:00", "20:00"))
    return schedule.visit(doctor, schedule.patient(**patient_fields), schedule.day(0), clock, 30)


def test_dispatch_in_process_sends_each_due_message_once(app, schedule, sent_file):
    visit = book(schedule)
    db.session.commit()
    prefix = f"visit:{visit.id}:"
    now = messages_of(visit)["booked"].send_at + timedelta(seconds=1)
    dispatch(db.session, app.config, now=now)
    dispatch(db.session, app.config, now=now)
    assert sent_keys(sent_file, prefix) == [f"{prefix}booked:v1"]
    booked = messages_of(visit)["booked"]
    db.session.refresh(booked)
    assert booked.status == "sent" and booked.attempts == 1 and booked.sent_at is not None
    assert messages_of(visit)["day_before"].status == "scheduled"  # not due yet

    day_before = messages_of(visit)["day_before"].send_at
    dispatch(db.session, app.config, now=day_before + timedelta(minutes=1))
    dispatch(db.session, app.config, now=day_before + timedelta(minutes=2))
    assert sent_keys(sent_file, prefix) == [f"{prefix}booked:v1", f"{prefix}day_before:v1"]


def test_the_cli_dispatches_in_process(app, schedule, sent_file):
    visit_id = book(schedule).id
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Messages sent: ") and ", failed: 0;" in result.output
    assert sent_keys(sent_file, f"visit:{visit_id}:") == [f"visit:{visit_id}:booked:v1"]


def test_a_claimed_row_is_claimed_once(app, schedule, sent_file):
    visit = book(schedule)
    db.session.commit()
    now = utcnow() + timedelta(seconds=1)
    first = dict(claim_due(db.session, now, 10_000))
    second = dict(claim_due(db.session, now, 10_000))
    booked = messages_of(visit)["booked"]
    assert booked.id in first and booked.id not in second
    send_batch(db.session, [booked.id], app.config)
    send_batch(db.session, [booked.id], app.config)  # the same job run twice
    assert sent_keys(sent_file, f"visit:{visit.id}:") == [booked.dedupe_key]


def test_an_expired_message_is_not_sent(app, schedule, sent_file):
    visit = book(schedule)
    db.session.commit()
    hours_before = messages_of(visit)["hours_before"]
    dispatch(db.session, app.config, now=visit.starts_at + timedelta(minutes=1))  # the dispatcher was down
    db.session.refresh(hours_before)
    assert hours_before.status == "expired"
    assert f"visit:{visit.id}:hours_before:v1" not in sent_keys(sent_file, "visit:")


def test_cancelled_messages_are_not_sent(app, schedule, owner, sent_file):
    from stompro.scheduling.services import set_visit_status

    visit = book(schedule)
    set_visit_status(db.session, owner, visit, "cancelled", "Patient asked")
    db.session.commit()
    dispatch(db.session, app.config, now=utcnow() + timedelta(seconds=1))
    assert sent_keys(sent_file, f"visit:{visit.id}:") == []


def test_through_redis_and_a_worker_each_due_message_once(app, schedule, redis_app, sent_file):
    visits = [book(schedule, clock=clock) for clock in ("10:00", "11:00", "12:00")]
    db.session.commit()
    now = utcnow() + timedelta(seconds=1)
    first = dispatch(db.session, app.config, now=now)
    assert first.claimed >= 3 and first.jobs >= 1
    second = dispatch(db.session, app.config, now=now)
    assert second.claimed == 0
    work(redis_app)
    work(redis_app)
    for visit in visits:
        assert sent_keys(sent_file, f"visit:{visit.id}:") == [f"visit:{visit.id}:booked:v1"]
        booked = messages_of(visit)["booked"]
        db.session.refresh(booked)
        assert booked.status == "sent"


def test_a_job_run_twice_sends_once(app, schedule, redis_app, sent_file):
    from rq import Queue

    visit = book(schedule)
    db.session.commit()
    claimed = claim_due(db.session, utcnow() + timedelta(seconds=1), 10_000)
    db.session.commit()
    ids = [id_ for id_, _ in claimed]
    queue = Queue("messages", connection=redis_app)
    queue.enqueue("stompro.messaging.jobs.send_batch", ids)
    queue.enqueue("stompro.messaging.jobs.send_batch", ids)  # RQ's at-least-once
    work(redis_app)
    assert sent_keys(sent_file, f"visit:{visit.id}:") == [f"visit:{visit.id}:booked:v1"]


def test_redis_unreachable_leaves_the_messages_waiting(app, schedule, sent_file, monkeypatch):
    visit = book(schedule)
    db.session.commit()
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    result = dispatch(db.session, app.config, now=utcnow() + timedelta(seconds=1))
    assert result.redis_down and result.claimed == 0
    assert messages_of(visit)["booked"].status == "scheduled"


def http_gateway(app, monkeypatch, provider):
    provider.status = 500
    monkeypatch.setitem(app.config, "SMS_GATEWAY", "http")
    monkeypatch.setitem(app.config, "SMS_HTTP_URL", provider.url)
    monkeypatch.setitem(app.config, "SMS_HTTP_HEADERS", {})
    monkeypatch.setitem(app.config, "SMS_HTTP_BODY", '{"to": "{recipient}", "text": "{body}"}')


def assert_failed_with_a_task(visit, provider):
    booked = messages_of(visit)["booked"]
    db.session.refresh(booked)
    assert booked.status == "failed" and booked.attempts == 4 and "500" in booked.error
    tries = [r for r in provider.requests if r["headers"].get("Idempotency-Key") == booked.dedupe_key]
    assert len(tries) == 4
    task = db.session.execute(select(Task).where(Task.dedupe_key == f"message:{booked.id}:failed")).scalar_one()
    assert task.status == "open" and task.patient_id == visit.patient_id and task.tab == "regular_calls"


def test_a_provider_answering_500_is_retried_then_failed_with_a_task(app, schedule, sent_file, provider,
                                                                     monkeypatch):
    http_gateway(app, monkeypatch, provider)
    visit = book(schedule)
    db.session.commit()
    # retries come due at once; the run's clock allows for the demo's other messages due by now, which fail too
    dispatch(db.session, app.config, now=utcnow() + timedelta(minutes=1))
    assert_failed_with_a_task(visit, provider)


def test_through_rq_a_provider_answering_500_is_retried_then_failed(app, schedule, redis_app, provider,
                                                                     monkeypatch):
    http_gateway(app, monkeypatch, provider)
    visit = book(schedule)
    db.session.commit()
    dispatch(db.session, app.config, now=utcnow() + timedelta(seconds=1))
    work(redis_app)  # RQ's Retry with no interval puts the job back at once
    assert_failed_with_a_task(visit, provider)


def test_the_reaper_returns_stuck_rows_and_each_is_sent_once(app, schedule, sent_file):
    queued, sending = book(schedule, clock="10:00"), book(schedule, clock="11:00")
    db.session.commit()
    long_ago = utcnow() - timedelta(hours=1)
    for visit, status in ((queued, "queued"), (sending, "sending")):
        db.session.execute(update(Message).where(Message.id == messages_of(visit)["booked"].id)
                           .values(status=status, updated_at=long_ago))
    db.session.commit()
    reaped = reap(db.session, timeout=timedelta(minutes=10))
    db.session.commit()
    assert {messages_of(queued)["booked"].id, messages_of(sending)["booked"].id} <= set(reaped)
    row = messages_of(sending)["booked"]
    db.session.refresh(row)
    assert row.status == "scheduled" and row.attempts == 1  # the interrupted try counts
    dispatch(db.session, app.config, now=utcnow() + timedelta(seconds=1))
    dispatch(db.session, app.config, now=utcnow() + timedelta(seconds=2))
    for visit in (queued, sending):
        assert sent_keys(sent_file, f"visit:{visit.id}:") == [f"visit:{visit.id}:booked:v1"]


def test_the_reaper_leaves_fresh_claims(app, schedule, sent_file):
    visit = book(schedule)
    db.session.commit()
    db.session.execute(update(Message).where(Message.id == messages_of(visit)["booked"].id)
                       .values(status="sending", updated_at=utcnow()))
    assert messages_of(visit)["booked"].id not in reap(db.session, timeout=timedelta(minutes=10))


@pytest.fixture
def own_redis(app, sent_file, monkeypatch, tmp_path):
    """A Redis of this test's own, on a free port, that the test stops and starts."""
    import shutil
    import socket
    import subprocess
    import time

    redis = pytest.importorskip("redis")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server to start")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class OwnRedis:
        process = None
        url = f"redis://127.0.0.1:{port}/0"

        def start(self):
            self.process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                             "--appendonly", "no", "--dir", str(tmp_path)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            connection = redis.Redis.from_url(self.url)
            for _ in range(100):
                try:
                    connection.ping()
                    return connection
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            pytest.fail("the test's Redis did not start")

        def stop(self):
            if self.process is not None:
                self.process.terminate()
                self.process.wait(timeout=10)
                self.process = None

    server = OwnRedis()
    monkeypatch.setitem(app.config, "REDIS_URL", server.url)
    yield server
    server.stop()


def test_redis_down_then_back_sends_every_booking_message_once(app, schedule, own_redis):
    own_redis.start()
    own_redis.stop()
    doctor = schedule.doctor()
    schedule.works(doctor, schedule.day(0), hours=("08:00", "20:00"))
    visits = [schedule.visit(doctor, schedule.patient(), schedule.day(0), f"{8 + n // 2:02d}:{30 * (n % 2):02d}", 30)
              for n in range(20)]  # booking succeeds with Redis down
    db.session.commit()
    now = utcnow() + timedelta(seconds=1)
    assert dispatch(db.session, app.config, now=now).redis_down
    connection = own_redis.start()
    dispatch(db.session, app.config, now=now)
    dispatch(db.session, app.config, now=now)
    work(connection)
    path = app.config["SMS_GATEWAY"][len("file:"):]
    keys = [json.loads(line)["dedupe_key"] for line in open(path, encoding="utf-8")]
    wanted = [f"visit:{visit.id}:booked:v1" for visit in visits]
    assert sorted(key for key in keys if key in wanted) == sorted(wanted)
    assert len(keys) == len(set(keys))  # nothing sent twice

"""Dispatching the outbox, printed for the issue note (not a timed
assertion): 10 000 due messages (STOMPRO_BENCH_MESSAGES) sent through the
file gateway — by one real RQ worker when Redis is there, and in-process
without it — in messages per second, beside the bare parts: the claims
alone, and the gateway writing the same lines.

    pytest tests/benchmarks/test_dispatch_bench.py -s
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest tests/benchmarks/test_dispatch_bench.py -s
"""
import json
import os
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update

from stompro.extensions import db
from stompro.messaging.dispatch import claim_due, dispatch
from stompro.messaging.gateways import OutgoingMessage, gateway_for
from stompro.messaging.models import Message
from stompro.patients.models import Patient

from ..messaging.conftest import reachable_redis
from .common import seeded_app

MESSAGES = int(os.environ.get("STOMPRO_BENCH_MESSAGES", "10000"))
REDIS_URL = "redis://127.0.0.1:6379/14"  # the benchmark's own database, flushed by it only


def _due_messages(app, tag):
    """MESSAGES scheduled rows, due a minute ago, for the demo's patients."""
    with app.app_context():
        now = datetime.now(timezone.utc)
        patients = db.session.execute(select(Patient.id, Patient.phone).where(Patient.deleted_at.is_(None))).all()
        rows = [{"patient_id": patients[n % len(patients)][0], "kind": "manual", "language": "ru", "channel": "sms",
                 "recipient": patients[n % len(patients)][1], "body": f"Напоминание {n}", "send_at": now - timedelta(minutes=1),
                 "status": "scheduled", "attempts": 0, "version": 1, "dedupe_key": f"bench:{tag}:{n}",
                 "created_at": now, "updated_at": now} for n in range(MESSAGES)]
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(Message), rows[chunk:chunk + 5000])
        db.session.commit()
        db.session.remove()


def _sent(path, tag):
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if f"bench:{tag}:" in line)


def test_dispatching_ten_thousand_due_messages(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        sent_file = tmp_path / "sent.jsonl"
        app.config.update(SMS_GATEWAY=f"file:{sent_file}", EMAIL_GATEWAY=f"file:{sent_file}", REDIS_URL=None)

        # Bare: the claims alone (rows put back after), and the gateway writing MESSAGES lines.
        _due_messages(app, "bare")
        with app.app_context():
            started = time.perf_counter()
            while claim_due(db.session, limit=int(app.config["DISPATCH_BATCH_SIZE"])):
                db.session.commit()
            claims = time.perf_counter() - started
            db.session.execute(update(Message).where(Message.dedupe_key.like("bench:bare:%")).values(status="cancelled"))
            db.session.commit()
            gateway = gateway_for("sms", app.config)
            started = time.perf_counter()
            for n in range(MESSAGES):
                gateway.send(OutgoingMessage(n, "sms", "+79260000000", None, f"Напоминание {n}", f"bare-line:{n}"))
            writes = time.perf_counter() - started
            db.session.remove()
        print(f"\n[{dialect}] bare: {MESSAGES} claims in {claims:.2f} s; the file gateway writes {MESSAGES} lines "
              f"in {writes:.2f} s ({MESSAGES / writes:.0f}/s)")

        # In-process, without Redis.
        _due_messages(app, "inprocess")
        with app.app_context():
            started = time.perf_counter()
            result = dispatch(db.session, app.config)
            seconds = time.perf_counter() - started
            db.session.remove()
        assert result.sent == MESSAGES == _sent(sent_file, "inprocess")
        print(f"[{dialect}] in-process: {MESSAGES} sent in {seconds:.1f} s ({MESSAGES / seconds:.0f} messages/s)")

        # Through Redis and one real worker.
        connection = reachable_redis(REDIS_URL)
        app.config["REDIS_URL"] = REDIS_URL
        _due_messages(app, "rq")
        from rq import Queue, SimpleWorker

        with app.app_context():
            started = time.perf_counter()
            result = dispatch(db.session, app.config)
            claimed = time.perf_counter() - started
            SimpleWorker([Queue(app.config["MESSAGES_QUEUE"], connection=connection)],
                         connection=connection).work(burst=True)
            seconds = time.perf_counter() - started
            db.session.remove()
        connection.flushdb()
        assert _sent(sent_file, "rq") == MESSAGES
        lines = [json.loads(line) for line in sent_file.read_text(encoding="utf-8").splitlines()]
        assert len({line["dedupe_key"] for line in lines}) == len(lines)  # none twice
        print(f"[{dialect}] RQ, one worker: {MESSAGES} claimed in {result.jobs} jobs in {claimed:.1f} s, all sent in "
              f"{seconds:.1f} s ({MESSAGES / seconds:.0f} messages/s)")

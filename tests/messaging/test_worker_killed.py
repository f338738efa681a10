"""A worker killed in the middle of a batch: a real ``rq worker`` process,
sending through the HTTP gateway to a local provider that holds one message
unanswered, is killed (SIGKILL) while it waits. The reaper returns its rows
and the next dispatch sends each message the provider has not accepted yet:
every message accepted once, none twice.

The worker runs in another process, so the rows are committed for real: the
test has a database of its own (a file, or a scratch PostgreSQL database
when the suite runs on PostgreSQL), not the suite's rolled-back one."""
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from stompro import create_app
from stompro.db import utcnow
from stompro.extensions import db
from stompro.messaging.dispatch import dispatch
from stompro.messaging.models import Message
from stompro.patients.models import Patient

from ..conftest import scratch_database_url
from .conftest import REDIS_URL
from .test_dispatch import work
from .test_gateways import serving

BATCH = 10
HELD = 5  # the provider holds the 5th message of the batch unanswered
WAIT_SECONDS = 60
SMS_BODY = '{"to": "{recipient}", "text": "{body}"}'


class HoldingProvider(ThreadingHTTPServer):
    """An SMS provider that accepts every message at once, except the
    ``HELD``-th request it receives: that one waits, unanswered, until the
    test releases it, and is then dropped without an answer."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), HoldingHandler)
        self.lock = threading.Lock()
        self.received = []  # the Idempotency-Key of every request, in order
        self.accepted = []  # of those answered 202
        self.holding = threading.Event()
        self.release = threading.Event()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1/sms"


class HoldingHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers["Idempotency-Key"]
        with self.server.lock:
            self.server.received.append(key)
            hold = len(self.server.received) == HELD
        if hold:
            self.server.holding.set()
            self.server.release.wait(WAIT_SECONDS)
            self.close_connection = True
            return
        with self.server.lock:
            self.server.accepted.append(key)
        answer = json.dumps({"message_id": f"prov-{key}"}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def own_database(tmp_path):
    with scratch_database_url(tmp_path / "worker-killed.db", "stompro_killed") as url:
        yield url


@pytest.fixture
def provider():
    with serving(HoldingProvider()) as server:
        try:
            yield server
        finally:
            server.release.set()  # a request still held returns before the server stops


def settings(database_url, provider):
    return {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "worker-killed", "REDIS_URL": REDIS_URL,
            "SMS_GATEWAY": "http", "SMS_HTTP_URL": provider.url, "SMS_HTTP_BODY": SMS_BODY, "DISPATCH_BATCH_SIZE": BATCH,
            "SEED_DEMO_ON_FIRST_START": False}


def start_worker(database_url, provider):
    """``rq worker`` in a process group of its own (the worker and its work horse)."""
    environment = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=REDIS_URL, STOMPRO_SECRET_KEY="worker-killed",
                       STOMPRO_SMS_GATEWAY="http", STOMPRO_SMS_HTTP_URL=provider.url,
                       STOMPRO_SMS_HTTP_BODY=SMS_BODY)
    rq = Path(sys.executable).with_name("rq")
    return subprocess.Popen([str(rq), "worker", "--burst", "--url", REDIS_URL, "messages"], env=environment,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def children(pid):
    """The processes whose parent is ``pid`` (from /proc: the work horse RQ forks leaves the worker's process group)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill(worker):
    """SIGKILL the work horse sending the batch, then the worker."""
    for pid in children(worker.pid):
        os.kill(pid, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def test_a_worker_killed_mid_batch_leaves_each_message_sent_once(own_database, provider, redis_connection):
    app = create_app(settings(own_database, provider))
    with app.app_context():
        db.create_all()
        patient = Patient(last_name="Killed", first_name="Worker", birth_date=date(1980, 1, 1), phone="+79160000001")
        db.session.add(patient)
        due = utcnow() - timedelta(minutes=1)
        db.session.add_all([
            Message(patient=patient, kind="manual", language="en", channel="sms", recipient=patient.phone,
                    body=f"Message {n}", send_at=due, status="scheduled", attempts=0, version=1,
                    dedupe_key=f"killed:{n}")
            for n in range(BATCH)])
        db.session.commit()
        assert dispatch(db.session, app.config).jobs == 1

        worker = start_worker(own_database, provider)
        try:
            for _ in range(WAIT_SECONDS * 10):
                if provider.holding.wait(0.1) or worker.poll() is not None:
                    break
            if not provider.holding.is_set():
                pytest.fail(f"the worker never reached the held message: {worker.stderr.read().decode()}")
            kill(worker)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.stderr.close()
        provider.release.set()

        db.session.expire_all()
        statuses = sorted(db.session.execute(select(Message.status)).scalars())
        assert statuses == ["queued"] * (BATCH - HELD) + ["sending"] + ["sent"] * (HELD - 1)
        held_key = provider.received[HELD - 1]

        # the dispatcher's next run after the reaper's timeout
        later = utcnow() + timedelta(minutes=app.config["REAPER_TIMEOUT_MINUTES"] + 1)
        result = dispatch(db.session, app.config, now=later)
        assert result.reaped == BATCH - HELD + 1 and result.jobs == 1
        work(redis_connection)

        db.session.expire_all()
        rows = db.session.execute(select(Message)).scalars().all()
        assert {row.status for row in rows} == {"sent"}
        held = next(row for row in rows if row.dedupe_key == held_key)
        assert held.attempts == 2  # the try the kill interrupted counts
        # each message accepted by the provider once; the held one was offered twice, with the same key
        assert sorted(provider.accepted) == sorted(f"killed:{n}" for n in range(BATCH))
        assert provider.received.count(held_key) == 2 and len(provider.received) == BATCH + 1
        db.session.remove()
        db.engine.dispose()

"""What every benchmark needs: a fresh seeded database, a signed-in client,
and timings. Benchmarks print figures for the issue notes; they assert
correctness (status codes), never speed."""
import gc
import os
import statistics
import time
from contextlib import contextmanager

from stompro import create_app
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.seeding.loader import seed

from .. import pg


@contextmanager
def seeded_app(tmp_path):
    """An app on a new database (SQLite, or PostgreSQL when
    STOMPRO_TEST_DATABASE_URL names a server) with the demo clinic; yields
    ``(app, dialect, seconds it took to create and seed)``."""
    server = os.environ.get("STOMPRO_TEST_DATABASE_URL")
    with (pg.scratch_database(server, prefix="stompro_bench") if server else _sqlite(tmp_path)) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "bench"})
        with app.app_context():
            started = time.perf_counter()
            db.create_all()
            seed("demo")
            seeded_s = time.perf_counter() - started
            db.session.remove()
        gc.collect()
        gc.freeze()  # as app.py does once the app is built
        try:
            yield app, url.split(":", 1)[0], seeded_s
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@contextmanager
def _sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'bench.db'}"


def signed_in_client(app, login):
    with app.app_context():
        staff_id, epoch = db.session.execute(
            db.select(Staff.id, Staff.session_epoch).filter_by(login=login)
        ).one()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(staff_id)
        session["epoch"] = epoch
        session["seen"] = time.time()
    return client


def timings_ms(call, runs, expected_status=200):
    """Wall and process-CPU milliseconds of ``call(run)`` over ``runs`` runs."""
    wall, cpu = [], []
    for run in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = call(run)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == expected_status, response.get_data(as_text=True)[:500]
    return wall, cpu


def p50(values):
    return statistics.median(values)

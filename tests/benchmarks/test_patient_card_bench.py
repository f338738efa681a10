"""Patient card figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks/test_patient_card_bench.py -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        pytest tests/benchmarks/test_patient_card_bench.py -s                 # PostgreSQL

The demo clinic plus one patient with 500 chart findings and 200 visits (and a
plan, a task, a document, a message and a payment); the card is opened as the
owner, who sees every section. Target: p50 ≤ 80 ms."""
import statistics
import time

from sqlalchemy import event

from stompro import create_app
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.seeding.loader import seed

from ..admin.test_queries import QueryCounter
from ..patients.test_card import Clinic, long_history
from .test_foundation_bench import bench_database

RUNS = 40


def timings_ms(client, url, runs):
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return timings


def test_patient_card_with_a_long_history(tmp_path):
    with bench_database(tmp_path) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            seed("demo")
            patient_id = long_history(Clinic(), visits=200, findings=500).id
            owner_id = db.session.execute(db.select(Staff.id).filter_by(login="owner")).scalar_one()
            db.session.remove()

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(owner_id)
            session["seen"] = time.time()
        card_url = f"/admin/patient_card/{patient_id}"
        client.get(card_url)  # warm the template cache

        counter = QueryCounter()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        client.get(card_url)
        event.remove(engine, "before_cursor_execute", counter)

        timings = timings_ms(client, card_url, RUNS)
        dialect = url.split(":", 1)[0]
        p90 = statistics.quantiles(timings, n=10)[-1]
        print(f"\n[{dialect}] patient card, 500 findings + 200 visits: p50 {statistics.median(timings):.1f} ms, "
              f"p90 {p90:.1f} ms over {RUNS} runs, {len(counter.statements)} queries")
        with app.app_context():
            db.engine.dispose()

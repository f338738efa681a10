"""Patient card figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks/test_patient_card_bench.py -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        pytest tests/benchmarks/test_patient_card_bench.py -s                 # PostgreSQL

The demo clinic plus one patient with 500 chart findings and 200 visits (and a
plan, a task, a document, a message and a payment); the card is opened as the
owner, who sees every section. Target: p50 ≤ 80 ms."""
import statistics

from sqlalchemy import event

from stompro.extensions import db

from ..admin.test_queries import QueryCounter
from ..patients.test_card import Clinic, long_history
from .common import p50, seeded_app, signed_in_client, timings_ms

RUNS = 40


def test_patient_card_with_a_long_history(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.app_context():
            patient_id = long_history(Clinic(), visits=200, findings=500).id
            db.session.remove()
            engine = db.engine

        client = signed_in_client(app, "owner")
        card_url = f"/admin/patient_card/{patient_id}"
        client.get(card_url)  # warm the template cache

        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        client.get(card_url)
        event.remove(engine, "before_cursor_execute", counter)

        timings, _ = timings_ms(lambda run: client.get(card_url), RUNS)
        p90 = statistics.quantiles(timings, n=10)[-1]
        print(f"\n[{dialect}] patient card, 500 findings + 200 visits: p50 {p50(timings):.1f} ms, "
              f"p90 {p90:.1f} ms over {RUNS} runs, {len(counter.statements)} queries")

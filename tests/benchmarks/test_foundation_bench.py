"""Foundation figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest tests/benchmarks -s

Measures: creating and seeding the demo database, and rendering the patient
list (first page, a surname search, a phone search) with the demo clinic plus
STOMPRO_BENCH_PATIENTS generated patients (default 100 000)."""
import os
import random
import statistics
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, text

from stompro import create_app
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.patients.models import Patient
from stompro.seeding.loader import seed

from .. import pg

EXTRA_PATIENTS = int(os.environ.get("STOMPRO_BENCH_PATIENTS", "100000"))
RUNS = 20


@contextmanager
def bench_database(tmp_path):
    server = os.environ.get("STOMPRO_TEST_DATABASE_URL")
    if server:
        with pg.scratch_database(server, prefix="stompro_bench") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'bench.db'}"


def generated_patients(count):
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    surnames = ["Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов"]
    names = ["Иван", "Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Никита", "Артём"]
    for number in range(count):
        yield {
            "last_name": f"{rng.choice(surnames)}{number}",
            "first_name": rng.choice(names),
            "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(25000)),
            "phone": f"+7926{number:07d}",
            "sms_consent": True,
            "status": "active",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }


def p50_ms(client, url):
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings)


def test_demo_database_and_patient_list(tmp_path):
    with bench_database(tmp_path) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "bench"})
        with app.app_context():
            started = time.perf_counter()
            db.create_all()
            seed("demo")
            seeded_s = time.perf_counter() - started

            started = time.perf_counter()
            rows = list(generated_patients(EXTRA_PATIENTS))
            for chunk in range(0, len(rows), 10000):
                db.session.execute(insert(Patient), rows[chunk:chunk + 10000])
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("ANALYZE"))  # as autovacuum would after a bulk load
                db.session.commit()
            generated_s = time.perf_counter() - started
            owner_id = db.session.execute(db.select(Staff.id).filter_by(login="owner")).scalar_one()
            db.session.remove()

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(owner_id)
            session["seen"] = time.time()
        figures = {
            "first page": p50_ms(client, "/admin/patient/"),
            "surname search": p50_ms(client, "/admin/patient/?search=Смирнов12345"),
            "phone search (8 926 …)": p50_ms(client, "/admin/patient/?search=8%20926%20001-23-45"),
            "page 100": p50_ms(client, "/admin/patient/?page=100"),
        }
        dialect = url.split(":", 1)[0]
        print(f"\n[{dialect}] create + seed demo database: {seeded_s:.2f} s")
        print(f"[{dialect}] insert {EXTRA_PATIENTS} generated patients: {generated_s:.2f} s")
        for name, ms in figures.items():
            print(f"[{dialect}] patient list, {name}: p50 {ms:.1f} ms over {RUNS} runs")
        with app.app_context():
            db.engine.dispose()

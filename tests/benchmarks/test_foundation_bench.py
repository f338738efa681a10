"""Foundation figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest tests/benchmarks -s

Measures: creating and seeding the demo database, and rendering the patient
list (first page, a surname search, a phone search, page 100) with the demo
clinic plus STOMPRO_BENCH_PATIENTS generated patients (default 100 000)."""
import os
import random
import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, text

from stompro.extensions import db
from stompro.patients.models import Patient

from .common import p50, seeded_app, signed_in_client, timings_ms

EXTRA_PATIENTS = int(os.environ.get("STOMPRO_BENCH_PATIENTS", "100000"))
RUNS = 20


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


def test_demo_database_and_patient_list(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, seeded_s):
        with app.app_context():
            started = time.perf_counter()
            rows = list(generated_patients(EXTRA_PATIENTS))
            for chunk in range(0, len(rows), 10000):
                db.session.execute(insert(Patient), rows[chunk:chunk + 10000])
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("ANALYZE"))  # as autovacuum would after a bulk load
                db.session.commit()
            generated_s = time.perf_counter() - started
            db.session.remove()

        client = signed_in_client(app, "owner")
        pages = {
            "first page": "/admin/patient/",
            "surname search": "/admin/patient/?search=Смирнов12345",
            "phone search (8 926 …)": "/admin/patient/?search=8%20926%20001-23-45",
            "page 100": "/admin/patient/?page=100",
        }
        print(f"\n[{dialect}] create + seed demo database: {seeded_s:.2f} s")
        print(f"[{dialect}] insert {EXTRA_PATIENTS} generated patients: {generated_s:.2f} s")
        for name, url in pages.items():
            wall, _ = timings_ms(lambda run: client.get(url), RUNS)
            print(f"[{dialect}] patient list, {name}: p50 {p50(wall):.1f} ms over {RUNS} runs")

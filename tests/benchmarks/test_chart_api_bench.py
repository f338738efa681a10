"""Chart API figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks/test_chart_api_bench.py -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        pytest tests/benchmarks/test_chart_api_bench.py -s

A fresh demo database per run; one patient with 500 findings over a few
years (all teeth, whole-tooth and surface findings). Measures the server
time of GET /api/v1/patients/{id}/chart and of POST of one finding (which
answers with the whole current chart) as the doctor. Targets: p50 ≤ 30 ms."""
import os
import random
from datetime import timedelta

from stompro.api.auth import issue_token
from stompro.chart.models import Condition, ToothFinding
from stompro.chart.teeth import PERMANENT_TEETH
from stompro.db import utcnow
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.patients.models import Patient

from .common import p50, seeded_app, timings_ms

FINDINGS = 500
RUNS = 50
SURFACES = ("", "", "M", "O", "D", "B", "L", "MO", "OD")


def patient_with_findings(count):
    rng = random.Random(36)
    doctor = db.session.execute(db.select(Staff).filter_by(login="doctor")).scalar_one()
    conditions = db.session.execute(db.select(Condition)).scalars().all()
    patient = Patient(last_name="Нагрузочный", first_name="Тест", birth_date=utcnow().date().replace(year=1980), phone="+79990000500")
    db.session.add(patient)
    start = utcnow() - timedelta(days=4 * 365)
    db.session.add_all(
        ToothFinding(
            patient=patient, author=doctor, tooth=rng.choice(PERMANENT_TEETH), surfaces=rng.choice(SURFACES),
            condition=rng.choice(conditions), note=rng.choice([None, "контроль через полгода"]),
            recorded_at=start + timedelta(hours=number * 7),
        )
        for number in range(count)
    )
    db.session.commit()
    return patient.id, doctor


def test_chart_api_with_500_findings(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.app_context():
            patient_id, doctor = patient_with_findings(FINDINGS)
            headers = {"Authorization": f"Bearer {issue_token(doctor)}"}
            db.session.remove()

        client = app.test_client()
        chart = f"/api/v1/patients/{patient_id}/chart"
        client.get(chart, headers=headers)  # warm up

        def get(run):
            return client.get(chart, headers=headers)

        def post(run):
            finding = {"tooth": PERMANENT_TEETH[run % len(PERMANENT_TEETH)], "surfaces": "O", "condition": "caries"}
            return client.post(chart, json={"findings": [finding]}, headers=headers)

        entries = len(get(0).get_json()["findings"])
        figures = {"GET": timings_ms(get, RUNS, 200), "POST one finding": timings_ms(post, RUNS, 201)}
        print(f"\n[{dialect}] patient with {FINDINGS} findings → {entries} current chart entries")
        print(f"[{dialect}] load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for name, (wall, cpu) in figures.items():
            print(f"[{dialect}] chart API {name}: p50 {p50(wall):.1f} ms (app CPU {p50(cpu):.1f} ms) over {RUNS} runs; target ≤ 30 ms")

"""Plan builder figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks/test_plan_builder_bench.py -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        pytest tests/benchmarks/test_plan_builder_bench.py -s

A fresh demo database per run; one patient whose chart has 28 findings that
need treatment (caries, pulpitis, apical periodontitis, extractions, missing
teeth, calculus, periodontitis, fractures). Each run is what a request does:
load the patient and the author, build the plan in three variants and write
it (the plan screen then redirects to the new plan); the API also reads the
whole plan back for its answer, timed apart. The commit is outside the
timer. Target: p50 ≤ 150 ms."""
import os
import time
from datetime import date

from stompro.chart.services import record_findings
from stompro.extensions import db
from stompro.org.models import Staff
from stompro.patients.models import Patient
from stompro.planning.builder import build_plan
from stompro.planning.services import load_plan, plan_json

from .common import p50, seeded_app, signed_in_client, timings_ms

RUNS = 30
FINDINGS = (
    [{"tooth": t, "surfaces": s, "condition": "caries"} for t, s in
     ((14, "O"), (15, "MO"), (24, "D"), (25, "O"), (34, "OD"), (35, "O"), (44, "M"), (45, "MOD"))]
    + [{"tooth": t, "surfaces": "", "condition": "pulpitis"} for t in (16, 26, 36, 37)]
    + [{"tooth": t, "surfaces": "", "condition": "apical_periodontitis"} for t in (27, 17)]
    + [{"tooth": t, "surfaces": "", "condition": "extraction_indicated"} for t in (46, 18, 38)]
    + [{"tooth": t, "surfaces": "", "condition": "missing"} for t in (47, 22, 12)]
    + [{"tooth": t, "surfaces": "", "condition": "calculus"} for t in (31, 32, 41, 42)]
    + [{"tooth": t, "surfaces": "", "condition": "periodontitis"} for t in (33, 43)]
    + [{"tooth": t, "surfaces": "", "condition": "fracture"} for t in (11, 21)]
)


def patient_with_chart():
    doctor = db.session.execute(db.select(Staff).filter_by(login="doctor")).scalar_one()
    patient = Patient(last_name="Нагрузочный", first_name="План", birth_date=date(1975, 3, 3), phone="+79990000528")
    db.session.add(patient)
    db.session.flush()
    record_findings(db.session, patient, doctor, FINDINGS)
    db.session.commit()
    return patient.id, doctor.id


def test_build_a_plan_for_28_findings(tmp_path):
    assert len(FINDINGS) == 28 and len({f["tooth"] for f in FINDINGS}) == 28
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.app_context():
            patient_id, doctor_id = patient_with_chart()
            db.session.remove()

            def build():
                patient, doctor = db.session.get(Patient, patient_id), db.session.get(Staff, doctor_id)
                return build_plan(db.session, patient, doctor)

            build()  # warm up
            db.session.rollback()
            wall, cpu, answer, items, stages = [], [], [], 0, 0
            for _ in range(RUNS):
                started, started_cpu = time.perf_counter(), time.process_time()
                plan = build()
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                started = time.perf_counter()
                body = plan_json(load_plan(db.session, plan.id))
                answer.append(wall[-1] + (time.perf_counter() - started) * 1000)
                stages = sum(len(v["stages"]) for v in body["variants"])
                items = sum(len(s["items"]) for v in body["variants"] for s in v["stages"])
                assert [v["tier"] for v in body["variants"]] == ["premium", "optimal", "economy"]
                db.session.commit()
                db.session.remove()
        print(f"\n[{dialect}] chart with {len(FINDINGS)} findings → 3 variants, {stages} stages, {items} items")
        print(f"[{dialect}] load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"[{dialect}] build_plan: p50 {p50(wall):.1f} ms (CPU {p50(cpu):.1f} ms), max {max(wall):.1f} ms "
              f"over {RUNS} runs; target ≤ 150 ms")
        print(f"[{dialect}] build_plan + load_plan + plan_json (the API's answer): p50 {p50(answer):.1f} ms")


def test_the_plan_screen_of_that_plan(tmp_path):
    """The coordinator's screen of the 28-finding plan: three variants side by
    side, six charts, every item with its actions."""
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.app_context():
            patient_id, doctor_id = patient_with_chart()
            plan = build_plan(db.session, db.session.get(Patient, patient_id), db.session.get(Staff, doctor_id))
            db.session.commit()
            plan_id = plan.id
            db.session.remove()
        client = signed_in_client(app, "coordinator")
        page = client.get(f"/admin/plan/{plan_id}")
        assert page.status_code == 200 and b"plan-variant" in page.data
        wall, cpu = timings_ms(lambda _: client.get(f"/admin/plan/{plan_id}"), 10)
        print(f"\n[{dialect}] plan screen of the 28-finding plan: {len(page.data) // 1024} KB, "
              f"p50 {p50(wall):.0f} ms (CPU {p50(cpu):.0f} ms) over 10 runs")

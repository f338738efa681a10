"""The generic screens at a network's scale, printed for the issue note (not
timed assertions): the visits list of one branch's administrator (the branch
filter) against the owner's, a visit's details page (with its branch check),
and the patient picker, each beside the same query run bare.

    pytest tests/benchmarks/test_generic_screens_bench.py -s
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest tests/benchmarks/test_generic_screens_bench.py -s

Adds STOMPRO_BENCH_VISITS generated visits (default 1 000 000) over both demo
branches and STOMPRO_BENCH_PATIENTS patients (default 100 000)."""
import os
import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, or_, select, text

from stompro.extensions import db
from stompro.org.models import Room, Staff, StaffRole, staff_clinic
from stompro.patients.models import Patient
from stompro.scheduling.models import Appointment

from .common import p50, seeded_app, signed_in_client, timings_ms

VISITS = int(os.environ.get("STOMPRO_BENCH_VISITS", "1000000"))
PATIENTS = int(os.environ.get("STOMPRO_BENCH_PATIENTS", "100000"))
RUNS = 20


def _generate(app):
    """Patients and visits in both branches, each visit in a room of its branch."""
    with app.app_context():
        now = datetime.now(timezone.utc)
        rows = [
            {"last_name": f"Смирнов{n}", "first_name": "Иван", "birth_date": date(1950, 1, 1) + timedelta(days=n % 25000),
             "phone": f"+7926{n:07d}", "sms_consent": True, "status": "active", "version": 1,
             "created_at": now, "updated_at": now}
            for n in range(PATIENTS)
        ]
        for chunk in range(0, len(rows), 10000):
            db.session.execute(insert(Patient), rows[chunk:chunk + 10000])
        patients = db.session.execute(select(Patient.id)).scalars().all()
        rooms = db.session.execute(select(Room.id, Room.clinic_id)).all()
        doctors = db.session.execute(
            select(StaffRole.staff_id).where(StaffRole.role == "doctor")
        ).scalars().all()
        # Round the clock from 2018, years before the demo's own history; each
        # half hour as many visits as there are rooms and doctors to hold them:
        # no doctor, room or patient twice at a time (PostgreSQL's exclusion
        # constraints refuse that).
        start = datetime(2018, 1, 1, 6, tzinfo=timezone.utc)
        at_once = min(len(rooms), len(doctors))

        def visit(n):
            slot, place = divmod(n, at_once)
            room_id, clinic_id = rooms[place]
            begins = start + timedelta(minutes=30 * slot)
            return {
                "clinic_id": clinic_id, "room_id": room_id, "doctor_id": doctors[(place + slot) % len(doctors)],
                "patient_id": patients[n % len(patients)], "starts_at": begins, "ends_at": begins + timedelta(minutes=30),
                "kind": "treatment", "status": "done", "version": 1, "created_at": now, "updated_at": now,
            }

        for chunk in range(0, VISITS, 10000):
            db.session.execute(insert(Appointment), [visit(n) for n in range(chunk, min(chunk + 10000, VISITS))])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()


def _bare_ms(app, statement, runs=RUNS):
    with app.app_context():
        wall = []
        for _ in range(runs):
            started = time.perf_counter()
            db.session.execute(statement).all()
            wall.append((time.perf_counter() - started) * 1000)
        db.session.remove()
    return p50(wall)


def test_branch_lists_details_and_the_patient_picker_at_scale(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        started = time.perf_counter()
        _generate(app)
        print(f"\n[{dialect}] generated {PATIENTS} patients and {VISITS} visits: {time.perf_counter() - started:.1f} s")
        with app.app_context():
            admin = db.session.execute(select(Staff).filter_by(login="admin")).scalar_one()
            mine = select(staff_clinic.c.clinic_id).where(staff_clinic.c.staff_id == admin.id)
            visit_id = db.session.execute(
                select(Appointment.id).where(Appointment.clinic_id.in_(mine)).order_by(Appointment.id.desc()).limit(1)
            ).scalar_one()
            bare_branch_list = (
                select(Appointment).where(Appointment.deleted_at.is_(None), or_(Appointment.clinic_id.in_(mine),
                                                                               Appointment.clinic_id.is_(None)))
                .order_by(Appointment.starts_at.desc()).limit(50)
            )
            bare_list = (
                select(Appointment).where(Appointment.deleted_at.is_(None)).order_by(Appointment.starts_at.desc()).limit(50)
            )
            db.session.remove()
        administrator, owner = signed_in_client(app, "admin"), signed_in_client(app, "owner")
        figures = {
            "visits list, administrator of one branch": (administrator, "/admin/appointment/", bare_branch_list),
            "visits list, owner (network)": (owner, "/admin/appointment/", bare_list),
            "visit details, administrator": (administrator, f"/admin/appointment/details/?id={visit_id}", None),
            "patient picker 'Смирнов1234'": (
                administrator, "/admin/appointment/ajax/lookup/?name=patient&query=Смирнов1234", None
            ),
            "patient picker '01.05.1964' (a birth date)": (
                administrator, "/admin/appointment/ajax/lookup/?name=patient&query=01.05.1964", None
            ),
            "patient picker '8 926 000-12-34'": (
                administrator, "/admin/appointment/ajax/lookup/?name=patient&query=8%20926%20000-12-34", None
            ),
        }
        for name, (client, url, bare) in figures.items():
            wall, cpu = timings_ms(lambda run: client.get(url), RUNS)
            line = f"[{dialect}] {name}: p50 {p50(wall):.1f} ms (CPU {p50(cpu):.1f} ms)"
            if bare is not None:
                line += f"; the list's query bare: {_bare_ms(app, bare):.1f} ms"
            print(line)

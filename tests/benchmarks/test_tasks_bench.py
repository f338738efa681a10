"""``flask tasks generate`` over the demo network plus generated patients,
printed for the issue note (not a timed assertion): the first run, which
makes the tasks, a rerun, which must make none, and each rule's subjects
read bare (the queries without making tasks).

    pytest tests/benchmarks/test_tasks_bench.py -s
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest tests/benchmarks/test_tasks_bench.py -s

STOMPRO_BENCH_PATIENTS patients (default 100 000): every third with a
hygiene visit five to eight months ago (those past six months are due a
recall), every twentieth with an accepted plan and nothing booked, one in
365 a VIP whose birthday is today."""
import os
import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, insert, select, text

from stompro.extensions import db
from stompro.messaging.models import Message
from stompro.messaging.outbox import contact_of
from stompro.org.models import Room, Staff, StaffRole
from stompro.patients.models import Patient, PatientTag
from stompro.planning.models import TreatmentPlan
from stompro.scheduling.models import Appointment
from stompro.tasks import rules
from stompro.tasks.models import TaskRule
from stompro.tasks.rules import generate_tasks

from .common import seeded_app

PATIENTS = int(os.environ.get("STOMPRO_BENCH_PATIENTS", "100000"))
CHUNK = 10000


def _generate(app, now):
    with app.app_context():
        today = now.date()
        patients = [
            {"last_name": f"Задачин{n}", "first_name": "Олег",
             "birth_date": today.replace(year=1980) if n % 365 == 0 else date(1950, 1, 1) + timedelta(days=n % 25000),
             "phone": f"+7927{n:07d}", "sms_consent": True, "status": "active", "version": 1,
             "created_at": now, "updated_at": now}
            for n in range(PATIENTS)
        ]
        for chunk in range(0, PATIENTS, CHUNK):
            db.session.execute(insert(Patient), patients[chunk:chunk + CHUNK])
        ids = db.session.execute(select(Patient.id).where(Patient.last_name.like("Задачин%"))
                                 .order_by(Patient.id)).scalars().all()
        rooms = db.session.execute(select(Room.id, Room.clinic_id)).all()
        doctors = db.session.execute(select(StaffRole.staff_id).where(StaffRole.role == "doctor")).scalars().all()
        author = db.session.execute(select(Staff.id).filter_by(login="doctor")).scalar_one()
        at_once = min(len(rooms), len(doctors))
        start = now - timedelta(days=230)  # from about eight months ago on

        def hygiene(n, patient_id):
            slot, place = divmod(n, at_once)
            room_id, clinic_id = rooms[place]
            begins = start + timedelta(minutes=30 * slot)
            return {"clinic_id": clinic_id, "room_id": room_id, "doctor_id": doctors[(place + slot) % len(doctors)],
                    "patient_id": patient_id, "starts_at": begins, "ends_at": begins + timedelta(minutes=30),
                    "kind": "hygiene", "status": "done", "version": 1, "created_at": now, "updated_at": now}

        visits = [hygiene(n, patient_id) for n, patient_id in enumerate(ids[::3])]
        for chunk in range(0, len(visits), CHUNK):
            db.session.execute(insert(Appointment), visits[chunk:chunk + CHUNK])
        plans = [{"patient_id": patient_id, "author_id": author, "status": "accepted", "payer_kind": "self",
                  "clinic_id": rooms[0][1], "version": 1, "created_at": now, "updated_at": now}
                 for patient_id in ids[::20]]
        db.session.execute(insert(TreatmentPlan), plans)
        db.session.execute(insert(PatientTag), [{"patient_id": ids[n], "tag": "VIP"} for n in range(0, len(ids), 365)])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()
        return len(visits), len(plans)


def test_tasks_generate_over_the_network_and_generated_patients(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        hygiene, plans = _generate(app, now)
        print(f"\n[{dialect}] {PATIENTS} patients, {hygiene} hygiene visits, {plans} plans generated in "
              f"{time.perf_counter() - started:.1f} s")
        with app.app_context():
            active = {rule.code: rule for rule in db.session.execute(select(TaskRule)).scalars()}
            found = {}
            for code, subjects in (
                ("confirm_tomorrow", rules._visits_to_confirm), ("care_call_after_surgery", rules._visits_after_surgery),
                ("hygiene_recall", rules._hygiene_recalls), ("plan_continuation", rules._plans_to_continue),
                ("vip_birthday", rules._birthdays),
            ):
                started = time.perf_counter()
                read = list(subjects(db.session, active[code], now))
                found[code] = len(read)
                if code == "hygiene_recall":
                    reachable = sum(1 for subject in read if contact_of(subject["patient"])[0] is not None)
                print(f"[{dialect}] bare: {code}: {found[code]} subjects read in "
                      f"{(time.perf_counter() - started) * 1000:.0f} ms")
            db.session.remove()

            started = time.perf_counter()
            made = generate_tasks(db.session, now=now)
            db.session.commit()
            first = time.perf_counter() - started
            print(f"[{dialect}] tasks generate, first run: {first:.1f} s, made {made}")
            # a task for every subject, none twice; the demo's own open calls (seeded) are not made again
            assert all(made[code] <= found[code] for code in found), (made, found)
            assert made["hygiene_recall"] == found["hygiene_recall"] and made["plan_continuation"] >= plans
            written = _messages_by_kind()
            print(f"[{dialect}] messages planned with them: {written}")
            assert written["recall"] == reachable  # each recalled patient who agreed to SMS or e-mail

            started = time.perf_counter()
            again = generate_tasks(db.session, now=now)
            db.session.commit()
            print(f"[{dialect}] tasks generate, rerun: {time.perf_counter() - started:.1f} s, made {again}")
            assert sum(again.values()) == 0
            assert _messages_by_kind() == written  # and no message twice
            db.session.remove()


def _messages_by_kind():
    return dict(db.session.execute(
        select(Message.kind, func.count()).where(Message.kind.in_(("recall", "care", "birthday")))
        .group_by(Message.kind)).all())

"""The schedule at a busy branch's scale, printed for the issue note (not
timed assertions): the board's day and week, the slot finder over 60 days,
booking a 12-stage plan and the cascade's preview over a plan of 12
dependent visits — each beside the time of its own queries run bare; and
the board's patient picker over 100 000 patients.

    pytest tests/benchmarks/test_schedule_bench.py -s
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres pytest tests/benchmarks/test_schedule_bench.py -s

On the demo clinic it adds a branch with 20 doctors and 12 chairs working
Monday to Saturday for a year (half a year back, half ahead): up to eight
visits in every six hours of a shift, about 56 000 visits, with short gaps a
15-minute visit fits in, and on one shift in four an hour and three
quarters free."""
import time as clock
from datetime import date, time, timedelta
from pathlib import Path

import yaml
from sqlalchemy import insert, or_, select, text

from stompro.api.auth import issue_token
from stompro.db import utcnow
from stompro.extensions import db
from stompro.org.models import Clinic, Room, Specialty, Staff
from stompro.org.services import create_staff
from stompro.patients.models import Patient
from stompro.patients.services import search_patients
from stompro.planning.models import PlanStage, PlanVariant, TreatmentPlan
from stompro.scheduling.availability import at_local, local_day
from stompro.scheduling.board_views import PICKER_RESULTS
from stompro.scheduling.cascade import preview_move
from stompro.scheduling.models import Appointment, Shift
from stompro.scheduling.plan_booking import apply_plan_booking, preview_plan_booking
from stompro.scheduling.services import HOLDING, overlapping
from stompro.scheduling.slots import find_slots

from .common import p50, seeded_app, signed_in_client, timings_ms

RUNS = 15
DOCTORS, CHAIRS, PATIENTS = 20, 12, 20000
DAYS_BACK, DAYS_AHEAD = 182, 183
# (minutes from the shift's start, minutes long) in each six hours of a shift.
PATTERN = ((0, 30), (30, 45), (90, 30), (120, 60), (195, 30), (225, 45), (285, 30), (330, 30))
# Doctors 0–7 work 09–15 in chairs 0–7, 8–11 work 09–21 in chairs 8–11, 12–19 work 15–21 in chairs 0–7.
SPECIALTIES = ("therapy", "therapy", "therapy", "endodontics", "surgery", "implantology", "prosthetics", "hygiene")


def _shift_of(n):
    if n < 8:
        return n, time(9), 1
    if n < 12:
        return n, time(9), 2
    return n - 12, time(15), 1


def _generate(app):
    """The branch, its people, shifts and visits; returns the branch's id."""
    with app.app_context():
        specialties = {s.code: s for s in db.session.execute(select(Specialty)).scalars()}
        branch = Clinic(name="StomPRO Бенчмарк", address="Москва, ул. Проверочная, 1", time_zone="Europe/Moscow",
                        currency="RUB", opens_at=time(9), closes_at=time(21), working_days="123456")
        branch.rooms.extend(Room(name=f"Кресло {n + 1}", kind="chair") for n in range(CHAIRS))
        db.session.add(branch)
        db.session.flush()
        doctors = [
            create_staff(db.session, login=f"bench.doctor{n}", password="bench-password-1", last_name=f"Врач{n}",
                         first_name="Тест", roles=["doctor"], clinics=[branch],
                         specialty=specialties[SPECIALTIES[n % len(SPECIALTIES)]])
            for n in range(DOCTORS)
        ]
        admin = db.session.execute(select(Staff).filter_by(login="admin")).scalar_one()
        admin.clinics.append(branch)
        now = utcnow()
        db.session.execute(insert(Patient), [
            {"last_name": f"Пациент{n}", "first_name": "Анна", "birth_date": date(1960, 1, 1) + timedelta(days=n),
             "phone": f"+7925{n:07d}", "status": "active", "version": 1, "created_at": now, "updated_at": now}
            for n in range(PATIENTS)
        ])
        patients = db.session.execute(select(Patient.id).where(Patient.last_name.like("Пациент%"))).scalars().all()
        rooms = [room.id for room in branch.rooms]
        today = local_day(branch, now)
        shifts, visits = [], []
        for offset in range(-DAYS_BACK, DAYS_AHEAD):
            day = today + timedelta(days=offset)
            if day.isoweekday() == 7:
                continue
            for n, doctor in enumerate(doctors):
                chair, starts, blocks = _shift_of(n)
                begins = at_local(branch, day, starts)
                shifts.append({"staff_id": doctor.id, "clinic_id": branch.id, "room_id": rooms[chair],
                               "work_date": day, "starts_at": begins, "ends_at": begins + timedelta(hours=6 * blocks),
                               "created_at": now, "updated_at": now})
                for block in range(blocks):
                    for minute, length in PATTERN:
                        if minute in (120, 195) and (n + offset + block) % 4 == 0:
                            continue  # an hour and three quarters free: a 90-minute visit fits
                        start = begins + timedelta(hours=6 * block, minutes=minute)
                        visits.append({
                            "clinic_id": branch.id, "room_id": rooms[chair], "doctor_id": doctor.id,
                            "patient_id": patients[len(visits) % len(patients)], "starts_at": start,
                            "ends_at": start + timedelta(minutes=length), "kind": "treatment",
                            "status": "done" if start < now else "booked", "version": 1,
                            "created_at": now, "updated_at": now,
                        })
        for chunk in range(0, len(shifts), 5000):
            db.session.execute(insert(Shift), shifts[chunk:chunk + 5000])
        for chunk in range(0, len(visits), 5000):
            db.session.execute(insert(Appointment), visits[chunk:chunk + 5000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        found = branch.id, len(visits)
        db.session.remove()
        return found


def _plan(branch_id, admin, specialty_codes, booked_from=None):
    """A patient's accepted plan in the branch: 12 stages, each but the first
    waiting for the one before with a gap of a day or a week, the seventh
    running beside the sixth. With ``booked_from``, every stage is booked."""
    specialties = {s.code: s for s in db.session.execute(select(Specialty)).scalars()}
    branch = db.session.get(Clinic, branch_id)
    patient = Patient(last_name="Плановая", first_name="Мария", birth_date=date(1988, 8, 8), phone="+79260000001")
    plan = TreatmentPlan(patient=patient, clinic=branch, author=admin, title="Бенчмарк", status="accepted")
    variant = PlanVariant(plan=plan, tier="optimal", chosen=True)
    stages, before = [], None
    for n in range(12):
        stage = PlanStage(variant=variant, position=n + 1, kind="treatment",
                          specialty=specialties[specialty_codes[n % len(specialty_codes)]],
                          depends_on=before, parallel=n == 6, min_gap_days=7 if n % 4 == 3 else 1,
                          duration_min=(30, 45, 60, 90)[n % 4])
        stages.append(stage)
        before = stage
    db.session.add_all([patient, plan, variant, *stages])
    db.session.flush()
    if booked_from is not None:
        apply_plan_booking(db.session, admin, plan, first_day=booked_from)
    db.session.commit()
    return plan.id


def _shifts_of(branch_id, day, days):
    return select(Shift).where(Shift.clinic_id == branch_id, Shift.deleted_at.is_(None), Shift.work_date >= day,
                               Shift.work_date < day + timedelta(days=days))


def _taken(branch, day, days):
    """The slot finder's read of the time taken in the branch (slots.FreeTime)."""
    start, end = at_local(branch, day, time(0)), at_local(branch, day + timedelta(days=days), time(0))
    return select(
        Appointment.id, Appointment.doctor_id, Appointment.room_id, Appointment.patient_id, Appointment.starts_at,
        Appointment.ends_at,
    ).where(Appointment.deleted_at.is_(None), Appointment.status.in_(HOLDING), *overlapping(start, end),
            or_(Appointment.room_id.in_([room.id for room in branch.rooms]), Appointment.patient_id == 0))


def _ms(call, runs=RUNS):
    wall = []
    for _ in range(runs):
        started = clock.perf_counter()
        call()
        wall.append((clock.perf_counter() - started) * 1000)
    return p50(wall)


def test_the_board_slots_plan_booking_and_cascade_of_a_busy_branch(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        started = clock.perf_counter()
        branch_id, made = _generate(app)
        print(f"\n[{dialect}] generated a branch of {DOCTORS} doctors and {CHAIRS} chairs, {made} visits in a year: "
              f"{clock.perf_counter() - started:.1f} s")
        administrator = signed_in_client(app, "admin")
        with app.app_context():
            branch = db.session.get(Clinic, branch_id)
            today = local_day(branch, utcnow())
            day = today + timedelta(days=(2 - today.weekday()) % 7 or 7)  # next Wednesday
            day_start, day_end = at_local(branch, day, time(0)), at_local(branch, day + timedelta(days=1), time(0))
            week_start = at_local(branch, day - timedelta(days=day.weekday()), time(0))
            visits_of = lambda first, last: (  # noqa: E731  (the board's main query, bare)
                select(Appointment).where(Appointment.clinic_id == branch_id, Appointment.deleted_at.is_(None),
                                          Appointment.starts_at >= first, Appointment.starts_at < last)
                .order_by(Appointment.starts_at)
            )
            db.session.remove()

        def bare(statement):
            with app.app_context():
                taken = _ms(lambda: db.session.execute(statement).all())
                db.session.remove()
            return taken

        for name, url, statement in (
            ("day board (20 doctors)", f"/admin/schedule/?clinic={branch_id}&day={day:%Y-%m-%d}&view=day",
             visits_of(day_start, day_end)),
            ("week board", f"/admin/schedule/?clinic={branch_id}&day={day:%Y-%m-%d}&view=week",
             visits_of(week_start, week_start + timedelta(days=7))),
            ("day board's refresh (the grid alone)", f"/admin/schedule/grid?clinic={branch_id}&day={day:%Y-%m-%d}",
             visits_of(day_start, day_end)),
        ):
            wall, cpu = timings_ms(lambda run: administrator.get(url), RUNS)
            print(f"[{dialect}] {name}: p50 {p50(wall):.1f} ms (CPU {p50(cpu):.1f} ms); "
                  f"its visits query bare: {bare(statement):.1f} ms")

        with app.app_context():
            admin = db.session.execute(select(Staff).filter_by(login="admin")).scalar_one()
            branch = db.session.get(Clinic, branch_id)
            therapy = db.session.execute(select(Specialty).filter_by(code="therapy")).scalar_one()
            patient = db.session.execute(select(Patient).filter_by(last_name="Пациент7")).scalar_one()
            found = []
            taken = _ms(lambda: found.append(find_slots(
                db.session, duration=timedelta(minutes=60), first_day=day, last_day=day + timedelta(days=59),
                specialty=therapy, clinic=branch, patient=patient)))
            print(f"[{dialect}] slot search, 60 min of therapy over 60 days, for a patient: p50 {taken:.1f} ms "
                  f"({len(found[-1])} slots, the best {found[-1][0].start:%Y-%m-%d %H:%M}Z)")
            print(f"[{dialect}]   its queries bare: the shifts of the 60 days "
                  f"{_ms(lambda: db.session.execute(_shifts_of(branch_id, day, 60)).all()):.1f} ms; the time taken, "
                  f"a week (what it reads first) {_ms(lambda: db.session.execute(_taken(branch, day, 7)).all()):.1f} ms, "
                  f"60 days {_ms(lambda: db.session.execute(_taken(branch, day, 60)).all(), runs=5):.1f} ms")

            codes = ("therapy", "surgery", "implantology", "prosthetics")
            plan_id = _plan(branch_id, admin, codes)
            plan = db.session.get(TreatmentPlan, plan_id)
            outcome = []
            taken = _ms(lambda: outcome.append(preview_plan_booking(db.session, admin, plan, first_day=day)), runs=5)
            booking = outcome[-1]
            print(f"[{dialect}] booking a 12-stage plan, preview: p50 {taken:.1f} ms "
                  f"({len(booking.bookings)} placed, {len(booking.unplaced)} unplaced)")

            def apply_and_undo():
                apply_plan_booking(db.session, admin, plan, first_day=day)
                db.session.rollback()
            print(f"[{dialect}] booking a 12-stage plan, applied (rolled back): p50 {_ms(apply_and_undo, runs=5):.1f} ms")

            booked_plan = _plan(branch_id, admin, codes, booked_from=day)
            first = db.session.execute(
                select(Appointment).join(PlanStage).join(PlanVariant)
                .where(PlanVariant.plan_id == booked_plan).order_by(Appointment.starts_at).limit(1)
            ).scalar_one()
            later = find_slots(db.session, duration=first.ends_at - first.starts_at, doctor=first.doctor, clinic=branch,
                               first_day=local_day(branch, first.starts_at) + timedelta(days=7),
                               last_day=local_day(branch, first.starts_at) + timedelta(days=21), limit=1)[0]
            moves = []
            taken = _ms(lambda: moves.append(preview_move(db.session, admin, first, later.start)), runs=5)
            print(f"[{dialect}] cascade preview, the first of 12 dependent visits a week later: p50 {taken:.1f} ms "
                  f"({len(moves[-1].moves)} moves, {len(moves[-1].unplaced)} unplaced)")
            token = issue_token(admin)
            db.session.remove()

        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        for name, call in (
            ("API slots, 60 days", lambda run: api.get(
                f"/api/v1/slots?specialty=therapy&duration=60&from={day}&to={day + timedelta(days=59)}", headers=headers)),
            ("API plan booking preview", lambda run: api.post(
                f"/api/v1/plans/{plan_id}/book", json={"apply": False, "from": str(day)}, headers=headers)),
        ):
            wall, cpu = timings_ms(call, 5)
            print(f"[{dialect}] {name}: p50 {p50(wall):.1f} ms (CPU {p50(cpu):.1f} ms)")


PICKER_PATIENTS = 100_000


def _many_patients(app):
    """100 000 patients with the demo's Russian names, phones and birth dates."""
    names = yaml.safe_load((Path(__file__).resolve().parents[2] / "seeds/demo/names.yaml").read_text("utf-8"))
    surnames, firsts = names["surnames"], names["male_first_names"]
    middles = names["patronymics"]
    with app.app_context():
        now = utcnow()
        rows = [
            {"last_name": f"{surnames[n % len(surnames)]}", "first_name": firsts[(n // 7) % len(firsts)],
             "middle_name": middles[(n // 11) % len(middles)]["male"], "birth_date": date(1940, 1, 1) + timedelta(days=n % 30000),
             "phone": f"+79{(n * 7919) % 10**9:09d}", "status": "active", "version": 1, "created_at": now,
             "updated_at": now}
            for n in range(PICKER_PATIENTS)
        ]
        for chunk in range(0, len(rows), 10000):
            db.session.execute(insert(Patient), rows[chunk:chunk + 10000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE patient"))
            db.session.commit()
        sample = rows[4321]
        db.session.remove()
    return sample


def test_the_boards_patient_picker_over_100000_patients(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        sample = _many_patients(app)
        administrator = signed_in_client(app, "admin")
        phone = sample["phone"]
        for name, typed in (
            ("a surname fragment", sample["last_name"][:5]),
            ("surname and first name", f"{sample['last_name']} {sample['first_name']}"),
            ("a phone as typed", f"8 {phone[2:5]} {phone[5:8]}-{phone[8:10]}-{phone[10:]}"),
            ("a phone's last digits", phone[-6:]),
            ("a birth date", f"{sample['birth_date']:%d.%m.%Y}"),
        ):
            wall, cpu = timings_ms(lambda run: administrator.get(f"/admin/schedule/patients?q={typed}"), RUNS)
            with app.app_context():
                found = len(search_patients(db.session, typed, limit=PICKER_RESULTS))
                bare = _ms(lambda: search_patients(db.session, typed, limit=PICKER_RESULTS))
                db.session.remove()
            print(f"[{dialect}] board's patient picker, {name} '{typed}': p50 {p50(wall):.1f} ms "
                  f"(CPU {p50(cpu):.1f} ms), {found} found; the search bare: {bare:.1f} ms")

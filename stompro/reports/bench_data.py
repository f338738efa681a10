"""A large clinic network for benchmarks of the owner's reports
(``flask bench-data``).

``generate(session, branches, doctors, patients, visits, …)`` adds a
network of its own next to whatever the database holds: branches named
"Bench branch N" (the first free numbers), their chairs and staff, closures,
patients (with insurance policies for the insured), treatment plans of three
variants, the doctors' shifts over ``months`` ending today plus two weeks
ahead, the time clock, visits inside those shifts, invoices with their lines
and payments, and tasks. The same ``seed`` (and the same day) builds the
same rows.

Rows are plain tuples written by ``stompro.bulk`` (COPY on PostgreSQL,
``executemany`` elsewhere) in chunks of about CHUNK rows of the chunk's main
table, so memory stays bounded whatever the size; each chunk's ids are drawn
just before it is written so rows point at each other. On PostgreSQL a thread
of its own writes a chunk while the next one is built. Nothing goes through
the ORM: no validators run (the generator keeps to the CHECK and exclusion
constraints itself) and no audit rows are written for generated data.

The shape:

- Every doctor works Monday to Saturday, 09:00–18:00 or 12:00–21:00 local
  (alternating weekly), in a chair of their own, except on the branch's
  closures (the New Year holidays and two days of repairs). A branch has a
  chair per doctor and an X-ray room: with the hours overlapping, fewer
  chairs could not hold a visit per doctor at a time.
- ``visits`` are spread over the shifts (more in the recent months, fewer on
  Saturdays, fewer the further ahead). In a shift the visits that hold time
  lie one after another on a 15-minute grid, so no two live visits of a
  doctor or a chair overlap; cancelled ones (they free their time) lie
  anywhere in the shift. A patient has at most one visit a day, so no
  patient overlaps either. A patient is seen only from the day of their
  registration on, mostly in their home branch.
- Past visits: ~82% done, ~6% no-shows, ~12% cancelled (a third of those
  less than 24 hours ahead); ahead: booked or confirmed, some cancelled.
- Every done visit has an invoice (INV<branch id>-<year>-<n>, as the cash
  desk numbers them) of 1–3 lines at the price list's prices: mostly paid at
  once, some partly paid or owed; the insured patients' invoices go to the
  insurer, paid a fortnight later. A few patients pay an advance that is
  partly given back (a negative payment with a reason).
- Tasks: confirmation calls, care calls after surgery, calls about no-shows
  and about presented and accepted plans; open when due ahead, else mostly
  done.

Staff sign in with the password BENCH_PASSWORD (logins bench<N>.doctor1 …,
bench<N>.owner).
"""
import contextvars
import math
import random
from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session

from ..billing.models import Invoice, InvoiceLine, Payment
from ..bulk import reserve_ids, write_rows
from ..catalog.models import PriceListItem, Service
from ..catalog.prices import current_price_list
from ..chart.teeth import PERMANENT_TEETH
from ..db import utcnow
from ..errors import DomainError
from ..org.models import Clinic, Room, Specialty, Staff, StaffRole, staff_clinic
from ..patients.models import InsurancePolicy, InsuranceProgram, Patient, insurance_program_service
from ..planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from ..scheduling.models import Appointment, Closure, Shift
from ..seeding.reference import read_yaml
from ..settings import PROJECT_ROOT
from ..tasks.models import Task, TaskRule
from ..timeclock.models import TimeClock

CHUNK = 50_000  # rows of a chunk's main table (patients, visits) written at once
PLAN_CHUNK = 10_000  # plans per chunk: about 30 000 variants, 90 000 stages, 180 000 items
FUTURE_DAYS = 14  # shifts and booked visits ahead of today
ZONE = "Europe/Moscow"
MOSCOW = ZoneInfo(ZONE)
BRANCH_NAME = "Bench branch {}"
BENCH_PASSWORD = "bench"
_PASSWORD_SALT = b"stompro-bench-data"  # a fixed salt: the same seed writes the same hash

UNIT = 15  # minutes: the grid visits lie on
HOURS = ((9 * 60, 18 * 60), (12 * 60, 21 * 60))  # a shift's local start and end, in minutes
UNITS = (HOURS[0][1] - HOURS[0][0]) // UNIT  # grid places in a shift (both shifts are as long)
MAX_VISITS_PER_SHIFT = 30  # on average: beyond this the visits do not fit the doctors' time
BASE_SHARE = 0.3  # patients registered in the year before the period (the network's existing ones)
PLAN_SHARE = 0.25  # patients with a treatment plan
PAST_CANCELLED = 0.12
AHEAD_CANCELLED = 0.06
NO_SHOW_OF_HELD = 0.06 / 0.88  # of the past visits that held their time (done or missed)
LATE_CANCELLATION = 1 / 3
CALL_CENTER_PEOPLE = 3

DOCTOR_SPECIALTIES = ("therapy", "hygiene", "endodontics", "surgery", "prosthetics", "therapy", "orthodontics",
                      "implantology", "periodontology", "hygiene")
CARE_CALL_SPECIALTIES = ("surgery", "implantology")
# Visit kinds by the doctor's specialty (weights), and a visit's length in grid places.
KINDS = {
    "hygiene": (("hygiene", 80), ("examination", 10), ("consultation", 10)),
    "diagnostics": (("examination", 70), ("consultation", 30)),
    None: (("treatment", 70), ("consultation", 15), ("examination", 15)),
}
KIND_UNITS = {"treatment": (2, 3, 4, 6), "hygiene": (3, 4), "consultation": (2,), "examination": (1, 2)}
KIND_LINES = {"treatment": (1, 2, 3), "hygiene": (1, 2), "consultation": (1, 1, 2), "examination": (1, 2)}
SOURCES = (("walk_in", 12), ("referral", 25), ("website", 25), ("phone", 15), ("insurance", 6),
           ("advertising", 12), ("other", 5))
PLAN_STATUSES = (("draft", 10), ("presented", 20), ("accepted", 15), ("in_progress", 20), ("completed", 25),
                 ("declined", 10))
CHOSEN_TIERS = (("premium", 2), ("optimal", 6), ("economy", 2))
TIERS = ("premium", "optimal", "economy")
PAYMENT_METHODS = (("card", 55), ("cash", 25), ("online", 20))
SURFACES = ("O", "MO", "OD", "MOD", "B", "V")
SELF_PAID, SELF_PARTLY = 0.93, 0.97  # the rest are owed
ADVANCE_REFUNDED = 0.005  # of self-paid invoices: the patient also paid an advance, later partly refunded
PAST_CONFIRMATION_CALLS = 0.05  # of the past visits: the confirmation call kept in the task book
TASK_QUEUES = {"regular_calls": "call_center", "care_calls": "reception", "overdue_visits": "call_center",
               "scheduled_calls": "call_center"}
REPAIRS = "Плановый ремонт"
REFUND_NOTE = "Возврат части аванса: пациент перенёс лечение"
CONFIRMED_NOTE = "Визит подтверждён."

ZERO = Decimal("0.00")


def generate(session, branches, doctors, patients, visits, seed=1, months=24, progress=None, force=False, now=None):
    """Write the network and return {table name: rows written}; the caller
    commits. ``progress(step, rows, total)`` is called after every chunk
    (steps: network, patients, plans, visits). Refuses (DomainError) a
    database that holds patients unless ``force``, and one without the
    reference data. ``now`` (a UTC moment) pins "today" for tests."""
    if branches < 1 or doctors < branches:
        raise DomainError("Give at least one branch and at least one doctor per branch.")
    if patients < 0 or visits < 0 or months < 1:
        raise DomainError("Patients and visits cannot be negative, and the period is at least a month.")
    if visits and not patients:
        raise DomainError("Visits need patients.")
    existing = session.execute(select(func.count()).select_from(Patient)).scalar_one()
    if existing and not force:
        raise DomainError(
            f"The database already holds {existing} patients: bench data goes into an empty database "
            "(--force adds it next to them)."
        )
    now = (now or utcnow()).astimezone(timezone.utc)
    today = now.astimezone(MOSCOW).date()
    if isinstance(session, scoped_session):  # the session itself, for the writer's thread
        session = session()
    gen = Generator(session, random.Random(seed), now, today, months, progress)
    try:
        gen.network(branches, doctors)
        gen.patients(patients)
        gen.plans(round(patients * PLAN_SHARE))
        gen.visits(visits)
        gen.writer.wait()
    finally:
        gen.writer.close()
    return dict(gen.counts)


# --- writing in chunks ---------------------------------------------------------


class Batch:
    """The rows of one table waiting for their chunk to be written: tuples
    in ``columns`` order, the id (drawn when the chunk is written) left out.
    A column given in ``refs`` holds the position of a row of another batch
    of the same chunk (or of this one), replaced by that row's id on the way
    out."""

    def __init__(self, table, columns, refs=None):
        self.table = table
        self.columns = tuple(columns)
        self.has_id = "id" in table.c
        self.keys = (("id",) if self.has_id else ()) + self.columns
        self.refs = []
        for name, target in (refs or {}).items():
            self.refer(name, target)
        self.rows = []
        self.ids = []

    def refer(self, name, target):
        self.refs.append((self.columns.index(name), target))

    def add(self, *values):
        self.rows.append(values)
        return len(self.rows) - 1

    def __len__(self):
        return len(self.rows)

    def dicts(self):
        ids, keys, refs = self.ids, self.keys, self.refs
        out = []
        for n, row in enumerate(self.rows):
            if refs:
                row = list(row)
                for position, target in refs:
                    if row[position] is not None:
                        row[position] = target.ids[row[position]]
            out.append(dict(zip(keys, (ids[n], *row) if self.has_id else row)))
        return out


def write(session, batches, counts):
    """Draw the ids of every batch, then write them in the order given
    (parents first). Each table's ids are drawn once per chunk and written
    before the next draw, as ``bulk.reserve_ids`` needs on SQLite."""
    for batch in batches:
        batch.ids = reserve_ids(session, batch.table, len(batch)) if batch.has_id else []
    connection = session.connection()
    for batch in batches:
        if batch.rows:
            write_rows(connection, batch.table, batch.dicts())
            counts[batch.table.name] = counts.get(batch.table.name, 0) + len(batch.rows)
        batch.rows = []


class Writer:
    """Writes the chunks: on PostgreSQL in a thread of its own, so that the
    next chunk is built while the server takes in this one (the server's
    work — constraints, indexes — is most of the time); at most one chunk is
    in flight, and ``then`` runs in the caller's thread once it is written.
    Elsewhere (SQLite) at once."""

    def __init__(self, session, counts):
        self.session, self.counts = session, counts
        threaded = session.get_bind().dialect.name == "postgresql"
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-data") if threaded else None
        self.pending = None

    def __call__(self, batches, then=None):
        self.wait()
        if self.pool is None:
            write(self.session, batches, self.counts)
            if then is not None:
                then()
        else:
            # in a copy of the caller's context: Flask-SQLAlchemy finds the engine through the app context
            context = contextvars.copy_context()
            self.pending = (self.pool.submit(context.run, write, self.session, batches, self.counts), then)

    def wait(self):
        """Until the chunk in flight is written (its error raised here)."""
        if self.pending is not None:
            future, then = self.pending
            self.pending = None
            future.result()
            if then is not None:
                then()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def weighted(pairs):
    """(values, cumulative weights) for ``pick``."""
    values, cumulative, total = [], [], 0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cumulative.append(total)
    return values, cumulative


def pick(rng, table):
    values, cumulative = table
    return values[bisect_right(cumulative, rng.random() * cumulative[-1])]


def minutes(count):
    return timedelta(minutes=count)


def midnight(day):
    """The UTC moment a local day begins."""
    return datetime.combine(day, time(0), MOSCOW).astimezone(timezone.utc)


def months_before(day, months):
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue


def feminine(surname):
    """Иванов → Иванова, Троицкий → Троицкая; Черных stays."""
    if surname.endswith(("ий", "ой")):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщыэюя"
_LATIN = "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch y e yu ya".split()
_TRANSLIT = str.maketrans({**dict(zip(_CYRILLIC, _LATIN)), "ъ": "", "ь": ""})


# --- the generator -------------------------------------------------------------


class Generator:
    def __init__(self, session, rng, now, today, months, progress):
        self.session, self.rng, self.now, self.today = session, rng, now, today
        self.first = months_before(today, months)  # the first day of the period
        self.last = today + timedelta(days=FUTURE_DAYS)
        self.progress = progress or (lambda step, rows, total: None)
        self.counts = {}
        self.writer = Writer(session, self.counts)
        demo_dir = PROJECT_ROOT / "seeds" / "demo"
        self.names = read_yaml("names.yaml", demo_dir)
        self.texts = read_yaml("texts.yaml", demo_dir)
        self.load_reference()

    # reference data ---------------------------------------------------------

    def load_reference(self):
        session = self.session
        self.specialties = dict(session.execute(select(Specialty.code, Specialty.id).order_by(Specialty.sort_order,
                                                                                            Specialty.id)).all())
        has_price_list = session.execute(select(func.count()).select_from(PriceListItem)).scalar_one()
        if not self.specialties or not has_price_list:
            raise DomainError("Load the reference data first (flask --app app seed reference): "
                              "specialties, services and a price list.")
        price_list = current_price_list(session, self.today)
        self.price_list_id = price_list.id
        prices = dict(session.execute(select(PriceListItem.service_id, PriceListItem.price)
                                      .where(PriceListItem.price_list_id == price_list.id)).all())
        codes = {specialty_id: code for code, specialty_id in self.specialties.items()}
        services = []
        for row in session.execute(
            select(Service.id, Service.specialty_id, Service.stage_kind, Service.tier, Service.scope,
                   Service.duration_min, Service.target_condition_id)
            .where(Service.active.is_(True)).order_by(Service.id)
        ):
            if row.id in prices:
                services.append((row.id, Decimal(prices[row.id]).quantize(Decimal("0.01")), row.scope,
                                 row.duration_min, row.target_condition_id, row.specialty_id, row.stage_kind,
                                 row.tier, codes.get(row.specialty_id)))
        if not services:
            raise DomainError("The price list prices no active service: load the reference data first.")
        self.services = services
        treatment = [s for s in services if s[6] == "treatment"] or services
        self.visit_pools = {}
        for specialty_id in set(codes):
            mine = [s for s in services if s[5] == specialty_id]
            self.visit_pools["treatment", specialty_id] = [s for s in mine if s[6] == "treatment"] or treatment
            self.visit_pools["consultation", specialty_id] = (
                [s for s in mine if s[6] == "consultation"]
                or [s for s in services if s[6] == "consultation"] or services)
            self.visit_pools["examination", specialty_id] = (
                [s for s in mine if s[6] == "examination"]
                or [s for s in services if s[6] == "examination"] or services)
            self.visit_pools["hygiene", specialty_id] = [s for s in services if s[8] == "hygiene"] or treatment
        # a plan stage is one specialty's work in one variant's technology
        self.plan_pools = {}
        for tier in TIERS:
            by_specialty = {}
            for s in treatment:
                if s[7] in (tier, None):
                    by_specialty.setdefault(s[5], []).append(s)
            self.plan_pools[tier] = [pool for _, pool in sorted(by_specialty.items())] or [treatment]
        self.examination_services = [s for s in services if s[6] == "examination"]
        self.programs = session.execute(select(InsuranceProgram.id, InsuranceProgram.company_id)
                                        .where(InsuranceProgram.active.is_(True))
                                        .order_by(InsuranceProgram.id)).all()
        self.covered = {}
        for program_id, service_id in session.execute(select(insurance_program_service.c.program_id,
                                                             insurance_program_service.c.service_id)):
            self.covered.setdefault(program_id, set()).add(service_id)
        self.covered_pools = {}
        self.rules = {code: (rule_id, priority) for code, rule_id, priority in
                      session.execute(select(TaskRule.code, TaskRule.id, TaskRule.priority))}

    # branches, chairs, staff, closures ----------------------------------------

    def network(self, branch_count, doctor_count):
        rng, session = self.rng, self.session
        taken = set(session.execute(select(Clinic.name)).scalars())
        logins = set(session.execute(select(Staff.login).where(Staff.login.like("bench%"))).scalars())
        numbers, number = [], 1
        while len(numbers) < branch_count:
            if BRANCH_NAME.format(number) not in taken and not any(
                    login.startswith(f"bench{number}.") for login in logins):
                numbers.append(number)
            number += 1
        founded = midnight(self.first - timedelta(days=400))
        password_hash = PasswordHasher().hash(BENCH_PASSWORD, salt=_PASSWORD_SALT)
        stamp = (founded, founded)

        clinics = Batch(Clinic.__table__, ("name", "address", "phone", "time_zone", "currency", "opens_at",
                                           "closes_at", "working_days", "active", "created_at", "updated_at"))
        rooms = Batch(Room.__table__, ("clinic_id", "name", "kind", "active", "created_at", "updated_at"),
                      refs={"clinic_id": clinics})
        staff = Batch(Staff.__table__, ("login", "password_hash", "last_name", "first_name", "middle_name",
                                        "specialty_id", "color", "language", "active", "created_at", "updated_at"))
        roles = Batch(StaffRole.__table__, ("staff_id", "role", "created_at", "updated_at"), refs={"staff_id": staff})
        links = Batch(staff_clinic, ("staff_id", "clinic_id"), refs={"staff_id": staff, "clinic_id": clinics})
        closures = Batch(Closure.__table__, ("clinic_id", "first_day", "last_day", "reason", "created_at",
                                             "updated_at"), refs={"clinic_id": clinics})

        streets = [street for group in self.texts["streets"].values() for street in group]

        def person(login, role, clinic=None, specialty=None):
            sex = rng.random() < 0.5
            surname = rng.choice(self.names["surnames"])
            index = staff.add(
                login, password_hash, feminine(surname) if sex else surname,
                rng.choice(self.names["female_first_names" if sex else "male_first_names"]),
                rng.choice(self.names["patronymics"])["female" if sex else "male"],
                specialty, "#3366cc", "ru", True, *stamp)
            roles.add(index, role, *stamp)
            if clinic is not None:
                links.add(index, clinic)
            return index

        specialty_cycle = [self.specialties[code] for code in DOCTOR_SPECIALTIES if code in self.specialties] or \
            list(self.specialties.values())
        codes = {specialty_id: code for code, specialty_id in self.specialties.items()}
        self.branches = []
        for b, number in enumerate(numbers):
            address = f"г. Москва, {rng.choice(streets)}, д. {rng.randint(1, 120)}"
            clinic = clinics.add(BRANCH_NAME.format(number), address, f"+7495{rng.randint(1000000, 9999999)}", ZONE,
                                 "RUB", time(9), time(21), "123456", True, *stamp)
            mine = [j for j in range(doctor_count) if j % branch_count == b]
            chairs = [rooms.add(clinic, f"Кресло {n}", "chair", True, *stamp) for n in range(1, len(mine) + 1)]
            rooms.add(clinic, "Рентген-кабинет", "xray", True, *stamp)
            branch = {
                "number": number, "clinic": clinic, "chairs": chairs, "doctors": [],
                "admins": [person(f"bench{number}.admin{n}", "administrator", clinic) for n in (1, 2)],
                "cashier": person(f"bench{number}.cashier", "cashier", clinic),
                "coordinator": person(f"bench{number}.coordinator", "coordinator", clinic),
            }
            for k, j in enumerate(mine):
                specialty = specialty_cycle[j % len(specialty_cycle)]
                code = codes[specialty]
                branch["doctors"].append({
                    "staff": person(f"bench{number}.doctor{k + 1}", "doctor", clinic, specialty),
                    "specialty": specialty,
                    "kinds": weighted(KINDS.get(code, KINDS[None])),
                    "care_calls": code in CARE_CALL_SPECIALTIES,
                    "chair": chairs[k],
                    "evening": k % 2,  # alternates weekly between the morning and the evening shift
                    "factor": rng.uniform(0.9, 1.1),
                })
            self.branches.append(branch)
        first_number = numbers[0]
        self.call_center = [person(f"bench{first_number}.callcenter{n}", "call_center")
                            for n in range(1, CALL_CENTER_PEOPLE + 1)]
        self.owner = person(f"bench{first_number}.owner", "owner")

        # the New Year holidays, and two days of repairs in the past
        self.closed = []
        period_days = (self.today - self.first).days
        for branch in self.branches:
            closed = set()
            for year in range(self.first.year, self.last.year + 1):
                first, last = date(year, 1, 1), date(year, 1, 8)
                if last >= self.first and first <= self.last:
                    closures.add(branch["clinic"], first, last, self.texts["closure_reason"], *stamp)
                    closed.update(first + timedelta(days=n) for n in range(8))
            if period_days > 30:
                first = self.first + timedelta(days=rng.randint(7, period_days - 7))
                closures.add(branch["clinic"], first, first + timedelta(days=1), REPAIRS, *stamp)
                closed.update((first, first + timedelta(days=1)))
            self.closed.append(closed)

        self.writer((clinics, rooms, staff, roles, links, closures))
        self.writer.wait()
        for branch in self.branches:
            branch["clinic"] = clinics.ids[branch["clinic"]]
            branch["chairs"] = [rooms.ids[chair] for chair in branch["chairs"]]
            for key in ("cashier", "coordinator"):
                branch[key] = staff.ids[branch[key]]
            branch["admins"] = [staff.ids[admin] for admin in branch["admins"]]
            for doctor in branch["doctors"]:
                doctor["staff"] = staff.ids[doctor["staff"]]
                doctor["chair"] = rooms.ids[doctor["chair"]]
        self.call_center = [staff.ids[person] for person in self.call_center]
        self.owner = staff.ids[self.owner]
        for branch in self.branches:
            branch["bookers"] = branch["admins"] + self.call_center
        self.progress("network", branch_count, branch_count)

    # patients -------------------------------------------------------------------

    def patients(self, count):
        """Patients in the order they registered: BASE_SHARE of them in the
        year before the period, the rest over the period up to today. The
        i-th patient's home branch is branch i mod branches, so a branch's
        patients are found without a list."""
        rng, names, branch_count = self.rng, self.names, len(self.branches)
        first, today = self.first.toordinal(), self.today.toordinal()
        base = math.ceil(count * BASE_SHARE)
        self.registered = (sorted(first - rng.randint(1, 365) for _ in range(base))
                           + sorted(rng.randint(first, today) for _ in range(count - base)))
        self.patient_ids = []
        self.insured = {}  # patient index: (insurance company id, program id)
        sources = weighted(SOURCES)
        surnames, patronymics = names["surnames"], names["patronymics"]
        male, female = names["male_first_names"], names["female_first_names"]
        domains = self.texts["email_domains"]
        streets = [street for group in self.texts["streets"].values() for street in group]
        phone_step, phone_offset = 7919, rng.randrange(10_000_000)
        clinic_ids = [branch["clinic"] for branch in self.branches]
        for start in range(0, count, CHUNK):
            people = Batch(Patient.__table__, (
                "last_name", "first_name", "middle_name", "birth_date", "sex", "phone", "email", "address", "source",
                "sms_consent", "email_consent", "home_clinic_id", "status", "created_at", "updated_at", "version"))
            policies = Batch(InsurancePolicy.__table__, (
                "patient_id", "company_id", "program_id", "number", "valid_from", "valid_to", "created_at",
                "updated_at"), refs={"patient_id": people})
            for i in range(start, min(start + CHUNK, count)):
                day = date.fromordinal(self.registered[i])
                created = min(midnight(day) + minutes(rng.randint(450, 539)), self.now)
                woman = rng.random() < 0.55
                surname = rng.choice(surnames)
                first_name = rng.choice(female if woman else male)
                last_name = feminine(surname) if woman else surname
                age = rng.randint(3, 17) if rng.random() < 0.12 else rng.randint(18, 85)
                birth = day - timedelta(days=age * 365 + rng.randint(0, 364))
                email = None
                if rng.random() < 0.4:
                    email = (f"{first_name.lower().translate(_TRANSLIT)}.{last_name.lower().translate(_TRANSLIT)}"
                             f"{i % 97}@{rng.choice(domains)}")
                address = None
                if rng.random() < 0.5:
                    address = f"г. Москва, {rng.choice(streets)}, д. {rng.randint(1, 150)}, кв. {rng.randint(1, 300)}"
                source = pick(rng, sources)
                status = "inactive" if rng.random() < 0.03 else "active"
                index = people.add(
                    last_name, first_name, rng.choice(patronymics)["female" if woman else "male"], birth,
                    "F" if woman else "M", f"+7900{(i * phone_step + phone_offset) % 10_000_000:07d}", email,
                    address, source, rng.random() < 0.9, email is not None and rng.random() < 0.5,
                    clinic_ids[i % branch_count], status, created, created, 1)
                if source == "insurance" and self.programs:
                    program_id, company_id = rng.choice(self.programs)
                    self.insured[i] = (company_id, program_id)
                    policies.add(index, company_id, program_id, f"BENCH-{self.branches[0]['number']}-{i + 1:07d}",
                                 day, None, created, created)
            self.writer((people, policies), then=lambda people=people: (
                self.patient_ids.extend(people.ids), self.progress("patients", len(people.ids), count)))
        self.writer.wait()  # the plans and visits point at the patients

    def patient_day(self, index):
        return date.fromordinal(self.registered[index])

    # treatment plans ---------------------------------------------------------------

    def plans(self, count):
        rng, now = self.rng, self.now
        if not count:
            return
        chosen_patients = sorted(rng.sample(range(len(self.patient_ids)), count))
        statuses, tiers = weighted(PLAN_STATUSES), weighted(CHOSEN_TIERS)
        titles, reasons = self.texts["plan_titles"], self.texts["decline_reasons"]
        task_texts = self.texts["tasks"]["scheduled_calls"]
        discuss_rule = self.rules.get("plan_continuation")
        branch_count = len(self.branches)
        for start in range(0, count, PLAN_CHUNK):
            plans = Batch(TreatmentPlan.__table__, (
                "patient_id", "clinic_id", "author_id", "coordinator_id", "title", "payer_kind", "price_list_id",
                "status", "decline_reason", "presented_at", "accepted_at", "completed_at", "created_at",
                "updated_at", "version"))
            variants = Batch(PlanVariant.__table__, ("plan_id", "tier", "chosen", "created_at", "updated_at"),
                             refs={"plan_id": plans})
            stages = Batch(PlanStage.__table__, (
                "variant_id", "position", "kind", "specialty_id", "depends_on_id", "parallel", "min_gap_days",
                "duration_min", "planned_date", "created_at", "updated_at"), refs={"variant_id": variants})
            stages.refer("depends_on_id", stages)
            items = Batch(PlanItem.__table__, (
                "stage_id", "tooth", "surfaces", "service_id", "quantity", "price", "target_condition_id",
                "mandatory", "self_paid", "removed", "performed_at", "performed_by_id", "created_at", "updated_at",
                "version"), refs={"stage_id": stages})
            tasks = self.task_batch(plan_refs=plans)
            for i in chosen_patients[start:start + PLAN_CHUNK]:
                branch = self.branches[i % branch_count]
                author = rng.choice(branch["doctors"])["staff"]
                registered = midnight(self.patient_day(i)) + minutes(600)
                created = min(registered + minutes(rng.randint(0, 90 * 1440)), now)
                age_days = (now - created).days
                status = pick(rng, statuses)
                if status == "completed" and age_days < 60:
                    status = "in_progress"
                if status in ("accepted", "in_progress") and age_days < 3:
                    status = "presented"
                presented = accepted = completed = None
                if status != "draft":
                    presented = min(created + minutes(rng.randint(10, 3 * 1440)), now)
                if status in ("accepted", "in_progress", "completed"):
                    accepted = min(presented + minutes(rng.randint(60, 30 * 1440)), now)
                if status == "completed":
                    completed = min(accepted + minutes(rng.randint(14 * 1440, 180 * 1440)), now)
                changed = completed or accepted or presented or created
                plan = plans.add(self.patient_ids[i], branch["clinic"], author, branch["coordinator"],
                                 rng.choice(titles), "self", self.price_list_id, status,
                                 rng.choice(reasons) if status == "declined" else None,
                                 presented, accepted, completed, created, changed, 1)
                chosen_tier = pick(rng, tiers) if accepted else None
                for tier in TIERS:
                    chosen = tier == chosen_tier
                    variant = variants.add(plan, tier, chosen, created, changed)
                    previous, planned = None, accepted.date() if chosen and accepted else None
                    for position in range(rng.randint(2, 4)):
                        if position == 0 and self.examination_services and rng.random() < 0.3:
                            picked = [rng.choice(self.examination_services)]
                        else:
                            pool = rng.choice(self.plan_pools[tier])
                            picked = rng.sample(pool, min(rng.randint(1, 3), len(pool)))
                        lead = picked[0]
                        stage = stages.add(
                            variant, position, lead[6], lead[5], previous, False, rng.choice((0, 0, 7, 14)),
                            max(15, min(240, sum(s[3] for s in picked))),
                            planned + timedelta(days=14 * position) if planned else None, created, created)
                        previous = stage
                        done = chosen and (status == "completed" or (status == "in_progress" and position == 0))
                        for service in picked:
                            performed = None
                            if done:
                                performed = min(accepted + minutes(rng.randint(1440, 30 * 1440) * (position + 1)),
                                                completed or now)
                            items.add(stage, self.tooth(service), self.surfaces(service), service[0], 1, service[1],
                                      service[4], rng.random() < 0.3, False, False, performed,
                                      author if performed else None, created, performed or created, 1)
                if status == "presented":
                    due = presented + timedelta(days=3)
                    self.task(tasks, "scheduled_calls", discuss_rule, task_texts["plan_title"], self.patient_ids[i],
                              None, branch["clinic"], branch["coordinator"], due, presented,
                              outcomes=(("booked", task_texts["outcomes"]["booked"]),
                                        ("refused", task_texts["outcomes"]["refused"])), plan=plan)
                elif status in ("accepted", "in_progress"):
                    due = accepted + timedelta(days=14)
                    self.task(tasks, "scheduled_calls", discuss_rule, task_texts["continue_title"],
                              self.patient_ids[i], None, branch["clinic"], branch["coordinator"], due, accepted,
                              outcomes=(("booked", task_texts["outcomes"]["booked"]),), plan=plan)
            self.writer((plans, variants, stages, items, tasks),
                        then=lambda written=len(plans): self.progress("plans", written, count))

    def tooth(self, service):
        return self.rng.choice(PERMANENT_TEETH) if service[2] in ("tooth", "surface") else None

    def surfaces(self, service):
        return self.rng.choice(SURFACES) if service[2] == "surface" else ""

    # tasks ------------------------------------------------------------------------

    def task_batch(self, plan_refs=None, visit_refs=None):
        refs = {}
        if plan_refs is not None:
            refs["plan_id"] = plan_refs
        if visit_refs is not None:
            refs["appointment_id"] = visit_refs
        return Batch(Task.__table__, (
            "tab", "priority", "title", "patient_id", "appointment_id", "plan_id", "rule_id", "clinic_id",
            "assignee_id", "queue", "due_at", "status", "call_result", "outcome_note", "done_by_id", "done_at",
            "attempts", "created_at", "updated_at"), refs)

    def task(self, tasks, tab, rule, title, patient_id, visit, clinic_id, assignee, due, created, outcomes=(),
             plan=None, done_share=0.9):
        """A task due at ``due``: done (by its assignee, around its due time)
        when that has passed, mostly; else open."""
        rng, now = self.rng, self.now
        created = min(created, now)
        status, result, outcome, done_at, attempts = "open", None, None, None, 0
        if due < now and rng.random() < done_share:
            status, attempts = "done", 1
            done_at = min(max(due + minutes(rng.randint(-120, 240)), created + minutes(5)), now)
            if outcomes:
                result, outcome = rng.choice(outcomes)
        rule_id, priority = rule or (None, 3)
        return tasks.add(tab, priority, title, patient_id, visit, plan, rule_id, clinic_id, assignee,
                         TASK_QUEUES[tab], due, status, result, outcome, assignee if done_at else None, done_at,
                         attempts, created, done_at or created)

    # shifts, visits, money -------------------------------------------------------------

    def shift_plan(self):
        """(day, branch, doctor) of every shift, in the order they are written."""
        plan = []
        day = self.first
        while day <= self.last:
            if day.isoweekday() <= 6:
                for b, branch in enumerate(self.branches):
                    if day not in self.closed[b]:
                        plan.extend((day, b, doctor) for doctor in branch["doctors"])
            day += timedelta(days=1)
        return plan

    def quotas(self, plan, visits):
        """How many visits each shift gets: ``visits`` spread in proportion
        to a weight (the network grows over the period, Saturdays are
        quieter, the further ahead the fewer booked), rounded so that they
        add up exactly."""
        rng, today = self.rng, self.today
        span = max((today - self.first).days, 1)
        weights = []
        for day, _, doctor in plan:
            if day <= today:
                weight = 0.75 + 0.25 * (day - self.first).days / span
            else:
                weight = max(0.05, 1 - (day - today).days / (FUTURE_DAYS + 1))
            if day.isoweekday() == 6:
                weight *= 0.8
            weights.append(weight * doctor["factor"] * rng.uniform(0.9, 1.1))
        total = sum(weights) or 1
        exact = [visits * weight / total for weight in weights]
        quotas = [int(share) for share in exact]
        rest = visits - sum(quotas)
        for n in sorted(range(len(exact)), key=lambda n: quotas[n] - exact[n])[:rest]:
            quotas[n] += 1
        return quotas

    def visits(self, count):
        plan = self.shift_plan()
        if count and (not plan or count > MAX_VISITS_PER_SHIFT * len(plan)):
            raise DomainError(
                f"{count} visits do not fit in the doctors' {len(plan)} shifts: at most "
                f"{MAX_VISITS_PER_SHIFT * len(plan)}; add doctors or months."
            )
        quotas = self.quotas(plan, count)
        branch_count = len(self.branches)
        self.methods = weighted(PAYMENT_METHODS)
        self.invoice_numbers, self.receipt_numbers = {}, {}
        batches = self.visit_batches()
        n = 0
        while n < len(plan):
            day, b = plan[n][0], plan[n][1]
            shifts = []
            while n < len(plan) and plan[n][0] == day and plan[n][1] == b:
                shifts.append((plan[n][2], quotas[n]))
                n += 1
            branch = self.branches[b]
            day_starts = midnight(day)
            patients = self.day_patients(day, b, branch_count, sum(quota for _, quota in shifts))
            week = day.isocalendar()[1]
            for doctor, quota in shifts:
                self.shift(batches, branch, doctor, day, day_starts, week, quota, patients)
            if len(batches["visits"]) >= CHUNK or n == len(plan):
                self.writer(batches["order"], then=lambda written=len(batches["visits"]): (
                    count and self.progress("visits", written, count)))
                batches = self.visit_batches()

    def visit_batches(self):
        shifts = Batch(Shift.__table__, ("staff_id", "clinic_id", "room_id", "work_date", "starts_at", "ends_at",
                                         "created_at", "updated_at"))
        clock = Batch(TimeClock.__table__, ("staff_id", "clinic_id", "clock_in", "clock_out", "note", "created_at",
                                            "updated_at"))
        visits = Batch(Appointment.__table__, (
            "clinic_id", "room_id", "doctor_id", "patient_id", "starts_at", "ends_at", "kind", "status", "arrived_at",
            "started_at", "finished_at", "booked_by_id", "overdue_at", "cancel_reason", "cancelled_at", "created_at",
            "updated_at", "version"))
        invoices = Batch(Invoice.__table__, (
            "number", "patient_id", "clinic_id", "payer_kind", "insurance_company_id", "issued_at", "status",
            "appointment_id", "created_at", "updated_at"), refs={"appointment_id": visits})
        lines = Batch(InvoiceLine.__table__, ("invoice_id", "service_id", "tooth", "quantity", "price", "discount",
                                              "created_at", "updated_at"), refs={"invoice_id": invoices})
        payments = Batch(Payment.__table__, (
            "patient_id", "invoice_id", "clinic_id", "method", "amount", "paid_at", "received_by_id",
            "receipt_number", "note", "created_at", "updated_at"), refs={"invoice_id": invoices})
        tasks = self.task_batch(visit_refs=visits)
        return {"shifts": shifts, "clock": clock, "visits": visits, "invoices": invoices, "lines": lines,
                "payments": payments, "tasks": tasks,
                "order": (shifts, clock, visits, invoices, lines, payments, tasks)}

    def day_patients(self, day, b, branch_count, needed):
        """``needed`` different patients of branch ``b`` for ``day`` (one
        visit a day each): those registered that day first, then ones
        registered before, drawn at random."""
        ordinal = day.toordinal()
        before = bisect_left(self.registered, ordinal)
        upto = bisect_right(self.registered, ordinal)
        chosen = list(range(before + (b - before) % branch_count, upto, branch_count))[:needed]
        earlier = (before - b + branch_count - 1) // branch_count if before > b else 0
        missing = needed - len(chosen)
        if missing > earlier:
            raise DomainError(
                f"Too few patients for the visits: branch {b + 1} needs {needed} different patients on "
                f"{day:%d.%m.%Y} and has {earlier + len(chosen)}; add patients or months."
            )
        chosen.extend(j * branch_count + b for j in self.rng.sample(range(earlier), missing))
        self.rng.shuffle(chosen)
        return chosen

    def shift(self, batches, branch, doctor, day, day_starts, week, quota, patients):
        """The doctor's shift of ``day``, its time clock and its ``quota``
        visits, each with one of ``patients``."""
        rng, now = self.rng, self.now
        clinic, chair, staff = branch["clinic"], doctor["chair"], doctor["staff"]
        first_minute, last_minute = HOURS[(doctor["evening"] + week) % 2]
        starts_at, ends_at = day_starts + minutes(first_minute), day_starts + minutes(last_minute)
        planned = min(starts_at - timedelta(days=28), now)
        batches["shifts"].add(staff, clinic, chair, day, starts_at, ends_at, planned, planned)
        if starts_at <= now and rng.random() >= 0.03:
            late = rng.random() < 0.08
            clock_in = starts_at + (minutes(rng.randint(5, 25)) if late else -minutes(rng.randint(0, 15)))
            clock_in = min(clock_in, now)
            clock_out = ends_at + minutes(rng.randint(-5, 40))
            clock_out = clock_out if clock_out <= now else None
            note = self.texts["late_note"] if late else None
            batches["clock"].add(staff, clinic, clock_in, clock_out, note, clock_in, clock_out or clock_in)
        if not quota:
            return
        ahead = starts_at >= now
        cancel_share = AHEAD_CANCELLED if ahead else PAST_CANCELLED
        cancelled = sum(1 for _ in range(quota) if rng.random() < cancel_share)
        held = quota - cancelled
        if held > UNITS:
            cancelled += held - UNITS
            held = UNITS
        kinds = [pick(rng, doctor["kinds"]) for _ in range(held)]
        units = [rng.choice(KIND_UNITS[kind]) for kind in kinds]
        total = sum(units)
        if total > UNITS:  # a busy day: shorter visits
            units = [max(1, unit * UNITS // total) for unit in units]
            total = sum(units)
            while total > UNITS:
                longest = units.index(max(units))
                units[longest] -= 1
                total -= 1
        free = UNITS - total
        offset = 0
        for i, place in enumerate(sorted(rng.sample(range(held + free), held))):
            start = day_starts + minutes(first_minute + (place - i + offset) * UNIT)
            offset += units[i]
            end = start + minutes(units[i] * UNIT)
            self.visit(batches, branch, doctor, patients.pop(), kinds[i], day, start, end)
        for _ in range(cancelled):
            length = rng.choice((1, 2, 2, 4))
            start = day_starts + minutes(first_minute + rng.randint(0, UNITS - length) * UNIT)
            self.cancelled_visit(batches, branch, doctor, patients.pop(), pick(rng, doctor["kinds"]), start,
                                 start + minutes(length * UNIT))

    def booked_at(self, start):
        rng = self.rng
        return min(start - minutes(rng.randint(60, 21 * 1440)), self.now - minutes(rng.randint(0, 3 * 1440)))

    def visit(self, batches, branch, doctor, patient, kind, day, start, end):
        """A visit that holds its time: done or missed when it has ended, in
        the chair when it runs now, booked or confirmed ahead; the calls
        about it, and its invoice when done."""
        rng, now, rules, task_texts = self.rng, self.now, self.rules, self.texts["tasks"]
        visits, tasks = batches["visits"], batches["tasks"]
        clinic = branch["clinic"]
        patient_id = self.patient_ids[patient]
        booked = self.booked_at(start)
        arrived = started = finished = overdue = None
        if end <= now:
            status = "no_show" if rng.random() < NO_SHOW_OF_HELD else "done"
            if status == "done":
                arrived = start - minutes(rng.randint(2, 15))
                started = start + minutes(rng.randint(0, 5))
                finished = min(max(end + minutes(rng.randint(-5, 10)), started + minutes(5)), now)
                changed = finished
            else:
                overdue = start + minutes(15)
                changed = overdue
        elif start < now:
            status = "in_chair"
            arrived, started = start - minutes(rng.randint(2, 15)), min(start + minutes(rng.randint(0, 5)), now)
            changed = started
        else:
            status = "confirmed" if rng.random() < (0.7 if start - now < timedelta(days=2) else 0.3) else "booked"
            changed = booked
        visit = visits.add(clinic, doctor["chair"], doctor["staff"], patient_id, start, end, kind, status, arrived,
                           started, finished, rng.choice(branch["bookers"]), overdue, None, None, booked, changed, 1)
        texts = task_texts["regular_calls"]
        if (status in ("booked", "confirmed") and start - now < timedelta(days=2)) or (
                status not in ("booked", "confirmed") and rng.random() < PAST_CONFIRMATION_CALLS):
            due = min(midnight(day - timedelta(days=1)) + minutes(600), start)
            self.task(tasks, "regular_calls", rules.get("confirm_tomorrow"), texts["title"], patient_id, visit,
                      clinic, rng.choice(self.call_center), due, min(booked, due),
                      outcomes=(("reached", texts["outcomes"]["reached"]),), done_share=1.0)
        if status == "no_show":
            texts = task_texts["overdue_visits"]
            self.task(tasks, "overdue_visits", rules.get("overdue_visit"), texts["title"], patient_id, visit, clinic,
                      rng.choice(self.call_center), start + minutes(60), overdue,
                      outcomes=(("booked", texts["outcomes"]["booked"]), ("refused", texts["outcomes"]["refused"])),
                      done_share=0.85)
        if status == "done":
            if kind == "treatment" and doctor["care_calls"]:
                texts = task_texts["care_calls"]
                due = midnight(day + timedelta(days=1)) + minutes(12 * 60)
                self.task(tasks, "care_calls", rules.get("care_call_after_surgery"), texts["title"], patient_id,
                          visit, clinic, rng.choice(branch["admins"]), due, finished,
                          outcomes=(("reached", texts["outcomes"]["reached"]),))
            self.invoice(batches, branch, doctor, patient, patient_id, visit, kind, day, finished)

    def cancelled_visit(self, batches, branch, doctor, patient, kind, start, end):
        """A cancelled visit: a third of them less than a day ahead."""
        rng, now = self.rng, self.now
        if rng.random() < LATE_CANCELLATION:
            cancelled = start - minutes(rng.randint(30, 23 * 60))
        else:
            cancelled = start - minutes(rng.randint(2 * 1440, 10 * 1440))
        if cancelled > now:
            cancelled = now - minutes(rng.randint(0, 2 * 1440))
        booked = cancelled - minutes(rng.randint(60, 14 * 1440))
        batches["visits"].add(branch["clinic"], doctor["chair"], doctor["staff"], self.patient_ids[patient], start,
                              end, kind, "cancelled", None, None, None, rng.choice(branch["bookers"]), None,
                              rng.choice(self.texts["cancel_reasons"]), cancelled, booked, cancelled, 1)

    def invoice(self, batches, branch, doctor, patient, patient_id, visit, kind, day, finished):
        """The visit's invoice, its lines and what was paid of it."""
        rng, now = self.rng, self.now
        invoices, lines, payments = batches["invoices"], batches["lines"], batches["payments"]
        clinic = branch["clinic"]
        pool = self.visit_pools[kind, doctor["specialty"]]
        insurer = self.insured.get(patient)
        if insurer is not None and rng.random() < 0.8:
            key = (kind, doctor["specialty"], insurer[1])
            if key not in self.covered_pools:
                covered = self.covered.get(insurer[1], set())
                self.covered_pools[key] = [s for s in pool if s[0] in covered]
            covered_pool = self.covered_pools[key]
            if covered_pool:
                pool = covered_pool
            else:
                insurer = None
        else:
            insurer = None
        picked = rng.sample(pool, min(rng.choice(KIND_LINES[kind]), len(pool)))
        issued = min(finished + minutes(rng.randint(2, 10)), now)
        year = day.year
        number = self.invoice_numbers[clinic, year] = self.invoice_numbers.get((clinic, year), 0) + 1
        total = sum(service[1] for service in picked)
        cashier = branch["cashier"]
        paid_at, amount, method = None, None, None
        if insurer is not None:
            status = "issued"
            if issued + timedelta(days=14) <= now:
                status, paid_at, amount, method = "paid", issued + timedelta(days=14), total, "insurance"
        else:
            chance = rng.random()
            paid_at = min(issued + minutes(rng.randint(1, 15)), now)
            method = pick(rng, self.methods)
            if chance < SELF_PAID:
                status, amount = "paid", total
            elif chance < SELF_PARTLY and total >= 200:
                status = "partly_paid"
                hundreds = (total * rng.randint(30, 70) / 10000).quantize(Decimal("1"))
                amount = (max(hundreds, 1) * 100).quantize(Decimal("0.01"))
                if amount >= total:
                    status, amount = "paid", total
            else:
                status, paid_at = "issued", None
        invoice = invoices.add(f"INV{clinic}-{year}-{number:06d}", patient_id, clinic,
                               "insurance" if insurer else "self", insurer[0] if insurer else None, issued, status,
                               visit, issued, paid_at or issued)
        for service in picked:
            lines.add(invoice, service[0], self.tooth(service), 1, service[1], ZERO, issued, issued)
        if paid_at is not None:
            payments.add(patient_id, invoice, clinic, method, amount, paid_at, cashier,
                         self.receipt(clinic, paid_at), None, paid_at, paid_at)
        if insurer is None and rng.random() < ADVANCE_REFUNDED:
            advance = Decimal(rng.randint(5, 30) * 1000)
            paid = min(issued + minutes(rng.randint(5, 30)), now)
            payments.add(patient_id, None, clinic, method, advance, paid, cashier, self.receipt(clinic, paid),
                         self.texts["deposit_note"], paid, paid)
            back = paid + timedelta(days=rng.randint(3, 30))
            if back <= now:
                refund = -(advance * rng.choice((Decimal("0.5"), Decimal("1")))).quantize(Decimal("0.01"))
                payments.add(patient_id, None, clinic, method, refund, back, cashier, self.receipt(clinic, back),
                             REFUND_NOTE, back, back)

    def receipt(self, clinic, moment):
        """R<branch id>-<year>-<n>, as the cash desk numbers receipts."""
        year = moment.astimezone(MOSCOW).year
        number = self.receipt_numbers[clinic, year] = self.receipt_numbers.get((clinic, year), 0) + 1
        return f"R{clinic}-{year}-{number:06d}"

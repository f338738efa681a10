"""The demo clinic network a new StomPRO shows on its first start.

``seed_demo(session)`` builds, through the ORM so that every validator runs,
two Moscow branches with their chairs and staff, 320 patients (insurance
policies, tags), dental charts from signed exams, treatment plans in every
status, four months of visits around ``today`` (two back, two ahead) inside
the doctors' shifts, the task book, the outbox, documents, invoices with
payments and two weeks of the time clock.

A fixed random seed makes every run build the same clinic, shifted to the
day it is loaded. Reference data (conditions, services, prices, protocols,
templates, task rules) must be loaded first by ``load_reference``. Names,
the roster and the Russian wording live in ``seeds/demo/*.yaml``. The caller
sets the audit actor and commits; this module only flushes.
"""
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..billing.models import Invoice, InvoiceLine, Payment
from ..catalog.models import TIERS, PriceList, Service
from ..catalog.prices import current_price_list, prices_by_service
from ..chart.models import Condition, Diagnosis, Exam, ToothFinding
from ..documents.models import DocumentTemplate, PatientDocument
from ..documents.services import ADULT_SIGNER_AGE, age_on
from ..errors import DomainError
from ..messaging.models import KIND_OF_TEMPLATE, Message, MessageTemplate
from ..messaging.outbox import patient_context, render, visit_context
from ..org.models import Clinic, Room, Specialty, Staff, StaffRole
from ..org.passwords import hash_password
from ..patients.models import InsurancePolicy, InsuranceProgram, Patient, PatientTag
from ..planning import builder
from ..planning.models import PlanItem
from ..planning.services import load_plan, stage_explanation
from ..scheduling.models import Absence, Appointment, Closure, Shift
from ..settings import PROJECT_ROOT
from ..tasks.models import Task, TaskRule
from ..timeclock.models import TimeClock
from .reference import read_yaml

DEMO_LOGINS = ("owner", "doctor", "admin", "coordinator", "callcenter", "cashier")
DEMO_PASSWORD = "demo"
DEMO_PIN = "1234"  # every demo person's PIN at the time-clock kiosk

DEMO_DIR = PROJECT_ROOT / "seeds" / "demo"
RANDOM_SEED = 2026
MOSCOW = ZoneInfo("Europe/Moscow")

PATIENT_COUNT = 320
EXAMINED_PATIENTS = 200
REEXAMINED_PATIENTS = 40
POLICY_COUNT = 25
VISIT_COUNT = 900
DAYS_BACK = 60
DAYS_AHEAD = 60
MESSAGE_WINDOW_DAYS = 5
DOCUMENT_DRAFT_DAYS = 14
SLOT = timedelta(minutes=30)

# Oldest exams get the plans that are furthest along.
PLAN_STATUS_QUOTAS = (
    ("completed", 8),
    ("in_progress", 12),
    ("declined", 8),
    ("accepted", 10),
    ("presented", 12),
    ("draft", 10),
)
INSURED_PLANS = 8
FOREIGN_PLANS = 3
CHOSEN_TIER_WEIGHTS = {"premium": 2, "optimal": 6, "economy": 2}

# The finding that leads an exam's complaints and diagnosis, most urgent first.
LEAD_CONDITIONS = (
    "pulpitis",
    "apical_periodontitis",
    "extraction_indicated",
    "fracture",
    "impacted",
    "caries",
    "periodontitis",
    "missing",
    "gingivitis",
    "calculus",
)

POSTERIOR_TEETH = (14, 15, 16, 17, 24, 25, 26, 27, 34, 35, 36, 37, 44, 45, 46, 47)
ANTERIOR_TEETH = (11, 12, 13, 21, 22, 23, 33, 43)
LOWER_INCISORS = (31, 32, 41, 42)
UPPER_INCISORS = (11, 21)
LOWER_WISDOM_TEETH = (38, 48)
PRIMARY_MOLARS = (54, 55, 64, 65, 74, 75, 84, 85)
FIRST_MOLARS = (16, 26, 36, 46)

# Which queue of the task book each tab's tasks wait in.
TASK_QUEUES = {
    "archive": "reception",
    "documents": "reception",
    "regular_calls": "call_center",
    "care_calls": "reception",
    "scheduled_calls": "call_center",
    "birthdays": "coordinators",
    "overdue_visits": "call_center",
}

SOURCES = {"walk_in": 12, "referral": 30, "website": 25, "phone": 15, "advertising": 10, "other": 8}
PAYMENT_METHODS = {"card": 55, "cash": 25, "online": 20}
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщыэюя"
LATIN = "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch y e yu ya".split()
TRANSLIT = str.maketrans({**dict(zip(CYRILLIC, LATIN)), "ъ": "", "ь": ""})


def seed_demo(session, today=None):
    """Load the demo clinic network (once) and return counts per table."""
    if session.execute(select(Staff.id).where(Staff.login == DEMO_LOGINS[0])).first():
        return {"demo clinic": "already loaded"}
    demo = Demo(session, today or date.today())
    for step in (
        seed_branches,
        seed_staff,
        seed_patients,
        seed_policies,
        seed_tags,
        seed_closures_and_absences,
        seed_shifts,
        seed_charts,
        seed_plans,
        seed_plan_visits,
        seed_other_visits,
        seed_messages,
        seed_documents,
        seed_tasks,
        seed_billing,
        seed_time_clock,
    ):
        step(demo)
        session.flush()
    return dict(demo.counts)


# --- shared state ------------------------------------------------------------


@dataclass
class Reference:
    """The reference rows the demo points at, read once and found by code."""

    specialties: dict
    conditions: dict
    diagnoses: dict
    services: dict
    prices: dict
    programs: list
    covered: dict
    message_templates: dict
    document_templates: dict
    task_rules: dict

    @classmethod
    def load(cls, session, today):
        def by_code(model):
            return {row.code: row for row in session.scalars(select(model))}

        if session.scalar(select(PriceList.id).limit(1)) is None:
            raise RuntimeError("Load the reference data (flask seed reference) before the demo clinic.")
        programs = session.scalars(
            select(InsuranceProgram)
            .options(selectinload(InsuranceProgram.company), selectinload(InsuranceProgram.services))
            .order_by(InsuranceProgram.code)
        ).all()
        return cls(
            specialties=by_code(Specialty),
            conditions=by_code(Condition),
            diagnoses=by_code(Diagnosis),
            services=by_code(Service),
            prices=prices_by_service(session, current_price_list(session, today)),
            programs=programs,
            covered={program: {s.id for s in program.services} for program in programs},
            message_templates={
                (t.code, t.channel): t
                for t in session.scalars(select(MessageTemplate).where(MessageTemplate.language == "ru"))
            },
            document_templates={
                (t.kind, t.specialty.code if t.specialty else None): t
                for t in session.scalars(
                    select(DocumentTemplate)
                    .where(DocumentTemplate.language == "ru", DocumentTemplate.active.is_(True))
                    .options(selectinload(DocumentTemplate.specialty))
                )
            },
            task_rules=by_code(TaskRule),
        )


class Board:
    """Who and what is busy when, so no two visits overlap for a doctor or a
    room, and a patient comes at most once a day."""

    def __init__(self):
        self.shifts = defaultdict(list)
        self._busy = defaultdict(list)
        self._patient_days = set()

    def add_shift(self, shift):
        self.shifts[shift.work_date].append(shift)

    def starts(self, shift, minutes):
        """Every start on the half-hour grid at which a visit fits the shift."""
        length = timedelta(minutes=minutes)
        moment, starts = shift.starts_at, []
        while moment + length <= shift.ends_at:
            starts.append(moment)
            moment += SLOT
        return starts

    def is_free(self, shift, patient, start, minutes):
        if (patient, shift.work_date) in self._patient_days:
            return False
        end = start + timedelta(minutes=minutes)
        return all(
            end <= busy_start or start >= busy_end
            for resource in (shift.staff, shift.room)
            for busy_start, busy_end in self._busy[resource, shift.work_date]
        )

    def first_free(self, doctors, patient, first_day, last_day, minutes):
        """The earliest (shift, start) of one of ``doctors`` between the days."""
        day = first_day
        while day <= last_day:
            for shift in sorted(self.shifts[day], key=lambda s: s.starts_at):
                if shift.staff in doctors:
                    for start in self.starts(shift, minutes):
                        if self.is_free(shift, patient, start, minutes):
                            return shift, start
            day += timedelta(days=1)
        return None

    def reserve(self, shift, patient, start, end):
        self._patient_days.add((patient, shift.work_date))
        for resource in (shift.staff, shift.room):
            self._busy[resource, shift.work_date].append((start, end))


class Demo:
    """What the seeding steps share: the session, the random source, the
    reference rows and the rows made so far."""

    def __init__(self, session, today):
        self.session = session
        self.today = today
        # The seed's "now": the start of today in Moscow. Earlier days are
        # history, today and later are the schedule ahead.
        self.now = local_moment(today, time(0))
        self.rng = random.Random(RANDOM_SEED)
        self.ref = Reference.load(session, today)
        self.setup = read_yaml("clinic.yaml", DEMO_DIR)
        self.names = read_yaml("names.yaml", DEMO_DIR)
        self.texts = read_yaml("texts.yaml", DEMO_DIR)
        self.counts = Counter()
        self.clinics = {}
        self.rooms = {}
        self.staff = {}
        self.patients = []
        self.policies = {}
        self.vip = []
        self.orthodontic_patients = []
        self.board = Board()
        self.shifts = []
        self.charts = defaultdict(dict)
        self.exams = defaultdict(list)
        self.plans = []
        self.chosen = {}
        self.visits = []
        self.performed = {}
        self.documents = []
        self.invoices = []
        self.payments = []

    def add(self, *rows):
        for row in rows:
            self.counts[row.__tablename__] += 1
        self.session.add_all(rows)

    def with_role(self, role, clinic=None):
        return [s for s in self.staff.values() if role in s.roles and (clinic is None or clinic in s.clinics)]

    def doctors(self, specialty_code):
        return [s for s in self.with_role("doctor") if s.specialty and s.specialty.code == specialty_code]

    def age(self, patient):
        born = patient.birth_date
        return self.today.year - born.year - ((self.today.month, self.today.day) < (born.month, born.day))

    def weighted(self, weights):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def minutes(self, low, high):
        return timedelta(minutes=self.rng.randint(low, high))

    def before_now(self, moment, margin_minutes=60):
        return min(moment, self.now - timedelta(minutes=margin_minutes))


def local_moment(day, clock):
    """A Moscow wall-clock time on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, clock, tzinfo=MOSCOW).astimezone(timezone.utc)


def local_day(moment):
    return moment.astimezone(MOSCOW).date()


def parse_clock(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def days_between(first, last):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def visit_minutes(minutes):
    """A visit's length: whole quarter hours, at least 30 minutes (a stage
    that is one long operation keeps its length)."""
    return max(30, -(-minutes // 15) * 15)


def service_title(service):
    """“Пломба, 1 поверхность (оптимум)” out of the service's full Russian name."""
    return service.name_ru.split(":")[0].strip()


def transliterate(text):
    return text.lower().translate(TRANSLIT)


# --- branches, staff, patients -----------------------------------------------


def seed_branches(demo):
    for branch in demo.setup["branches"]:
        clinic = Clinic(
            name=branch["name"],
            address=branch["address"],
            phone=branch["phone"],
            time_zone=branch["time_zone"],
            currency=branch["currency"],
            opens_at=parse_clock(branch["opens_at"]),
            closes_at=parse_clock(branch["closes_at"]),
            working_days=branch["working_days"],
        )
        demo.add(clinic)
        demo.clinics[branch["key"]] = clinic
        for room_data in branch["rooms"]:
            room = Room(clinic=clinic, name=room_data["name"], kind=room_data["kind"])
            demo.add(room)
            demo.rooms[branch["key"], room_data["name"]] = room


def seed_staff(demo):
    password_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow: one hash for every account
    pin_hash = hash_password(DEMO_PIN)
    for person in demo.setup["staff"]:
        last_name, first_name, middle_name = person["name"]
        staff = Staff(
            login=person["login"],
            password_hash=password_hash,
            pin_hash=pin_hash,
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
            email=f"{person['login']}@stompro.example",
            phone=person["phone"],
            specialty=demo.ref.specialties[person["specialty"]] if "specialty" in person else None,
            color=person["color"],
            language=person.get("language", "ru"),
            clinics=[demo.clinics[key] for key in person["clinics"]],
        )
        demo.add(staff)
        for role in person["roles"]:
            role_row = StaffRole(role=role)
            staff.role_rows.append(role_row)
            demo.add(role_row)
        demo.staff[staff.login] = staff


def seed_patients(demo):
    rng, names = demo.rng, demo.names
    clinic_keys = list(demo.clinics)
    streets = demo.texts["streets"]
    coordinators = demo.with_role("coordinator")
    phones = set()
    foreigners = iter(names["foreign_patients"])
    for number in range(PATIENT_COUNT):
        sex = "F" if rng.random() < 0.56 else "M"
        first_name = rng.choice(names["female_first_names" if sex == "F" else "male_first_names"])
        surname = rng.choice(names["surnames"])
        last_name = feminine_surname(surname) if sex == "F" else surname
        middle_name = rng.choice(names["patronymics"])["female" if sex == "F" else "male"]
        foreigner = next(foreigners, None) if number % 40 == 7 else None
        if foreigner is not None:
            last_name, first_name, sex, middle_name = foreigner["last_name"], foreigner["first_name"], foreigner["sex"], None
        birth_year = rng.randint(2010, 2018) if rng.random() < 0.12 else rng.randint(1950, 2009)
        birth_date = date(birth_year, 1, 1) + timedelta(days=rng.randrange(365))
        phone = f"+79{rng.randrange(10**9):09d}"
        while phone in phones:
            phone = f"+79{rng.randrange(10**9):09d}"
        phones.add(phone)
        home_key = clinic_keys[0] if rng.random() < 0.58 else clinic_keys[1]
        adult = demo.today.year - birth_year >= 18
        patient = Patient(
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
            birth_date=birth_date,
            sex=sex,
            phone=phone,
            email=patient_email(demo, first_name, last_name) if rng.random() < 0.45 else None,
            address=f"Москва, {rng.choice(streets[home_key])}, д. {rng.randint(1, 140)}, кв. {rng.randint(1, 320)}",
            id_document=(
                f"Паспорт {rng.randint(45, 46)} {rng.randint(10, 24):02d} {rng.randrange(10**6):06d}"
                if adult
                else f"Свидетельство о рождении IV-МЮ {rng.randrange(10**6):06d}"
            ),
            source=demo.weighted(SOURCES),
            sms_consent=rng.random() < 0.9,
            home_clinic=demo.clinics[home_key],
            coordinator=rng.choice(coordinators) if rng.random() < 0.5 else None,
            status=demo.weighted({"active": 93, "inactive": 4, "archived": 3}),
            created_at=local_moment(demo.today - timedelta(days=rng.randint(90, 1800)), time(rng.randint(9, 20))),
        )
        if rng.random() < 0.25:
            patient.preferred_days = rng.choice(("135", "246", "12345", "6"))
        if rng.random() < 0.2:
            patient.preferred_time_from, patient.preferred_time_to = rng.choice(
                ((time(9), time(13)), (time(17), time(21)))
            )
        demo.add(patient)
        demo.patients.append(patient)


def feminine_surname(surname):
    """Иванов → Иванова, Троицкий → Троицкая, Толстой → Толстая; Черных stays."""
    if surname.endswith(("ий", "ой")):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


def patient_email(demo, first_name, last_name):
    local = f"{transliterate(first_name)}.{transliterate(last_name)}{demo.rng.randint(1, 99)}"
    return f"{local}@{demo.rng.choice(demo.texts['email_domains'])}"


def seed_policies(demo):
    rng = demo.rng
    adults = [p for p in demo.patients if demo.age(p) >= 18 and p.status == "active"]
    numbers = set()
    for patient in rng.sample(adults, POLICY_COUNT):
        program = rng.choice(demo.ref.programs)
        number = f"МП-{rng.randrange(10**8):08d}"
        while number in numbers:
            number = f"МП-{rng.randrange(10**8):08d}"
        numbers.add(number)
        valid_from = demo.today - timedelta(days=rng.randint(20, 330))
        policy = InsurancePolicy(
            patient=patient,
            company=program.company,
            program=program,
            number=number,
            valid_from=valid_from,
            valid_to=valid_from + timedelta(days=364),
        )
        patient.source = "insurance"
        demo.add(policy)
        demo.policies[patient] = policy


def seed_tags(demo):
    """VIP (~8 %, a few with birthdays close by), insured, orthodontic; the
    debtors are tagged when billing shows who owes."""
    rng = demo.rng
    adults = [p for p in demo.patients if demo.age(p) >= 18 and p.status == "active"]
    by_birthday = sorted(adults, key=lambda p: abs(days_to_birthday(demo.today, p.birth_date)))
    vip = by_birthday[:4] + [p for p in rng.sample(adults, round(PATIENT_COUNT * 0.08)) if p not in by_birthday[:4]]
    demo.vip = vip[: round(PATIENT_COUNT * 0.08)]
    young = [p for p in demo.patients if 10 <= demo.age(p) <= 30 and p.status == "active"]
    demo.orthodontic_patients = rng.sample(young, 14)
    for patient in demo.patients:
        tags = []
        if patient in demo.vip:
            tags.append("VIP")
        if patient in demo.policies:
            tags.append("insured")
        if patient in demo.orthodontic_patients:
            tags.append("orthodontic")
        for tag in tags:
            demo.add(PatientTag(patient=patient, tag=tag))


def days_to_birthday(today, birth_date):
    """Days from today to the nearest birthday, negative when it has passed."""
    best = None
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            birthday = birth_date.replace(year=year)
        except ValueError:  # 29 February
            birthday = date(year, 3, 1)
        delta = (birthday - today).days
        if best is None or abs(delta) < abs(best):
            best = delta
    return best


# --- shifts and visits -------------------------------------------------------


def seed_closures_and_absences(demo):
    """The next New Year holidays close both branches (1–8 January); one
    doctor takes two weeks of vacation starting three weeks from today. No
    shift is made on those days (seed_shifts)."""
    new_year = date(demo.today.year + 1, 1, 1)
    demo.closed = {}
    for clinic in demo.clinics.values():
        demo.add(Closure(clinic=clinic, first_day=new_year, last_day=new_year + timedelta(days=7),
                         reason=demo.texts["closure_reason"]))
        demo.closed[clinic] = set(days_between(new_year, new_year + timedelta(days=7)))
    first = demo.today + timedelta(days=21)
    vacationer = demo.staff[demo.setup["vacation"]]
    demo.add(Absence(staff=vacationer, first_day=first, last_day=first + timedelta(days=13), kind="vacation"))
    demo.away = {vacationer: set(days_between(first, first + timedelta(days=13)))}


def seed_shifts(demo):
    first, last = demo.today - timedelta(days=DAYS_BACK), demo.today + timedelta(days=DAYS_AHEAD)
    for person in demo.setup["staff"]:
        staff = demo.staff[person["login"]]
        for block in person.get("roster", ()):
            clinic = demo.clinics[block["clinic"]]
            room = demo.rooms[block["clinic"], block["room"]] if "room" in block else None
            opens, closes = (parse_clock(part) for part in block["hours"].split("-"))
            for day in days_between(first, last):
                if str(day.isoweekday()) not in block["days"]:
                    continue
                if day in demo.closed[clinic] or day in demo.away.get(staff, ()):
                    continue
                shift = Shift(
                    staff=staff,
                    clinic=clinic,
                    room=room,
                    work_date=day,
                    starts_at=local_moment(day, opens),
                    ends_at=local_moment(day, closes),
                )
                demo.add(shift)
                demo.shifts.append(shift)
                if room is not None:
                    demo.board.add_shift(shift)


def book_visit(demo, shift, patient, start, minutes, *, kind, status, stage=None, note=None):
    """An appointment in ``shift`` that the board then keeps free of overlaps."""
    rng = demo.rng
    end = start + timedelta(minutes=minutes)
    booking_day = min(local_day(start) - timedelta(days=rng.randint(1, 21)),
                      demo.today - timedelta(days=rng.randint(1, 3)))
    booked_at = local_moment(booking_day, time(rng.randint(9, 20), rng.choice((0, 15, 30, 45))))
    visit = Appointment(
        clinic=shift.clinic,
        room=shift.room,
        doctor=shift.staff,
        patient=patient,
        starts_at=start,
        ends_at=end,
        kind=kind,
        status=status,
        plan_stage=stage,
        note=note,
        booked_by=rng.choice(demo.with_role("administrator", shift.clinic) + demo.with_role("call_center")),
        created_at=booked_at,
    )
    if status == "done":
        visit.arrived_at = start - demo.minutes(2, 15)
        visit.started_at = start + demo.minutes(0, 5)
        visit.finished_at = end + demo.minutes(-5, 10)
    elif status == "cancelled":
        visit.cancel_reason = rng.choice(demo.texts["cancel_reasons"])
        # One in three cancels on the day before or the day itself (a late cancellation).
        ahead = demo.minutes(60, 20 * 60) if rng.random() < 0.33 else timedelta(days=rng.randint(2, 10))
        visit.cancelled_at = min(max(booked_at, start - ahead), demo.now)
    demo.board.reserve(shift, patient, start, end)
    demo.add(visit)
    demo.visits.append(visit)
    return visit


def visit_status(demo, day, planned=False):
    """Past visits happened (or not); the ones ahead are booked or confirmed."""
    if day < demo.today:
        return "done" if planned else demo.weighted({"done": 82, "no_show": 7, "cancelled": 11})
    if (day - demo.today).days <= 1:
        return demo.weighted({"confirmed": 7, "booked": 3})
    return demo.weighted({"confirmed": 15, "booked": 85})


def visit_kind(service):
    if service.specialty.code == "hygiene":
        return "hygiene"
    if service.stage_kind in ("examination", "consultation"):
        return service.stage_kind
    return "treatment"


# --- charts ------------------------------------------------------------------


def seed_charts(demo):
    """A signed exam with findings for 200 patients; 40 of them come back for
    a second exam whose findings override the first on some teeth."""
    rng = demo.rng
    candidates = [p for p in demo.patients if p.status != "archived"]
    examined = rng.sample(candidates, EXAMINED_PATIENTS)
    for index, patient in enumerate(examined):
        if index < REEXAMINED_PATIENTS:
            first = examine(demo, patient, rng.randint(35, DAYS_BACK), first_findings(demo, patient))
            if first is not None:
                first_days_ago = (demo.today - local_day(first.examined_at)).days
                examine(demo, patient, rng.randint(1, first_days_ago - 14), follow_up_findings(demo, patient),
                        follow_up=True)
        else:
            examine(demo, patient, rng.randint(1, DAYS_BACK), first_findings(demo, patient))


def examine(demo, patient, days_ago, findings, follow_up=False):
    """An examination visit, its signed medical card entry and findings."""
    rng = demo.rng
    doctors = demo.doctors("therapy") + (demo.doctors("orthodontics") if demo.age(patient) < 18 else [])
    first_day = demo.today - timedelta(days=days_ago)
    last_day = min(first_day + timedelta(days=7), demo.today - timedelta(days=1))
    slot = demo.board.first_free(doctors, patient, first_day, last_day, 30)
    if slot is None:
        return None
    shift, start = slot
    service = demo.ref.services[demo.setup["exam_services"]["follow_up" if follow_up else "first"]]
    visit = book_visit(demo, shift, patient, start, 30, kind="examination", status="done",
                       note=service_title(service))
    demo.performed[visit] = [bill_line(demo, service, patient)]
    lead = next((code for code in LEAD_CONDITIONS if code in {c for c, _ in findings.values()}), "routine")
    texts = demo.texts
    examined_at = visit.started_at + demo.minutes(1, 5)
    exam = Exam(
        patient=patient,
        doctor=shift.staff,
        clinic=shift.clinic,
        examined_at=examined_at,
        complaints=texts["complaints"][lead],
        anamnesis=rng.choice(texts["anamnesis"]),
        objective_status=rng.choice(texts["objective_status"]),
        diagnosis=demo.ref.diagnoses.get(texts["diagnoses"].get(lead)),
        diagnosis_note=diagnosis_note(demo, findings, lead),
        recommendations=texts["recommendations"][lead],
        signed_at=visit.finished_at,
        created_at=examined_at,
    )
    demo.add(exam)
    demo.exams[patient].append(exam)
    for offset, (tooth, (code, surfaces)) in enumerate(sorted(findings.items())):
        record_finding(demo, patient, tooth, code, surfaces, shift.staff, examined_at + timedelta(seconds=20 * offset),
                       exam=exam, note=texts["finding_notes"].get(code))
    return exam


def diagnosis_note(demo, findings, lead):
    teeth = sorted(tooth for tooth, (code, _) in findings.items() if code == lead)
    if not teeth:
        return None
    return f"{demo.ref.conditions[lead].name_ru} {', '.join(map(str, teeth))}"


def record_finding(demo, patient, tooth, code, surfaces, author, at, exam=None, note=None):
    condition = demo.ref.conditions[code]
    surfaces = surfaces if condition.scope == "surface" else ""
    demo.add(
        ToothFinding(
            patient=patient,
            tooth=tooth,
            surfaces=surfaces,
            condition=condition,
            note=note,
            exam=exam,
            author=author,
            recorded_at=at,
        )
    )
    demo.charts[patient][tooth] = (code, surfaces)


def first_findings(demo, patient):
    """A first exam's chart: teeth → (condition code, surfaces), by age."""
    rng, age = demo.rng, demo.age(patient)
    chart = {}
    back = rng.sample(PRIMARY_MOLARS if age < 13 else POSTERIOR_TEETH, 8 if age < 13 else 16)
    front = rng.sample(ANTERIOR_TEETH, len(ANTERIOR_TEETH))

    def put(teeth, code, times=1, surfaced=False):
        for _ in range(times):
            if teeth:
                tooth = teeth.pop()
                chart[tooth] = (code, surfaces_for(rng, tooth) if surfaced else "")

    if age < 13:
        put(back, "caries", rng.randint(1, 3), surfaced=True)
        put(back, "filling", rng.randint(0, 2), surfaced=True)
        if rng.random() < 0.3:
            put([rng.choice(FIRST_MOLARS)], "caries", surfaced=True)
        return chart
    if age >= 35:
        for _ in range(min(4, max(0, round((age - 35) / 15 + rng.uniform(-1, 1))))):
            put(back, "implant" if age > 40 and rng.random() < 0.35 else "missing")
    put(back, "filling", rng.randint(0, min(6, age // 8)), surfaced=True)
    if age > 35:
        put(back, "crown", rng.randint(0, 2))
    if age > 25 and rng.random() < 0.4:
        put(back, "root_canal_treated")
    put(back, "caries", rng.choices((0, 1, 2, 3, 4), weights=(15, 30, 25, 20, 10))[0], surfaced=True)
    if rng.random() < 0.2:
        put(front, "caries", surfaced=True)
    if rng.random() < 0.15:
        put(back, "pulpitis")
    if rng.random() < 0.08:
        put(back, "apical_periodontitis")
    if age > 30 and rng.random() < 0.12:
        put(back, "extraction_indicated")
    if rng.random() < 0.04:
        put([rng.choice(UPPER_INCISORS)], "fracture")
    if 18 <= age <= 40 and rng.random() < 0.1:
        put([rng.choice(LOWER_WISDOM_TEETH)], "impacted")
    if age > 40 and rng.random() < 0.15:
        put(list(LOWER_INCISORS), "periodontitis", 3)
        put([13, 23], "mobility")
    elif rng.random() < 0.4:
        put(list(LOWER_INCISORS), "calculus", 4)
    elif age < 40 and rng.random() < 0.15:
        put(list(UPPER_INCISORS), "gingivitis", 2)
    return chart


def follow_up_findings(demo, patient):
    """What changed by the second exam: caries grown into pulpitis, new caries."""
    rng, chart = demo.rng, demo.charts[patient]
    changes = {}
    caries = [tooth for tooth, (code, _) in chart.items() if code == "caries"]
    if caries and rng.random() < 0.5:
        changes[rng.choice(sorted(caries))] = ("pulpitis", "")
    pool = PRIMARY_MOLARS if demo.age(patient) < 13 else POSTERIOR_TEETH
    untouched = [tooth for tooth in pool if tooth not in chart]
    if untouched:
        tooth = rng.choice(untouched)
        changes[tooth] = ("caries", surfaces_for(rng, tooth))
    return changes


def surfaces_for(rng, tooth):
    if tooth % 10 >= 4:
        return rng.choice(("O", "O", "MO", "DO", "MOD"))
    return rng.choice(("M", "D", "V", "MI"))


# --- treatment plans ---------------------------------------------------------


def seed_plans(demo):
    """~60 plans built from the current charts, their status following the
    age of the exam: the oldest are completed, the newest still drafts."""
    rng = demo.rng
    needs_treatment = {code for code, c in demo.ref.conditions.items() if c.needs_treatment}
    candidates = [
        p for p in demo.exams if any(code in needs_treatment for code, _ in demo.charts[p].values())
    ]
    wanted = sum(quota for _, quota in PLAN_STATUS_QUOTAS)
    insured = [p for p in candidates if p in demo.policies][:INSURED_PLANS]
    # The foreign patients' plans show that names in Latin letters work everywhere.
    foreign = [p for p in candidates if p not in insured and p.middle_name is None][:FOREIGN_PLANS]
    others = [p for p in candidates if p not in insured and p not in foreign]
    chosen_patients = insured + foreign + rng.sample(others, min(len(others), wanted - len(insured) - len(foreign)))
    chosen_patients.sort(key=lambda p: demo.exams[p][-1].examined_at)
    plans = [plan for plan in (build_plan(demo, p) for p in chosen_patients) if plan is not None]

    remaining = list(plans)
    for status, quota in PLAN_STATUS_QUOTAS:
        eligible = [p for p in remaining if status != "completed" or fits_before_today(demo, p)]
        for plan in eligible[:quota]:
            remaining.remove(plan)
            set_plan_status(demo, plan, status)
    demo.plans = plans
    remove_some_items(demo)


def build_plan(demo, patient):
    """The plan the clinic's builder made from the patient's chart just after
    the last exam (its stage explanations in every language, as the builder
    writes them), with the variant the patient will choose (marked chosen
    once the plan is accepted); None when nothing in the chart is treated by
    a protocol."""
    rng = demo.rng
    exam = demo.exams[patient][-1]
    coordinator = patient.coordinator or rng.choice(demo.with_role("coordinator"))
    title = rng.choice(demo.texts["plan_titles"])
    moment = exam.signed_at + demo.minutes(5, 40)
    policy = demo.policies.get(patient)
    if policy is not None and not policy.in_force(local_day(moment)):
        policy = None
    try:
        built = builder.build_plan(demo.session, patient, exam.doctor, payer=policy, now=moment)
    except DomainError:
        return None
    plan = load_plan(demo.session, built.id)
    plan.clinic, plan.coordinator, plan.title = exam.clinic, coordinator, title
    demo.counts.update(
        treatment_plan=1,
        plan_variant=len(plan.variants),
        plan_stage=sum(len(v.stages) for v in plan.variants),
        plan_item=sum(len(s.items) for v in plan.variants for s in v.stages),
    )
    demo.chosen[plan] = plan.variants[TIERS.index(demo.weighted(CHOSEN_TIER_WEIGHTS))]
    return plan


def fits_before_today(demo, plan):
    """Whether the chosen variant could have been carried out since the exam."""
    stages = demo.chosen[plan].stages
    exam_age = (demo.today - local_day(demo.exams[plan.patient][-1].examined_at)).days
    return len(stages) <= 5 and sum(s.min_gap_days for s in stages) + 4 * len(stages) <= exam_age - 6


def set_plan_status(demo, plan, status):
    rng = demo.rng
    plan.status = status
    if status == "draft":
        return
    plan.presented_at = demo.before_now(plan.created_at + timedelta(hours=rng.randint(1, 48)), 90)
    if status == "declined":
        plan.decline_reason = rng.choice(demo.texts["decline_reasons"])
    elif status != "presented":
        plan.accepted_at = demo.before_now(plan.presented_at + timedelta(hours=rng.randint(1, 24)), 30)
        demo.chosen[plan].chosen = True


def remove_some_items(demo):
    """A few items taken out by the coordinator, each with a justification;
    one of them is a protocol-mandatory step for the owner to review."""
    rng, texts = demo.rng, demo.texts["removal_justifications"]
    plans = [p for p in demo.plans if p.presented_at is not None]
    for index, plan in enumerate(rng.sample(plans, min(6, len(plans)))):
        items = [item for stage in demo.chosen[plan].stages for item in stage.items]
        mandatory = index == 0
        pool = [item for item in items if item.mandatory == mandatory and item.tooth is not None]
        if not pool:
            continue
        item = rng.choice(pool)
        item.removed = True
        item.removal_justification = texts["mandatory"] if mandatory else rng.choice(texts["optional"])
        item.removed_by = plan.coordinator
        item.removed_at = plan.presented_at


# --- visits of plans and walk-in visits --------------------------------------


@dataclass
class BillLine:
    """A performed service waiting for the cashier's invoice."""

    service: Service
    tooth: int | None
    quantity: int
    price: Decimal
    insured: bool = False
    plan_item: PlanItem | None = None


def bill_line(demo, service, patient):
    policy = demo.policies.get(patient)
    return BillLine(
        service=service,
        tooth=demo.rng.choice(POSTERIOR_TEETH) if service.scope != "mouth" else None,
        quantity=1,
        price=demo.ref.prices[service.id],
        insured=policy is not None and service.id in demo.ref.covered[policy.program],
    )


def seed_plan_visits(demo):
    """Visits for the chosen variants' stages: done before today, booked
    ahead after it; a plan's final status follows what was carried out."""
    for plan in demo.plans:
        if plan.status in ("accepted", "in_progress", "completed"):
            book_plan(demo, plan)


def book_plan(demo, plan):
    rng, today = demo.rng, demo.today
    yesterday, horizon = today - timedelta(days=1), today + timedelta(days=DAYS_AHEAD)
    stages = demo.chosen[plan].stages
    accepted_day = local_day(plan.accepted_at)
    if plan.status == "accepted":
        day = max(today, accepted_day + timedelta(days=1)) + timedelta(days=rng.randint(0, 6))
        done_quota = 0
    else:
        day = accepted_day + timedelta(days=rng.randint(1, 4))
        done_quota = len(stages) if plan.status == "completed" else max(1, len(stages) // 2)
    done, booking, last_visit = 0, True, None
    for index, stage in enumerate(stages):
        if index > 0:
            day = stage.depends_on.planned_date + timedelta(days=max(1, stage.min_gap_days))
        doctors = demo.doctors(stage.specialty.code)
        minutes = visit_minutes(stage.duration_min)
        slot = None
        if booking and index < done_quota:
            slot = demo.board.first_free(doctors, plan.patient, day, min(day + timedelta(days=14), yesterday), minutes)
        if slot is None:
            done_quota = index  # the rest of the plan lies ahead
            day = max(day, today)
            if booking:
                last_day = min(day + timedelta(days=21), horizon)
                slot = demo.board.first_free(doctors, plan.patient, day, last_day, minutes)
        stage.planned_date = day
        if slot is None:
            booking = False  # a later stage waits for this one to be booked
            continue
        shift, start = slot
        status = visit_status(demo, shift.work_date, planned=True)
        with force_locale("ru"):  # the visit's note, written once, in the clinic's language
            note = stage_explanation(stage)
        visit = book_visit(demo, shift, plan.patient, start, minutes, kind=visit_kind_of_stage(stage),
                           status=status, stage=stage, note=note)
        stage.planned_date = shift.work_date
        if status == "done":
            perform_stage(demo, stage, visit)
            done, last_visit = done + 1, visit
    if done == len(stages):
        plan.status, plan.completed_at = "completed", last_visit.finished_at
    else:
        plan.status = "in_progress" if done else "accepted"


def visit_kind_of_stage(stage):
    if stage.specialty.code == "hygiene" and stage.kind == "treatment":
        return "hygiene"
    return stage.kind


def perform_stage(demo, stage, visit):
    """Mark the stage's items performed and chart what each tooth became."""
    plan = stage.variant.plan
    lines = []
    for offset, item in enumerate(i for i in stage.items if not i.removed):
        item.performed_at = visit.finished_at
        item.performed_by = visit.doctor
        lines.append(
            BillLine(
                service=item.service,
                tooth=item.tooth,
                quantity=item.quantity,
                price=item.price,
                insured=plan.payer_kind == "insurance" and not item.self_paid,
                plan_item=item,
            )
        )
        if item.tooth is not None and item.target_condition is not None:
            record_finding(demo, plan.patient, item.tooth, item.target_condition.code, item.surfaces,
                           visit.doctor, visit.finished_at + timedelta(seconds=offset))
    demo.performed[visit] = lines


def seed_other_visits(demo):
    """Walk-in visits (check-ups, hygiene, X-rays, orthodontic controls) up to
    ~900 visits in all, denser in the days just ahead than two months out."""
    rng, ref = demo.rng, demo.ref
    shifts = [s for s in demo.shifts if s.room is not None]
    weights = list(accumulate(shift_weight(demo, s.work_date) for s in shifts))
    services = {
        specialty: [ref.services[code] for code in codes]
        for specialty, codes in demo.setup["walk_in_services"].items()
    }
    active = [p for p in demo.patients if p.status == "active"]
    locals_by_clinic = {c: [p for p in active if p.home_clinic is c] for c in demo.clinics.values()}
    attempts = 0
    while len(demo.visits) < VISIT_COUNT and attempts < VISIT_COUNT * 40:
        attempts += 1
        shift = rng.choices(shifts, cum_weights=weights)[0]
        specialty = shift.staff.specialty.code
        service = rng.choice(services[specialty])
        minutes = visit_minutes(service.duration_min)
        if specialty == "orthodontics" and rng.random() < 0.8:
            patient = rng.choice(demo.orthodontic_patients)
        else:
            patient = rng.choice(locals_by_clinic[shift.clinic] if rng.random() < 0.85 else active)
        if specialty in ("implantology", "prosthetics", "periodontology") and demo.age(patient) < 18:
            continue
        start = rng.choice(demo.board.starts(shift, minutes))
        if not demo.board.is_free(shift, patient, start, minutes):
            continue
        status = visit_status(demo, shift.work_date)
        visit = book_visit(demo, shift, patient, start, minutes, kind=visit_kind(service), status=status,
                           note=service_title(service))
        if status == "done":
            demo.performed[visit] = [bill_line(demo, service, patient)]


def shift_weight(demo, day):
    """How full a day is: the past as it was, the weeks ahead filling up."""
    ahead = (day - demo.today).days
    return 1.0 if ahead < 0 else max(0.2, 1 - ahead / 50)


# --- outbox ------------------------------------------------------------------


def seed_messages(demo):
    """Confirmations, reminders and after-visit messages of the visits around
    today (sent before now, scheduled after, cancelled with the visit), plus
    the VIP patients' birthday greetings — keyed as messaging.outbox and the
    task rules key them, so the panel never plans one of them again."""
    window = timedelta(days=MESSAGE_WINDOW_DAYS)
    for visit in sorted(demo.visits, key=lambda v: v.starts_at):
        if abs(local_day(visit.starts_at) - demo.today) <= window:
            for code, send_at in visit_messages(demo, visit):
                kind = KIND_OF_TEMPLATE[code]
                key = f"care:{visit.id}" if kind == "care" else f"visit:{visit.id}:{kind}:v1"
                queue_message(demo, visit.patient, code, send_at, key, visit=visit)
    for patient in demo.vip:
        days = days_to_birthday(demo.today, patient.birth_date)
        if abs(days) <= MESSAGE_WINDOW_DAYS:
            birthday = demo.today + timedelta(days=days)
            queue_message(demo, patient, "birthday", local_moment(birthday, time(10)),
                          f"birthday:{patient.id}:{birthday.year}")


def visit_messages(demo, visit):
    """(template code, send time) of each message a visit plans."""
    start_local = visit.starts_at.astimezone(MOSCOW)
    planned = [
        ("booking_confirmation", visit.created_at + timedelta(seconds=30)),
        ("reminder_day_before", local_moment(start_local.date() - timedelta(days=1), time(12))),
    ]
    if start_local.hour >= 12:  # 2–3 hours before, never inside the quiet morning hours
        planned.append(("reminder_hours_before", visit.starts_at - timedelta(hours=3)))
    if visit.status == "done":
        planned.append(("after_visit", visit.finished_at + timedelta(hours=2)))
        if visit.doctor.specialty.code in ("surgery", "implantology") and visit.kind == "treatment":
            # the care rule writes the day after, with its call (tasks.rules)
            planned.append(("post_op_care", local_moment(local_day(visit.finished_at) + timedelta(days=1), time(10))))
    return [(code, outside_quiet_hours(at)) for code, at in planned if at >= visit.created_at]


def outside_quiet_hours(moment):
    """Messages go out between 09:00 and 21:00 Moscow time; others wait for 10:00."""
    local = moment.astimezone(MOSCOW)
    if local.hour >= 21:
        return local_moment(local.date() + timedelta(days=1), time(10))
    if local.hour < 9:
        return local_moment(local.date(), time(10))
    return moment


def queue_message(demo, patient, code, send_at, dedupe_key, visit=None):
    """One outbox row: an SMS if the patient agreed to them, else an e-mail
    where the template has an e-mail version, else nothing."""
    rng = demo.rng
    if patient.sms_consent:
        channel, recipient = "sms", patient.phone
    elif patient.email and (code, "email") in demo.ref.message_templates:
        channel, recipient = "email", patient.email
    else:
        return
    template = demo.ref.message_templates[code, channel]
    clinic = visit.clinic if visit else patient.home_clinic
    context = visit_context(visit, template.language) if visit else patient_context(patient, clinic)
    message = Message(
        patient=patient,
        appointment=visit,
        template=template,
        kind=KIND_OF_TEMPLATE[code],
        language=template.language,
        subject=render(template.subject, context) if channel == "email" and template.subject else None,
        channel=channel,
        recipient=recipient,
        body=render(template.body, context),
        send_at=send_at,
        dedupe_key=dedupe_key,
        created_at=demo.before_now(visit.created_at if visit else send_at - timedelta(days=1), 0),
    )
    if visit is not None and visit.status == "cancelled":
        message.status = "cancelled" if code != "booking_confirmation" else "sent"
    elif send_at < demo.now:
        message.status = "failed" if rng.random() < 0.04 else "sent"
    else:
        message.status = "scheduled"
    if message.status == "sent":
        message.attempts, message.sent_at = 1, send_at + timedelta(seconds=rng.randint(2, 50))
        message.provider_id = f"{channel}-{rng.randrange(16**12):012x}"
    elif message.status == "failed":
        message.attempts, message.error = 3, demo.texts["failed_message"]
    demo.add(message)


# --- documents ---------------------------------------------------------------


def seed_documents(demo):
    """Contracts and consents signed at the first visit that needed them,
    drafts prepared for the visits of the next two weeks, plan printouts."""
    prepared = set()
    soon = demo.today + timedelta(days=DOCUMENT_DRAFT_DAYS)
    for visit in sorted(demo.visits, key=lambda v: v.starts_at):
        if visit.status == "done":
            status = "signed"
        elif visit.status in ("booked", "confirmed") and local_day(visit.starts_at) <= soon:
            status = "draft"
        else:
            continue
        for key in document_keys(demo, visit):
            if (visit.patient, key) in prepared:
                continue
            prepared.add((visit.patient, key))
            document = patient_document(demo, visit.patient, key)
            if status == "signed":
                document.status = "signed"
                document.signed_at = visit.arrived_at
                document.witnessed_by = demo.rng.choice(demo.with_role("administrator", visit.clinic))
                sign_as(demo, document, visit.patient, local_day(visit.arrived_at))
            else:
                demo.documents.append((document, visit))
            demo.add(document)
    for plan in demo.plans:
        if plan.presented_at is None:
            continue
        document = patient_document(demo, plan.patient, ("plan_printout", None), plan=plan)
        document.created_at = plan.presented_at  # printed when the plan was presented
        if plan.accepted_at:
            document.status, document.signed_at = "signed", plan.accepted_at
            document.witnessed_by = plan.coordinator or plan.author
            sign_as(demo, document, plan.patient, local_day(plan.accepted_at))
        demo.add(document)


def sign_as(demo, document, patient, day):
    """The patient signs; a child under 15 is signed for by a parent, named with their papers."""
    if age_on(patient.birth_date, day) >= ADULT_SIGNER_AGE:
        document.signed_by = "patient"
        return
    surname = patient.last_name + ("а" if patient.last_name.endswith(("ов", "ев", "ин")) else "")
    document.signed_by = "representative"
    document.representative_name = f"{surname} {demo.rng.choice(('Ольга', 'Марина', 'Елена'))} Викторовна (мать)"
    document.representative_document = (f"паспорт 45 {demo.rng.randint(10, 22)} № {demo.rng.randint(100000, 999999)}; "
                                         f"свидетельство о рождении ребёнка")


def document_keys(demo, visit):
    """The contract, the consent to personal data and the specialty's consent a treatment visit requires."""
    if visit.kind not in ("treatment", "hygiene"):
        return []
    keys = (("contract", None), ("personal_data", None), ("consent", visit.doctor.specialty.code))
    return [key for key in keys if key in demo.ref.document_templates]


def patient_document(demo, patient, key, plan=None):
    template = demo.ref.document_templates[key]
    return PatientDocument(
        patient=patient,
        clinic=plan.clinic if plan is not None and plan.clinic is not None else patient.home_clinic,
        template=template,
        plan=plan,
        kind=template.kind,
        specialty=template.specialty,
        title=f"{template.title} №{plan.id}" if plan else template.title,
        status="draft",
    )


# --- task book ---------------------------------------------------------------


def seed_tasks(demo):
    """~120 tasks over every tab, done and open, some of the open ones late."""
    for make in (
        confirmation_calls,
        care_calls,
        plan_calls,
        recall_calls,
        birthday_calls,
        overdue_visit_calls,
        document_tasks,
        archive_tasks,
    ):
        make(demo)


def new_task(demo, tab, title, due_at, *, rule=None, patient=None, visit=None, plan=None, assignee=None,
             result=None, outcome=None, call_back_at=None, done=False):
    """A task; ``done`` (or a call result) closes it shortly around its due time."""
    rule_row = demo.ref.task_rules.get(rule)
    done = done or result is not None
    task = Task(
        tab=tab,
        priority=rule_row.priority if rule_row else 4,
        title=title,
        patient=patient,
        appointment=visit,
        plan=plan,
        rule=rule_row,
        assignee=assignee,
        queue=TASK_QUEUES[tab],
        clinic=visit.clinic if visit is not None else (patient.home_clinic if patient is not None else None),
        due_at=due_at,
        status="done" if done else "open",
        call_result=result,
        call_back_at=call_back_at,
        outcome_note=outcome,
        created_at=demo.before_now(due_at - timedelta(days=1), 120),
    )
    if done:
        task.done_by = assignee
        task.done_at = demo.before_now(due_at - demo.minutes(-90, 240), 10)
    demo.add(task)
    return task


def call_back_time(demo, result, within_days):
    """When to call again after a "call back" result (None for the others)."""
    if result != "call_back":
        return None
    return local_moment(demo.today + timedelta(days=demo.rng.randint(1, within_days)), time(12))


def confirmation_calls(demo):
    """Calls confirming tomorrow's visits (the confirmed ones already made,
    two forgotten since yesterday and overdue) and those of the last days
    done. A visit that took place leaves no confirmation call open."""
    texts = demo.texts["tasks"]["regular_calls"]
    caller = demo.staff["callcenter"]
    ahead = [v for v in demo.visits if v.status in ("booked", "confirmed") and local_day(v.starts_at) > demo.today]
    next_day = min(local_day(v.starts_at) for v in ahead)
    forgotten = 2
    for visit in sorted((v for v in ahead if local_day(v.starts_at) == next_day), key=lambda v: v.starts_at):
        due = local_moment(demo.today, time(18))
        if visit.status == "confirmed":
            new_task(demo, "regular_calls", texts["title"], due, rule="confirm_tomorrow", patient=visit.patient,
                     visit=visit, assignee=caller, result="reached", outcome=texts["outcomes"]["reached"])
        else:
            if forgotten:
                due, forgotten = local_moment(demo.today - timedelta(days=1), time(18)), forgotten - 1
            new_task(demo, "regular_calls", texts["title"], due, rule="confirm_tomorrow", patient=visit.patient,
                     visit=visit, assignee=caller)
    recent = [
        v for v in demo.visits
        if demo.today - timedelta(days=10) <= local_day(v.starts_at) < demo.today and v.status == "done"
    ]
    for visit in demo.rng.sample(recent, min(12, len(recent))):
        due = local_moment(local_day(visit.starts_at) - timedelta(days=1), time(18))
        result = demo.weighted({"reached": 8, "no_answer": 2})
        new_task(demo, "regular_calls", texts["title"], due, rule="confirm_tomorrow", patient=visit.patient,
                 visit=visit, assignee=caller, result=result, outcome=texts["outcomes"][result])


def care_calls(demo):
    """The day after surgery: how is the patient?"""
    texts = demo.texts["tasks"]["care_calls"]
    for visit in demo.visits:
        day = local_day(visit.starts_at)
        if not (visit.status == "done" and visit.kind == "treatment"
                and visit.doctor.specialty.code in ("surgery", "implantology")
                and demo.today - timedelta(days=14) <= day):
            continue
        admin = demo.rng.choice(demo.with_role("administrator", visit.clinic))
        due = local_moment(day + timedelta(days=1), time(12))
        if due < demo.now and demo.rng.random() < 0.8:
            result = demo.weighted({"reached": 8, "no_answer": 2})
            new_task(demo, "care_calls", texts["title"], due, rule="care_call_after_surgery", patient=visit.patient,
                     visit=visit, assignee=admin, result=result, outcome=texts["outcomes"][result])
        else:
            new_task(demo, "care_calls", texts["title"], due, rule="care_call_after_surgery", patient=visit.patient,
                     visit=visit, assignee=admin)


def plan_calls(demo):
    """Presented plans are called about (some patients are left without a
    call-back date: they show up as lost); declined plans record the
    refusal; plans whose next stage is not booked get a continuation call."""
    rng, texts = demo.rng, demo.texts["tasks"]["scheduled_calls"]
    caller = demo.staff["callcenter"]
    booked_ahead = {v.patient for v in demo.visits if v.status in ("booked", "confirmed")}
    for plan in demo.plans:
        coordinator = plan.coordinator
        if plan.status == "presented" and rng.random() < 0.7:
            due = plan.presented_at + timedelta(days=2)
            if due >= demo.now:
                new_task(demo, "scheduled_calls", texts["plan_title"], due, rule="plan_continuation",
                         patient=plan.patient, plan=plan, assignee=coordinator)
                continue
            result = demo.weighted({"call_back": 6, "no_answer": 2, "none": 2})
            if result == "none":
                new_task(demo, "scheduled_calls", texts["plan_title"], due, rule="plan_continuation",
                         patient=plan.patient, plan=plan, assignee=coordinator)
                continue
            call_back = call_back_time(demo, result, within_days=10)
            new_task(demo, "scheduled_calls", texts["plan_title"], due, rule="plan_continuation",
                     patient=plan.patient, plan=plan, assignee=coordinator, result=result,
                     outcome=texts["outcomes"][result], call_back_at=call_back)
        elif plan.status == "declined":
            new_task(demo, "scheduled_calls", texts["plan_title"], plan.presented_at + timedelta(days=1),
                     rule="plan_continuation", patient=plan.patient, plan=plan, assignee=coordinator,
                     result="refused", outcome=plan.decline_reason)
        elif plan.status in ("accepted", "in_progress") and plan.patient not in booked_ahead:
            due = local_moment(demo.today + timedelta(days=rng.randint(0, 5)), time(11))
            new_task(demo, "scheduled_calls", texts["continue_title"], due, rule="plan_continuation",
                     patient=plan.patient, plan=plan, assignee=caller)


def recall_calls(demo):
    """Six-month hygiene recalls of patients not seen in the last two months."""
    rng, texts = demo.rng, demo.texts["tasks"]["scheduled_calls"]
    seen = {v.patient for v in demo.visits}
    unseen = [p for p in demo.patients if p.status == "active" and p not in seen and demo.age(p) >= 14]
    for patient in rng.sample(unseen, min(10, len(unseen))):
        due = local_moment(demo.today + timedelta(days=rng.randint(-4, 10)), time(11))
        if due < demo.now and rng.random() < 0.7:
            result = demo.weighted({"booked": 3, "no_answer": 3, "call_back": 2})
            call_back = call_back_time(demo, result, within_days=20)
            new_task(demo, "scheduled_calls", texts["recall_title"], due, rule="hygiene_recall", patient=patient,
                     assignee=demo.staff["callcenter"], result=result, outcome=texts["outcomes"][result],
                     call_back_at=call_back)
        else:
            new_task(demo, "scheduled_calls", texts["recall_title"], due, rule="hygiene_recall", patient=patient,
                     assignee=demo.staff["callcenter"])


def birthday_calls(demo):
    texts = demo.texts["tasks"]["birthdays"]
    for patient in demo.vip:
        days = days_to_birthday(demo.today, patient.birth_date)
        if abs(days) > 20:
            continue
        due = local_moment(demo.today + timedelta(days=days), time(10))
        assignee = patient.coordinator or demo.staff["coordinator"]
        if due < demo.now:
            new_task(demo, "birthdays", texts["title"], due, rule="vip_birthday", patient=patient, assignee=assignee,
                     result="reached", outcome=texts["outcomes"]["reached"])
        else:
            new_task(demo, "birthdays", texts["title"], due, rule="vip_birthday", patient=patient, assignee=assignee)


def overdue_visit_calls(demo):
    """Missed visits: older ones called back, the last few days still open."""
    texts = demo.texts["tasks"]["overdue_visits"]
    missed = sorted((v for v in demo.visits if v.status == "no_show"), key=lambda v: v.starts_at, reverse=True)
    for index, visit in enumerate(missed[:22]):
        due = visit.ends_at + timedelta(hours=1)
        if local_day(visit.starts_at) >= demo.today - timedelta(days=5) or index % 7 == 3:
            new_task(demo, "overdue_visits", texts["title"], due, rule="overdue_visit", patient=visit.patient,
                     visit=visit, assignee=demo.staff["callcenter"] if index % 2 else None)
            continue
        result = demo.weighted({"booked": 5, "refused": 1, "no_answer": 2, "call_back": 2})
        call_back = call_back_time(demo, result, within_days=7)
        new_task(demo, "overdue_visits", texts["title"], due, rule="overdue_visit", patient=visit.patient, visit=visit,
                 assignee=demo.staff["callcenter"], result=result, outcome=texts["outcomes"][result],
                 call_back_at=call_back)


def document_tasks(demo):
    """Unsigned documents of patients coming soon: sign before treatment."""
    title = demo.texts["tasks"]["documents"]["title"]
    reminded = set()
    for document, visit in sorted(demo.documents, key=lambda pair: pair[1].starts_at):
        if visit.patient in reminded or len(reminded) == 15:
            continue
        reminded.add(visit.patient)
        due_day = max(demo.today, local_day(visit.starts_at) - timedelta(days=1))
        admin = demo.rng.choice(demo.with_role("administrator", visit.clinic))
        new_task(demo, "documents", title, local_moment(due_day, time(18)), rule="unsigned_documents",
                 patient=visit.patient, visit=visit, assignee=admin)


def archive_tasks(demo):
    """Paper cards of patients who left go to the archive."""
    texts = demo.texts["tasks"]["archive"]
    for index, patient in enumerate(p for p in demo.patients if p.status != "active"):
        due = local_moment(demo.today - timedelta(days=3 + index * 2), time(16))
        admin = demo.rng.choice(demo.with_role("administrator", patient.home_clinic))
        if index % 4 == 1:
            new_task(demo, "archive", texts["title"], due, patient=patient, assignee=admin)
        else:
            new_task(demo, "archive", texts["title"], due, patient=patient, assignee=admin, done=True,
                     outcome=texts["outcome"])


# --- money -------------------------------------------------------------------


def seed_billing(demo):
    """An invoice per payer for every performed visit; most are paid at once,
    a few patients owe, a few have paid an advance on their plan."""
    rng = demo.rng
    visits = sorted(demo.performed, key=lambda v: v.finished_at)
    self_payers = list(dict.fromkeys(v.patient for v in visits if v.patient not in demo.policies))
    debtors = rng.sample(self_payers, 8)
    debts = defaultdict(list)
    for visit in visits:
        for insured in (False, True):
            lines = [line for line in demo.performed[visit] if line.insured == insured]
            if not lines:
                continue
            invoice, total = issue_invoice(demo, visit, lines, insured)
            if insured:
                if invoice.issued_at < demo.now - timedelta(days=14):
                    pay(demo, invoice, total, method="insurance")
            elif visit.patient in debtors:
                debts[visit.patient].append((invoice, total))
            else:
                pay(demo, invoice, total)
    for patient in debtors:
        *settled, (invoice, total) = debts[patient]
        for earlier, earlier_total in settled:
            pay(demo, earlier, earlier_total)
        part = (total * Decimal(rng.choice((0, 30, 50))) / 100).quantize(Decimal("1"))
        if part:
            pay(demo, invoice, part, settles=False)
            invoice.status = "partly_paid"
            invoice.note = demo.texts["debt_note"]
        demo.add(PatientTag(patient=patient, tag="debtor"))
    seed_deposits(demo)
    number_in_order(demo)


def number_in_order(demo):
    """Invoices and receipts numbered as the cash desk numbers them: per
    branch and year, in the order they were issued and paid
    (billing.numbering), so the first one the panel makes follows on."""
    demo.session.flush()
    for rows, letters, moment, column in (
        (demo.invoices, "INV", lambda row: row.issued_at, "number"),
        (demo.payments, "R", lambda row: row.paid_at, "receipt_number"),
    ):
        counters = defaultdict(int)
        for row in sorted(rows, key=lambda row: (moment(row), row.id)):
            year = moment(row).astimezone(MOSCOW).year
            counters[row.clinic.id, year] += 1
            setattr(row, column, f"{letters}{row.clinic.id}-{year}-{counters[row.clinic.id, year]:06d}")


def issue_invoice(demo, visit, lines, insured):
    """The invoice of a visit's lines for one payer, and its total."""
    issued_at = visit.finished_at + demo.minutes(2, 10)
    policy = demo.policies.get(visit.patient)
    invoice = Invoice(
        number=f"DEMO-{len(demo.invoices) + 1}",
        patient=visit.patient,
        clinic=visit.clinic,
        appointment=visit,
        payer_kind="insurance" if insured else "self",
        insurance_company=policy.company if insured else None,
        issued_at=issued_at,
        status="issued",
        created_at=issued_at,
    )
    demo.add(invoice)
    demo.invoices.append(invoice)
    vip_discount = not insured and visit.patient in demo.vip
    total = Decimal("0.00")
    for line in lines:
        gross = line.price * line.quantity
        discount = (gross * Decimal("0.10")).quantize(Decimal("0.01")) if vip_discount else Decimal("0.00")
        demo.add(
            InvoiceLine(
                invoice=invoice,
                service=line.service,
                plan_item=line.plan_item,
                tooth=line.tooth,
                quantity=line.quantity,
                price=line.price,
                discount=discount,
            )
        )
        total += gross - discount
    return invoice, total


def pay(demo, invoice, amount, method=None, settles=True):
    """A payment of ``invoice`` at the desk (or by the insurer a fortnight on)."""
    if method == "insurance":
        paid_at = invoice.issued_at + timedelta(days=14)
    else:
        paid_at = invoice.issued_at + demo.minutes(1, 15)
    payment = Payment(
        patient=invoice.patient,
        invoice=invoice,
        clinic=invoice.clinic,
        method=method or demo.weighted(PAYMENT_METHODS),
        amount=amount,
        paid_at=paid_at,
        received_by=demo.rng.choice(demo.with_role("cashier", invoice.clinic)),
        receipt_number=f"DEMO-R-{len(demo.payments) + 1}",
        created_at=paid_at,
    )
    demo.add(payment)
    demo.payments.append(payment)
    if settles:
        invoice.status = "paid"


def seed_deposits(demo):
    """Advances paid on accepted plans that are not finished yet."""
    rng = demo.rng
    plans = [p for p in demo.plans if p.status in ("accepted", "in_progress") and p.payer_kind == "self"]
    for plan in rng.sample(plans, min(8, len(plans))):
        items = [i for s in demo.chosen[plan].stages for i in s.items if not i.removed and i.performed_at is None]
        amount = max(Decimal(5000), round(sum(i.price * i.quantity for i in items) * Decimal("0.3"), -3))
        paid_at = demo.before_now(plan.accepted_at + demo.minutes(10, 60), 30)
        payment = Payment(
            patient=plan.patient,
            clinic=plan.clinic,
            method=demo.weighted({"card": 7, "cash": 2, "online": 1}),
            amount=amount,
            paid_at=paid_at,
            received_by=rng.choice(demo.with_role("cashier", plan.clinic)),
            receipt_number=f"DEMO-R-{len(demo.payments) + 1}",
            note=demo.texts["deposit_note"],
            created_at=paid_at,
        )
        demo.add(payment)
        demo.payments.append(payment)


# --- staff time --------------------------------------------------------------


def seed_time_clock(demo):
    """Clock-in and clock-out for every shift that has begun: the past ones
    closed, a few late; today's still open while the shift runs; a day
    missed now and then."""
    rng = demo.rng
    for shift in demo.shifts:
        if shift.starts_at > demo.now or rng.random() < 0.02:
            continue
        late = rng.random() < 0.08
        clock_in = shift.starts_at + (demo.minutes(5, 25) if late else -demo.minutes(0, 15))
        clock_out = shift.ends_at + demo.minutes(-5, 40)
        demo.add(
            TimeClock(
                staff=shift.staff,
                clinic=shift.clinic,
                clock_in=min(clock_in, demo.now),
                clock_out=clock_out if clock_out < demo.now else None,
                note=demo.texts["late_note"] if late else None,
            )
        )

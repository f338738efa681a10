"""The money and the time clock on large data, printed for the issue note
(not timed assertions), each beside the same queries run bare:

- the cashier's page and the balance (screen and API) of a patient with
  1 000 invoices (target ≤ 100 ms);
- the cash desk's day report of a branch with a year of payments (≤ 300 ms);
- the monthly timesheet of a 60-person network (≤ 1 s).

    pytest tests/benchmarks/test_money_bench.py -s                            # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        pytest tests/benchmarks/test_money_bench.py -s                        # PostgreSQL
"""
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import insert, select

from stompro.billing.day_report import day_report
from stompro.billing.desk import patient_invoices
from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.billing.services import patient_balance
from stompro.catalog.models import Service
from stompro.extensions import db
from stompro.org.models import Clinic, Staff, StaffRole
from stompro.patients.models import Patient
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Shift
from stompro.timeclock.models import TimeClock
from stompro.timeclock.sheet import branch_sheets, timesheets

from .common import p50, seeded_app, signed_in_client, timings_ms

RUNS = 30
INVOICES = 1000
YEAR_OF_PAYMENTS = 36_500  # a hundred a day
PEOPLE = 60
MONTH = date(2026, 10, 1)
NOW = datetime(2026, 11, 30, 9, tzinfo=timezone.utc)


def _bare_ms(call, runs=RUNS):
    times = []
    for _ in range(runs):
        started = clock.perf_counter()
        call()
        times.append((clock.perf_counter() - started) * 1000)
    return p50(times)


def _patient_with_1000_invoices(clinic, cashier, service):
    patient = Patient(last_name="Счетова", first_name="Мария", birth_date=date(1975, 1, 1), phone="+79169990001")
    db.session.add(patient)
    db.session.flush()
    start = NOW - timedelta(days=INVOICES)
    invoices = [{"number": f"BENCH-{n}", "patient_id": patient.id, "clinic_id": clinic.id, "payer_kind": "self",
                 "issued_at": start + timedelta(days=n), "status": "paid" if n < INVOICES - 5 else "issued",
                 "created_at": NOW, "updated_at": NOW} for n in range(INVOICES)]
    db.session.execute(insert(Invoice), invoices)
    ids = db.session.execute(select(Invoice.id, Invoice.number).where(Invoice.patient_id == patient.id)).all()
    lines, payments = [], []
    for invoice_id, number in ids:
        n = int(number.split("-")[1])
        for tooth in (36, 46):
            lines.append({"invoice_id": invoice_id, "service_id": service.id, "tooth": tooth, "quantity": 1,
                          "price": Decimal("2500.00"), "discount": Decimal("0.00"), "created_at": NOW,
                          "updated_at": NOW})
        if n < INVOICES - 5:
            payments.append({"patient_id": patient.id, "invoice_id": invoice_id, "clinic_id": clinic.id,
                             "method": "card", "amount": Decimal("5000.00"), "paid_at": start + timedelta(days=n),
                             "received_by_id": cashier.id, "receipt_number": f"BENCH-R-{n}", "created_at": NOW,
                             "updated_at": NOW})
    db.session.execute(insert(InvoiceLine), lines)
    db.session.execute(insert(Payment), payments)
    db.session.commit()
    return patient.id


def _a_year_of_payments(clinic, cashiers):
    patients = db.session.execute(select(Patient.id).limit(200)).scalars().all()
    start = NOW - timedelta(days=365)
    rows = [{"patient_id": patients[n % len(patients)], "clinic_id": clinic.id,
             "method": ("cash", "card", "online")[n % 3], "amount": Decimal(500 + n % 40 * 100),
             "paid_at": start + timedelta(minutes=n * 365 * 24 * 60 // YEAR_OF_PAYMENTS),
             "received_by_id": cashiers[n % len(cashiers)].id, "receipt_number": f"YEAR-{n}", "created_at": NOW,
             "updated_at": NOW} for n in range(YEAR_OF_PAYMENTS)]
    db.session.execute(insert(Payment), rows)
    db.session.commit()


def _sixty_people_a_month(clinics):
    """60 people over the branches, a shift every working day of MONTH and its clock-in and out."""
    people = []
    for n in range(PEOPLE):
        person = Staff(login=f"bench{n}", password_hash="-", last_name=f"Сотрудник{n:02d}", first_name="Тест",
                       clinics=[clinics[n % len(clinics)]])
        person.role_rows.append(StaffRole(role="doctor"))
        people.append(person)
    db.session.add_all(people)
    db.session.flush()
    shifts, entries = [], []
    day = MONTH
    while day.month == MONTH.month:
        if day.weekday() < 5:
            for n, person in enumerate(people):
                clinic = clinics[n % len(clinics)]
                starts, ends = at_local(clinic, day, time(9)), at_local(clinic, day, time(18))
                shifts.append({"staff_id": person.id, "clinic_id": clinic.id, "work_date": day, "starts_at": starts,
                               "ends_at": ends, "created_at": NOW, "updated_at": NOW})
                if (n + day.day) % 17:  # now and then somebody is absent
                    entries.append({"staff_id": person.id, "clinic_id": clinic.id,
                                    "clock_in": starts + timedelta(minutes=(n * day.day) % 23 - 8),
                                    "clock_out": ends + timedelta(minutes=(n + day.day) % 41 - 10),
                                    "created_at": NOW, "updated_at": NOW})
        day += timedelta(days=1)
    db.session.execute(insert(Shift), shifts)
    db.session.execute(insert(TimeClock), entries)
    db.session.commit()
    return len(shifts), len(entries)


def test_the_money_screens_and_the_timesheet_on_large_data(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.app_context():
            clinics = db.session.execute(select(Clinic).order_by(Clinic.id)).scalars().all()
            center = clinics[0]
            cashiers = [s for s in db.session.execute(select(Staff)).scalars() if "cashier" in s.roles]
            service = db.session.execute(select(Service).order_by(Service.id)).scalars().first()
            patient_id = _patient_with_1000_invoices(center, cashiers[0], service)
            _a_year_of_payments(center, cashiers)
            shift_count, entry_count = _sixty_people_a_month(clinics)
            center_id = center.id
            db.session.remove()

        cashier = signed_in_client(app, "cashier")
        owner = signed_in_client(app, "owner")
        page = f"/admin/cash-desk/patient/{patient_id}"
        cashier.get(page)
        wall, cpu = timings_ms(lambda run: cashier.get(page), RUNS)
        from stompro.api.auth import issue_token

        with app.app_context():
            token = issue_token(db.session.execute(select(Staff).filter_by(login="cashier")).scalar_one())
            patient = db.session.get(Patient, patient_id)
            me = db.session.execute(select(Staff).filter_by(login="cashier")).scalar_one()
            bare_balance = _bare_ms(lambda: patient_balance(db.session, patient))
            bare_invoices = _bare_ms(lambda: patient_invoices(db.session, patient, me))
            balance = patient_balance(db.session, patient)
        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        api_wall, _ = timings_ms(lambda run: api.get(f"/api/v1/patients/{patient_id}/balance", headers=headers), RUNS)
        print(f"\n[{dialect}] the cashier's page of a patient with {INVOICES} invoices: p50 {p50(wall):.1f} ms "
              f"(CPU {p50(cpu):.1f} ms); its queries bare: the balance {bare_balance:.1f} ms, the invoices "
              f"{bare_invoices:.1f} ms; owes {balance.owed}")
        print(f"[{dialect}] GET /api/v1/patients/<id>/balance with {INVOICES} invoices: p50 {p50(api_wall):.1f} ms")

        day = (NOW - timedelta(days=1)).date()
        report_url = f"/admin/cash-desk/day?clinic={center_id}&day={day.isoformat()}"
        cashier.get(report_url)
        wall, cpu = timings_ms(lambda run: cashier.get(report_url), RUNS)
        pdf_wall, _ = timings_ms(lambda run: cashier.get(report_url.replace("/day?", "/day.pdf?")), 5)
        with app.app_context():
            center = db.session.get(Clinic, center_id)
            bare_report = _bare_ms(lambda: day_report(db.session, center, day))
            payments = db.session.query(Payment).filter_by(clinic_id=center_id).count()
        print(f"[{dialect}] the day report of a branch with {payments} payments: p50 {p50(wall):.1f} ms "
              f"(CPU {p50(cpu):.1f} ms), its PDF {p50(pdf_wall):.1f} ms; its queries bare {bare_report:.1f} ms")

        sheet_url = f"/admin/timesheet/?clinic={center_id}&month={MONTH:%Y-%m}"
        owner.get(sheet_url)
        wall, cpu = timings_ms(lambda run: owner.get(sheet_url), 10)
        csv_wall, _ = timings_ms(lambda run: owner.get(sheet_url.replace("/?", "/sheet.csv?")), 5)
        with app.app_context():
            bare_network = _bare_ms(lambda: timesheets(db.session, MONTH, now=NOW), 10)
            center = db.session.get(Clinic, center_id)
            bare_branch = _bare_ms(lambda: branch_sheets(db.session, center, MONTH, now=NOW), 10)
            people = len(timesheets(db.session, MONTH, now=NOW))
        print(f"[{dialect}] the monthly timesheet ({shift_count} shifts, {entry_count} entries of {PEOPLE} new "
              f"people and the demo's): the branch page p50 {p50(wall):.1f} ms (CPU {p50(cpu):.1f} ms), its CSV "
              f"{p50(csv_wall):.1f} ms; bare: the branch {bare_branch:.1f} ms, the whole network ({people} people) "
              f"{bare_network:.1f} ms")

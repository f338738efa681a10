"""Twenty cashiers of one branch issue an invoice and take its payment at the
same moment on PostgreSQL: the invoices are numbered 1…20 and the receipts
1…20 of the branch's year, none twice and none skipped (billing.numbering).

The threads commit for real from their own connections, so the test builds
its own app on a scratch database with a few rows of its own."""
import re
import threading
from datetime import date, time
from decimal import Decimal

import pytest
from sqlalchemy import select

from stompro import create_app
from stompro.billing.models import Invoice, Payment
from stompro.billing.services import add_line, create_invoice, record_payment, set_invoice_status
from stompro.catalog.models import Service
from stompro.extensions import db
from stompro.org.models import Clinic, Specialty, Staff, StaffRole
from stompro.patients.models import Patient

from .. import pg

CASHIERS = 20


@pytest.fixture
def race_app(tmp_path):
    with pg.scratch_database(pg.require_server(), prefix="stompro_numbers") as url:
        app = create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO_ON_FIRST_START": False,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": CASHIERS + 5}, "SECRET_KEY": "race-secret",
            "DEFAULT_LANGUAGE": "en", "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        })
        with app.app_context():
            db.create_all()
            yield app
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def branch(race_app):
    clinic = Clinic(name="Race branch", address="Test street 1", opens_at=time(8), closes_at=time(20))
    cashiers = []
    for n in range(CASHIERS):
        cashier = Staff(login=f"cashier{n}", password_hash="-", last_name=f"Cashier{n}", first_name="Test",
                        clinics=[clinic])
        cashier.role_rows.append(StaffRole(role="cashier"))
        cashiers.append(cashier)
    patients = [Patient(last_name=f"Patient{n}", first_name="Test", birth_date=date(1980, 1, 1),
                        phone=f"+7916{n:07d}") for n in range(CASHIERS)]
    specialty = Specialty(code="therapy", name_en="Therapy", name_ru="Терапия")
    service = Service(code="T-1", name_en="Filling", name_ru="Пломба", specialty=specialty, duration_min=30)
    db.session.add_all([clinic, *cashiers, *patients, specialty, service])
    db.session.commit()
    ids = {"clinic": clinic.id, "cashiers": [c.id for c in cashiers], "patients": [p.id for p in patients],
           "service": service.id}
    db.session.remove()
    return ids


def test_twenty_cashiers_number_invoices_and_receipts_without_gaps(race_app, branch):
    barrier = threading.Barrier(CASHIERS)
    failures = []

    def issue_and_pay(n):
        with race_app.app_context():
            try:
                cashier = db.session.get(Staff, branch["cashiers"][n])
                clinic, patient = db.session.get(Clinic, branch["clinic"]), db.session.get(Patient, branch["patients"][n])
                barrier.wait()
                invoice = create_invoice(db.session, cashier, patient=patient, clinic=clinic)
                add_line(db.session, cashier, invoice=invoice, service=db.session.get(Service, branch["service"]),
                         price=Decimal("1500.00"))
                set_invoice_status(db.session, cashier, invoice, "issued")
                record_payment(db.session, cashier, invoice=invoice, method="cash", amount=Decimal("1500.00"))
                db.session.commit()
            except Exception as error:  # noqa: BLE001 — reported below with the thread's number
                failures.append((n, repr(error)))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue_and_pay, args=(n,)) for n in range(CASHIERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    numbers = db.session.execute(select(Invoice.number)).scalars().all()
    receipts = db.session.execute(select(Payment.receipt_number)).scalars().all()
    for found, letters in ((numbers, "INV"), (receipts, "R")):
        assert all(re.fullmatch(rf"{letters}{branch['clinic']}-\d{{4}}-\d{{6}}", number) for number in found), found
        assert sorted(int(number[-6:]) for number in found) == list(range(1, CASHIERS + 1))
    assert set(db.session.execute(select(Invoice.status)).scalars()) == {"paid"}

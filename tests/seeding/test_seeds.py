"""Seeds load through the ORM, deterministically, and twice without duplicates."""
from sqlalchemy import func, select

from stompro.catalog.models import PriceListItem, Protocol, Service
from stompro.chart.models import Condition, Diagnosis
from stompro.extensions import db
from stompro.org.models import Clinic, Room, Specialty, Staff
from stompro.patients.models import Patient
from stompro.planning.models import PLAN_STATUSES, TreatmentPlan
from stompro.seeding.loader import seed

API_CONDITIONS = {
    "healthy", "caries", "filling", "pulpitis", "apical_periodontitis", "root_canal_treated", "crown",
    "missing", "implant", "extraction_indicated", "mobility", "calculus", "gingivitis", "periodontitis",
    "fracture", "impacted",
}
API_SPECIALTIES = {
    "diagnostics", "hygiene", "therapy", "endodontics", "periodontology", "surgery", "implantology",
    "orthodontics", "prosthetics",
}


def table_counts():
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name != "audit_log"
    }


def test_seeding_twice_creates_no_duplicates(app):
    before = table_counts()
    seed("reference")
    seed("demo")
    assert table_counts() == before


def test_reference_data_has_the_codes_the_api_promises(app):
    assert API_CONDITIONS <= set(db.session.scalars(select(Condition.code)))
    assert API_SPECIALTIES == set(db.session.scalars(select(Specialty.code)))


def test_the_price_list_is_realistic(app):
    assert db.session.scalar(select(func.count(Service.id))) >= 120
    priced = db.session.scalar(select(func.count(PriceListItem.id)))
    assert priced >= 120
    cheapest = db.session.scalar(select(func.min(PriceListItem.price)))
    assert cheapest > 0


def test_every_condition_that_needs_treatment_has_a_protocol_per_tier(app):
    needing = db.session.scalars(select(Condition).where(Condition.needs_treatment)).all()
    assert needing
    for condition in needing:
        tiers = set(db.session.scalars(select(Protocol.tier).where(Protocol.condition_id == condition.id)))
        assert tiers == {"premium", "optimal", "economy"}, condition.code


def test_icd10_covers_k00_to_k14(app):
    codes = set(db.session.scalars(select(Diagnosis.code)))
    assert {code[:3] for code in codes} >= {f"K{n:02d}" for n in range(0, 15)}


def test_the_demo_clinic_is_big_enough(app):
    assert db.session.scalar(select(func.count(Clinic.id))) == 2
    assert db.session.scalar(select(func.count(Room.id))) >= 8
    assert db.session.scalar(select(func.count(Staff.id))) >= 14
    assert db.session.scalar(select(func.count(Patient.id))) >= 300
    statuses = set(db.session.scalars(select(TreatmentPlan.status)))
    assert statuses == set(PLAN_STATUSES)


def test_demo_invoices_and_receipts_are_numbered_as_the_desk_numbers_them(app):
    """Per branch and year, 1, 2, 3… in the order issued and paid, so the first invoice the panel makes follows on;
    an invoice's status follows its payments."""
    from stompro.billing.models import Invoice, Payment
    from stompro.billing.services import invoice_due

    for model, column, moment, letters in ((Invoice, Invoice.number, Invoice.issued_at, "INV"),
                                           (Payment, Payment.receipt_number, Payment.paid_at, "R")):
        rows = db.session.execute(select(model.clinic_id, column).order_by(moment, model.id)).all()
        by_branch = {}
        for clinic_id, number in rows:
            by_branch.setdefault((clinic_id, number.split("-")[1]), []).append(number)
        for (clinic_id, _year), numbers in by_branch.items():
            assert all(number.startswith(f"{letters}{clinic_id}-") for number in numbers)
            assert [int(number[-6:]) for number in numbers] == list(range(1, len(numbers) + 1))
    for invoice in db.session.execute(select(Invoice).where(Invoice.status.in_(("issued", "partly_paid", "paid")),
                                                            Invoice.deleted_at.is_(None))).scalars():
        due, total = invoice_due(db.session, invoice), invoice.total
        expected = "paid" if due == 0 else "issued" if due == total else "partly_paid"
        assert invoice.status == expected, invoice.number

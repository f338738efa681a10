"""``flask bench-data``: a clinic network generated in bulk, here at a small
size on fresh databases of the tests' own (SQLite; and PostgreSQL, with its
exclusion constraints, when a server answers): the counts asked for, the
same data from the same seed, no overlapping visits, invoices paid as their
lines add up, and no run over real data without --force."""
import hashlib
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from stompro import create_app
from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.db import utcnow
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.org.models import Clinic, StaffRole
from stompro.patients.models import Patient
from stompro.planning.models import PlanVariant, TreatmentPlan
from stompro.reports.bench_data import MOSCOW, generate
from stompro.scheduling.models import Appointment
from stompro.seeding.loader import seed

from .. import pg

SIZE = {"branches": 2, "doctors": 4, "patients": 200, "visits": 2000}
NOW = utcnow()  # one "today" for every run here, so that two runs of a seed can match
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def fresh_app(dialect, tmp_path, name):
    """An app on a new database with the reference data only."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        with _app(url, tmp_path) as app:
            yield app
        return
    with pg.scratch_database(pg.require_server(), prefix="stompro_benchdata") as url:
        with _app(url, tmp_path) as app:
            yield app


@contextmanager
def _app(url, tmp_path):
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO_ON_FIRST_START": False,
        "SECRET_KEY": "bench-data", "DEFAULT_LANGUAGE": "en", "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    })
    with app.app_context():
        db.create_all()
        seed("reference")
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def generated(seed_value=1):
    counts = generate(db.session, **SIZE, seed=seed_value, now=NOW)
    db.session.commit()
    return counts


@pytest.fixture(scope="module", params=DIALECTS)
def network(request, tmp_path_factory):
    """(dialect, counts) of the small network generated with seed 1 on a
    fresh database, whose app context is pushed."""
    with fresh_app(request.param, tmp_path_factory.mktemp("bench"), "network") as app:
        counts = generated()
        yield request.param, counts, app


def checksum():
    """What two runs of a seed must share: the visits, the patients and the money."""
    digest = hashlib.sha256()
    for query in (
        select(Appointment.id, Appointment.doctor_id, Appointment.room_id, Appointment.patient_id,
               Appointment.starts_at, Appointment.ends_at, Appointment.status, Appointment.kind,
               Appointment.cancelled_at).order_by(Appointment.id),
        select(Patient.id, Patient.last_name, Patient.first_name, Patient.phone, Patient.created_at).order_by(Patient.id),
        select(Invoice.number, Invoice.status, InvoiceLine.service_id, InvoiceLine.price)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id).order_by(InvoiceLine.id),
        select(Payment.amount, Payment.method, Payment.paid_at).order_by(Payment.id),
    ):
        for row in db.session.execute(query):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_writes_what_was_asked(network):
    _, counts, _ = network
    assert counts["clinic"] == 2
    assert counts["patient"] == 200
    assert counts["appointment"] == 2000
    assert counts["treatment_plan"] == 50
    assert counts["plan_variant"] == 150
    assert db.session.scalar(select(func.count()).where(StaffRole.role == "doctor")) == 4
    for table, count in counts.items():  # the database held only the reference data
        assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == count, table
    names = db.session.execute(select(Clinic.name).order_by(Clinic.name)).scalars().all()
    assert names == ["Bench branch 1", "Bench branch 2"]


def test_the_same_seed_makes_the_same_data(network, tmp_path):
    dialect, counts, _ = network
    first = checksum()
    with fresh_app(dialect, tmp_path, "again"):
        assert generated() == counts
        assert checksum() == first
    with fresh_app(dialect, tmp_path, "other"):
        generated(seed_value=2)
        assert checksum() != first


@pytest.mark.parametrize("column", ["doctor_id", "room_id", "patient_id"])
def test_no_two_live_visits_of_a_doctor_chair_or_patient_overlap(network, column):
    overlapping = db.session.execute(text(f"""
        SELECT count(*) FROM appointment a JOIN appointment b
          ON a.{column} = b.{column} AND a.id < b.id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
        WHERE a.status NOT IN ('no_show', 'cancelled') AND b.status NOT IN ('no_show', 'cancelled')
          AND a.deleted_at IS NULL AND b.deleted_at IS NULL""")).scalar_one()
    assert overlapping == 0


def test_visits_lie_in_their_doctors_shifts_and_a_patient_comes_once_a_day(network):
    outside = db.session.execute(text("""
        SELECT count(*) FROM appointment a WHERE NOT EXISTS (
            SELECT 1 FROM shift s WHERE s.staff_id = a.doctor_id AND s.room_id = a.room_id
               AND s.clinic_id = a.clinic_id AND s.starts_at <= a.starts_at AND a.ends_at <= s.ends_at)""")).scalar_one()
    assert outside == 0
    days = [(patient, starts.astimezone(MOSCOW).date())
            for patient, starts in db.session.execute(select(Appointment.patient_id, Appointment.starts_at))]
    assert len(days) == len(set(days))


def test_visit_statuses_follow_the_clock(network):
    rows = db.session.execute(select(Appointment.status, Appointment.starts_at, Appointment.ends_at,
                                     Appointment.cancelled_at, Appointment.cancel_reason, Appointment.finished_at,
                                     Appointment.created_at)).all()
    past = [row for row in rows if row.ends_at <= NOW]
    shares = {status: sum(row.status == status for row in past) / len(past) for status in ("done", "no_show", "cancelled")}
    assert 0.75 < shares["done"] < 0.89 and 0.02 < shares["no_show"] < 0.11 and 0.07 < shares["cancelled"] < 0.17
    assert {row.status for row in rows if row.starts_at >= NOW} <= {"booked", "confirmed", "cancelled"}
    cancelled = [row for row in rows if row.status == "cancelled"]
    assert all(row.cancel_reason and row.created_at <= row.cancelled_at <= min(row.starts_at, NOW) for row in cancelled)
    late = [row for row in cancelled if row.starts_at <= NOW and row.starts_at - row.cancelled_at < timedelta(hours=24)]
    assert 0.2 < len(late) / len([row for row in cancelled if row.starts_at <= NOW]) < 0.5
    assert all(row.finished_at and row.finished_at <= NOW for row in rows if row.status == "done")


def test_every_done_visit_has_an_invoice_paid_as_its_lines_add_up(network):
    lines = dict(db.session.execute(
        select(InvoiceLine.invoice_id, func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount))
        .group_by(InvoiceLine.invoice_id)).all())
    paid = dict(db.session.execute(
        select(Payment.invoice_id, func.sum(Payment.amount)).where(Payment.invoice_id.is_not(None))
        .group_by(Payment.invoice_id)).all())
    invoices = db.session.execute(select(Invoice.id, Invoice.status, Invoice.total, Invoice.appointment_id)).all()
    done = set(db.session.execute(select(Appointment.id).where(Appointment.status == "done")).scalars())
    assert sorted(invoice.appointment_id for invoice in invoices) == sorted(done)
    for invoice in invoices:
        total = Decimal(lines[invoice.id])
        assert Decimal(invoice.total) == total > 0
        received = Decimal(paid.get(invoice.id, 0))
        if invoice.status == "paid":
            assert received == total, invoice
        elif invoice.status == "partly_paid":
            assert 0 < received < total, invoice
        else:
            assert invoice.status == "issued" and received == 0, invoice
    statuses = {invoice.status for invoice in invoices}
    assert {"paid", "partly_paid"} <= statuses
    refunds = db.session.execute(select(Payment.amount, Payment.note).where(Payment.amount < 0)).all()
    assert all(note for _, note in refunds)


def test_plans_move_through_their_statuses_in_order(network):
    plans = db.session.execute(select(TreatmentPlan)).scalars().all()
    chosen, variants = Counter(), Counter()
    for plan_id, is_chosen in db.session.execute(select(PlanVariant.plan_id, PlanVariant.chosen)):
        chosen[plan_id] += is_chosen
        variants[plan_id] += 1
    assert len({plan.status for plan in plans}) >= 4
    for plan in plans:
        stamps = [moment for moment in (plan.created_at, plan.presented_at, plan.accepted_at, plan.completed_at) if moment]
        assert stamps == sorted(stamps) and stamps[-1] <= NOW
        assert (plan.presented_at is None) == (plan.status == "draft")
        assert (plan.decline_reason is not None) == (plan.status == "declined")
        assert chosen[plan.id] == (1 if plan.status in ("accepted", "in_progress", "completed") else 0)
        assert variants[plan.id] == 3


def test_refuses_a_database_with_patients_without_force(network):
    before = {table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
              for table in ("clinic", "staff", "patient", "appointment")}
    with pytest.raises(DomainError, match="already holds 200 patients.*--force"):
        generate(db.session, **SIZE, now=NOW)
    db.session.rollback()
    after = {table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in before}
    assert after == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_command_prints_the_counts_and_refuses_real_data_without_force(dialect, tmp_path):
    small = ["--branches", "1", "--doctors", "2", "--patients", "40", "--visits", "300", "--months", "2"]
    with fresh_app(dialect, tmp_path, "cli") as app:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["bench-data", *small])
        assert result.exit_code == 0, result.output
        assert "appointment" in result.output and " 300\n" in result.output
        assert "peak memory" in result.output
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 40

        refused = runner.invoke(args=["bench-data", *small])
        assert refused.exit_code == 1
        assert "already holds 40 patients" in refused.output
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 40

        forced = runner.invoke(args=["bench-data", *small, "--force", "--seed", "7"])
        assert forced.exit_code == 0, forced.output
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 80
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 600
        names = db.session.execute(select(Clinic.name).order_by(Clinic.name)).scalars().all()
        assert names == ["Bench branch 1", "Bench branch 2"]

"""Each figure against a small data set built by hand in a branch of its
own (in March 2026, before the demo's history), with the answer worked out
by hand in the test — not by the code under test."""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.catalog.models import Service
from stompro.extensions import db
from stompro.org.models import Clinic, Room, Staff, StaffRole
from stompro.patients.models import Patient
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from stompro.reports.registry import REPORTS
from stompro.reports.scope import Scope
from stompro.scheduling.models import Appointment, Closure, Shift

MOSCOW = ZoneInfo("Europe/Moscow")
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
_serial = count(1)


def at(day, clock):
    """A Moscow wall-clock time as a UTC moment."""
    return datetime.combine(day, time.fromisoformat(clock), MOSCOW).astimezone(timezone.utc)


class Branch:
    """One branch's rows for one test."""

    def __init__(self, owner):
        number = next(_serial)
        self.owner = owner
        self.clinic = Clinic(name=f"Report branch {number}-{id(self)}", address="Test street 1",
                             time_zone="Europe/Moscow")
        self.chairs = [Room(clinic=self.clinic, name=f"Chair {letter}", kind="chair") for letter in "AB"]
        db.session.add_all([self.clinic, *self.chairs])
        db.session.flush()
        self.services = db.session.execute(select(Service).order_by(Service.id).limit(3)).scalars().all()

    def scope(self, first=MARCH[0], last=MARCH[1]):
        return Scope(first, last, (self.clinic,), network=False)

    def doctor(self):
        number = next(_serial)
        person = Staff(login=f"report-doctor-{number}-{id(self)}", password_hash="-", last_name=f"Doctor{number}",
                       first_name="Test", clinics=[self.clinic])
        person.role_rows.append(StaffRole(role="doctor"))
        db.session.add(person)
        db.session.flush()
        return person

    def patient(self, created=None, source=None):
        number = next(_serial)
        person = Patient(last_name=f"Patient{number}", first_name="Test", birth_date=date(1980, 1, 1),
                         phone=f"+7917{number:07d}", home_clinic=self.clinic, source=source,
                         created_at=created or at(date(2025, 1, 10), "10:00"))
        db.session.add(person)
        db.session.flush()
        return person

    def visit(self, doctor, patient, starts_at, minutes=60, status="done", kind="treatment", chair=0, **more):
        visit = Appointment(clinic=self.clinic, room=self.chairs[chair], doctor=doctor, patient=patient,
                            starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), kind=kind,
                            status=status, cancel_reason="Test" if status == "cancelled" else None, **more)
        db.session.add(visit)
        db.session.flush()
        return visit

    def invoice(self, patient, issued_at, lines, visit=None, status="issued", **more):
        invoice = Invoice(number=f"T-{next(_serial)}-{id(self)}", patient=patient, clinic=self.clinic,
                          payer_kind="self", issued_at=issued_at, status=status, appointment=visit,
                          cancel_reason="Test" if status == "cancelled" else None, **more)
        db.session.add(invoice)
        for service, quantity, price, discount in lines:
            db.session.add(InvoiceLine(invoice=invoice, service=service, quantity=quantity, price=Decimal(price),
                                       discount=Decimal(discount)))
        db.session.flush()
        return invoice

    def payment(self, patient, method, amount, paid_at, **more):
        payment = Payment(patient=patient, clinic=self.clinic, method=method, amount=Decimal(amount),
                          paid_at=paid_at, **more)
        db.session.add(payment)
        db.session.flush()
        return payment


@pytest.fixture
def branch(app, owner):
    return Branch(owner)


def compute(name, scope, group_by):
    return REPORTS[name].compute(db.session, scope, group_by)


def by_label(report, column):
    return {row["label"]: row[column] for row in report.rows}


def test_production_counts_invoiced_lines_at_their_price_in_the_branch_month(branch):
    first, second = branch.doctor(), branch.doctor()
    patient = branch.patient()
    s1, s2, s3 = branch.services
    visit_1 = branch.visit(first, patient, at(date(2026, 3, 5), "10:00"))
    visit_2 = branch.visit(second, patient, at(date(2026, 3, 20), "10:00"))
    branch.invoice(patient, at(date(2026, 3, 5), "11:05"), [(s1, 2, "1000", "100"), (s2, 1, "500", "0")], visit_1)
    branch.invoice(patient, at(date(2026, 3, 20), "11:05"), [(s1, 1, "1000", "0")], visit_2, status="draft")
    branch.invoice(patient, at(date(2026, 3, 10), "12:00"), [(s3, 1, "9999", "0")], status="cancelled")
    # 1 April 00:30 in Moscow is still 31 March in UTC: April's, not March's
    branch.invoice(patient, at(date(2026, 4, 1), "00:30"), [(s3, 1, "7000", "0")])
    deleted = branch.invoice(patient, at(date(2026, 3, 25), "12:00"), [(s3, 1, "8000", "0")])
    deleted.deleted_at = at(date(2026, 3, 26), "12:00")
    db.session.flush()

    report = compute("production", branch.scope(), "doctor")
    # 2×1000−100 + 500 on the first doctor's visit, 1000 on the second's; two invoices
    assert by_label(report, "amount") == {first.full_name: Decimal("2400.00"), second.full_name: Decimal("1000.00")}
    assert report.totals["amount"] == Decimal("3400.00")
    assert report.totals["invoices"] == 2 and report.totals["services"] == 4
    assert report.totals["average_invoice"] == Decimal("1700.00")
    by_service = compute("production", branch.scope(), "service")
    assert {row["key"]: row["amount"] for row in by_service.rows} == {s1.id: Decimal("2900.00"), s2.id: Decimal("500.00")}
    april = compute("production", branch.scope(date(2026, 4, 1), date(2026, 4, 30)), "month")
    assert [(row["key"], row["amount"]) for row in april.rows] == [("2026-04", Decimal("7000.00"))]


def test_collections_take_refunds_off_and_leave_deposit_and_credit_out(branch):
    patient = branch.patient()
    day = date(2026, 3, 12)
    branch.payment(patient, "cash", "1000", at(day, "10:00"))
    branch.payment(patient, "card", "2000", at(day, "11:00"))
    branch.payment(patient, "insurance", "1500", at(date(2026, 3, 13), "10:00"))
    branch.payment(patient, "cash", "-300", at(date(2026, 3, 14), "10:00"), note="Refund")
    branch.payment(patient, "deposit", "700", at(day, "12:00"))  # money already counted when it came in
    corrected = branch.invoice(patient, at(day, "09:00"), [(branch.services[0], 1, "100", "0")])
    branch.payment(patient, "credit", "100", at(day, "13:00"), invoice=corrected, credited_invoice_id=corrected.id)
    gone = branch.payment(patient, "cash", "5000", at(day, "14:00"))
    gone.deleted_at = at(day, "15:00")
    branch.payment(patient, "cash", "400", at(date(2026, 2, 28), "23:30"))  # February in Moscow
    db.session.flush()

    report = compute("collections", branch.scope(), "day")
    assert report.totals["patient"] == Decimal("3000.00")
    assert report.totals["insurance"] == Decimal("1500.00")
    assert report.totals["refunds"] == Decimal("300.00")
    assert report.totals["total"] == Decimal("4200.00")
    assert {row["key"]: row["total"] for row in report.rows} == {
        "2026-03-12": Decimal("3000.00"), "2026-03-13": Decimal("1500.00"), "2026-03-14": Decimal("-300.00")}
    by_method = compute("collections", branch.scope(), "method")
    assert {row["key"] for row in by_method.rows} == {"cash", "card", "insurance"}


def _plan(branch, patient, author, presented, status, variants, accepted=None, **more):
    """``variants``: {tier: (chosen, [item prices])}."""
    plan = TreatmentPlan(patient=patient, clinic=branch.clinic, author=author, payer_kind="self", status=status,
                         presented_at=presented, accepted_at=accepted, **more)
    db.session.add(plan)
    for tier, (chosen, prices) in variants.items():
        variant = PlanVariant(plan=plan, tier=tier, chosen=chosen)
        stage = PlanStage(variant=variant, position=1, kind="treatment", duration_min=60)
        db.session.add_all([variant, stage])
        for price in prices:
            db.session.add(PlanItem(stage=stage, service=branch.services[0], quantity=1, price=Decimal(price)))
    db.session.flush()
    return plan


def test_conversion_by_chosen_variant(branch):
    doctor = branch.doctor()
    patients = [branch.patient() for _ in range(4)]
    presented = at(date(2026, 3, 2), "10:00")
    _plan(branch, patients[0], doctor, presented, "in_progress",
          {"premium": (True, ["6000", "4000"]), "optimal": (False, ["5000"])}, accepted=presented + timedelta(days=2))
    _plan(branch, patients[1], doctor, presented, "accepted",
          {"economy": (True, ["3000"]), "optimal": (False, ["4000"])}, accepted=presented + timedelta(days=4))
    _plan(branch, patients[2], doctor, presented, "presented",
          {"premium": (False, ["8000"]), "optimal": (False, ["5000"])})
    _plan(branch, patients[3], doctor, presented, "declined", {"optimal": (False, ["2000"])},
          decline_reason="Too dear")
    _plan(branch, patients[3], doctor, at(date(2026, 4, 2), "10:00"), "presented", {"optimal": (False, ["1"])})

    report = compute("conversion", branch.scope(), "variant")
    rows = {row["key"]: row for row in report.rows}
    assert (rows["premium"]["presented"], rows["premium"]["accepted"], rows["premium"]["started"]) == (1, 1, 1)
    assert (rows["economy"]["presented"], rows["economy"]["accepted"]) == (1, 1)
    assert (rows[None]["presented"], rows[None]["accepted"], rows[None]["declined"]) == (2, 0, 1)
    totals = report.totals
    assert (totals["presented"], totals["accepted"], totals["started"], totals["completed"]) == (4, 2, 1, 0)
    assert totals["acceptance"] == Decimal("50.0")
    # presented: the chosen 10 000 and 3 000, the optimal 5 000 and 2 000; accepted: 13 000
    assert totals["money_presented"] == Decimal("20000.00")
    assert totals["money_accepted"] == Decimal("13000.00")
    assert totals["money_acceptance"] == Decimal("65.0")
    assert totals["days_to_accept"] == Decimal("3.0")  # the median of 2 and 4 days


def test_load_leaves_closed_days_and_cancelled_visits_out(branch):
    doctor, patient, other = branch.doctor(), branch.patient(), branch.patient()
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    for day in (monday, tuesday):
        db.session.add(Shift(staff=doctor, clinic=branch.clinic, room=branch.chairs[0], work_date=day,
                             starts_at=at(day, "09:00"), ends_at=at(day, "15:00")))
    db.session.add(Closure(clinic=branch.clinic, first_day=tuesday, last_day=tuesday, reason="Holiday"))
    branch.visit(doctor, patient, at(monday, "10:00"), 60)
    branch.visit(doctor, other, at(monday, "11:30"), 30, status="no_show")
    branch.visit(doctor, patient, at(monday, "13:00"), 60, status="cancelled", cancelled_at=at(monday, "08:00"))
    db.session.flush()

    report = compute("load", branch.scope(), "doctor")
    assert report.totals["available"] == 6 * 60  # Monday's shift; Tuesday was closed
    assert report.totals["booked"] == 90
    assert report.totals["load"] == Decimal("25.0")
    hours = {row["key"]: row for row in compute("load", branch.scope(), "hour").rows}
    assert (hours[10]["available"], hours[10]["booked"], hours[10]["load"]) == (60, 60, Decimal("100.0"))
    assert (hours[11]["booked"], hours[11]["load"]) == (30, Decimal("50.0"))
    assert hours[13]["booked"] == 0 and hours[9]["load"] == Decimal("0.0")


def test_no_shows_count_late_cancellations_and_not_early_ones(branch):
    doctor = branch.doctor()
    day = date(2026, 3, 10)
    starts = [at(day, f"{hour:02d}:00") for hour in (9, 10, 11, 12, 13)]
    patients = [branch.patient() for _ in starts]
    branch.visit(doctor, patients[0], starts[0])
    branch.visit(doctor, patients[1], starts[1])
    branch.visit(doctor, patients[2], starts[2], status="no_show")
    branch.visit(doctor, patients[3], starts[3], status="cancelled", cancelled_at=starts[3] - timedelta(hours=2))
    branch.visit(doctor, patients[4], starts[4], status="cancelled", cancelled_at=starts[4] - timedelta(days=3))

    report = compute("no_shows", branch.scope(), "doctor")
    # booked: two done, the no-show and the late cancellation; the early one freed its time
    assert (report.totals["booked"], report.totals["no_shows"], report.totals["late_cancellations"]) == (4, 1, 1)
    assert report.totals["missed_share"] == Decimal("50.0")


def test_recall_seen_and_due(branch):
    doctor = branch.doctor()
    seen_and_booked, seen_only, due_only, due_and_booked = (branch.patient() for _ in range(4))
    branch.visit(doctor, seen_and_booked, at(date(2026, 3, 5), "10:00"), kind="hygiene")
    branch.visit(doctor, seen_and_booked, at(date(2026, 9, 7), "10:00"), kind="hygiene", status="booked")
    branch.visit(doctor, seen_only, at(date(2026, 3, 10), "10:00"), kind="hygiene")
    branch.visit(doctor, seen_only, at(date(2026, 3, 11), "10:00"), kind="treatment", status="booked")
    # six months before March: due in March
    branch.visit(doctor, due_only, at(date(2025, 9, 10), "10:00"), kind="hygiene")
    branch.visit(doctor, due_and_booked, at(date(2025, 9, 15), "10:00"), kind="hygiene")
    branch.visit(doctor, due_and_booked, at(date(2026, 3, 20), "12:00"), kind="hygiene", status="no_show")
    branch.visit(doctor, due_and_booked, at(date(2026, 4, 20), "12:00"), kind="hygiene", status="booked")

    totals = compute("recall", branch.scope(), "doctor").totals
    assert (totals["seen"], totals["seen_booked"], totals["seen_share"]) == (2, 1, Decimal("50.0"))
    assert (totals["due"], totals["due_booked"], totals["due_share"]) == (2, 1, Decimal("50.0"))


def test_lifetime_value_by_source(branch):
    registered = at(date(2026, 3, 3), "10:00")
    first = branch.patient(created=registered, source="referral")
    second = branch.patient(created=registered, source="referral")
    third = branch.patient(created=registered, source="website")
    branch.patient(created=at(date(2026, 2, 3), "10:00"), source="website")  # February's: not in the cohort
    branch.payment(first, "cash", "1000", at(date(2026, 3, 3), "11:00"))
    branch.payment(first, "card", "2000", at(date(2026, 6, 3), "11:00"))  # later in life: counts
    branch.payment(first, "cash", "-300", at(date(2026, 6, 4), "11:00"), note="Refund")
    branch.payment(first, "deposit", "900", at(date(2026, 6, 5), "11:00"))
    branch.payment(third, "insurance", "1500", at(date(2026, 3, 9), "11:00"))

    report = compute("ltv", branch.scope(), "source")
    rows = {row["key"]: row for row in report.rows}
    assert (rows["referral"]["patients"], rows["referral"]["paying"], rows["referral"]["collected"]) == (
        2, 1, Decimal("2700.00"))
    assert rows["referral"]["ltv"] == Decimal("1350.00") and rows["referral"]["per_paying"] == Decimal("2700.00")
    assert (rows["website"]["patients"], rows["website"]["collected"]) == (1, Decimal("1500.00"))
    assert report.totals["ltv"] == Decimal("1400.00")  # 4 200 over three patients
    new = compute("new_patients", branch.scope(), "source")
    assert {row["key"]: row["patients"] for row in new.rows} == {"referral": 2, "website": 1}
    assert second.id  # registered, never paid: in the cohort all the same


def test_a_branch_choice_reads_only_that_branch(app, owner):
    here, there = Branch(owner), Branch(owner)
    patient = here.patient()
    here.payment(patient, "cash", "1000", at(date(2026, 3, 12), "10:00"))
    there.payment(patient, "cash", "250", at(date(2026, 3, 12), "10:00"))
    assert compute("collections", here.scope(), "branch").totals["total"] == Decimal("1000.00")
    assert compute("collections", there.scope(), "branch").totals["total"] == Decimal("250.00")
    both = Scope(*MARCH, (here.clinic, there.clinic), network=True)
    assert {row["key"]: row["total"] for row in compute("collections", both, "branch").rows} == {
        here.clinic.id: Decimal("1000.00"), there.clinic.id: Decimal("250.00")}

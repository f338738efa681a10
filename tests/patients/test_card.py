"""The patient card: one screen with everything about a person, shown by role,
in a fixed number of queries however long the history."""
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select

from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.catalog.models import Service
from stompro.chart.models import Condition, ToothFinding
from stompro.db import utcnow
from stompro.documents.models import PatientDocument
from stompro.extensions import db
from stompro.messaging.models import Message
from stompro.org.models import Room, Staff
from stompro.org.roles import ROLES
from stompro.patients.card import SECTIONS, patient_card
from stompro.patients.models import InsuranceProgram, InsurancePolicy, Patient, PatientTag
from stompro.patients.phones import format_phone
from stompro.patients.views import SECTION_ROLES, visible_sections
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan
from stompro.scheduling.models import Appointment
from stompro.tasks.models import Task
from stompro.timefmt import format_moment, format_money

from ..admin.test_queries import QueryCounter

# 15 for the card itself, the access log's row, and the specialties a consent can be prepared for.
MAX_QUERIES = 17


def first(model, *where):
    return db.session.execute(select(model).where(*where).order_by(model.id).limit(1)).scalar_one()


class Clinic:
    """Reference rows of the demo clinic a test patient's history needs."""

    def __init__(self):
        self.doctor = first(Staff, Staff.login == "doctor")
        self.room = first(Room)
        self.service = first(Service)
        self.program = first(InsuranceProgram)
        self.caries = first(Condition, Condition.code == "caries")
        self.filling = first(Condition, Condition.code == "filling")


@pytest.fixture
def clinic(app):
    return Clinic()


def new_patient(last_name="Картина", tags=()):
    patient = Patient(last_name=last_name, first_name="Вера", middle_name="Павловна",
                      birth_date=date(1984, 5, 17), phone="8 (916) 555-12-34")
    patient.tags = [PatientTag(tag=tag) for tag in tags]
    db.session.add(patient)
    db.session.flush()
    return patient


def visit(clinic, patient, starts_at, status="booked"):
    return Appointment(clinic_id=clinic.room.clinic_id, room=clinic.room, doctor=clinic.doctor, patient=patient,
                       starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30), status=status)


def plan_with_variants(clinic, patient, chosen_items, other_items):
    """A plan whose "optimal" variant is chosen; items are (price, quantity, performed, removed)."""
    plan = TreatmentPlan(patient=patient, author=clinic.doctor, title="Санация", status="in_progress")
    for tier, chosen, items in (("optimal", True, chosen_items), ("premium", False, other_items)):
        stage = PlanStage(position=0, duration_min=60)
        stage.items = [
            PlanItem(service=clinic.service, tooth=36, price=Decimal(price), quantity=quantity,
                     performed_at=utcnow() if performed else None, removed=removed,
                     removal_justification="Пациент против" if removed else None)
            for price, quantity, performed, removed in items
        ]
        plan.variants.append(PlanVariant(tier=tier, chosen=chosen, stages=[stage]))
    db.session.add(plan)
    return plan


@pytest.fixture
def history(clinic):
    """A patient with something in every section, plus rows the card must leave out."""
    now = utcnow()
    patient = new_patient(tags=("VIP", "insured"))
    policy = InsurancePolicy(patient=patient, company_id=clinic.program.company_id, program=clinic.program,
                             number="POL-778899", valid_from=date.today() - timedelta(days=30))
    chosen_items = [("1500.00", 2, True, False), ("3200.50", 1, False, False), ("999.00", 1, False, True)]
    plan = plan_with_variants(clinic, patient, chosen_items, [("9000.00", 1, False, False)])
    night = {"hour": 1, "minute": 0, "second": 0, "microsecond": 0}  # 04:00 in Moscow: no demo visit then
    past = visit(clinic, patient, (now - timedelta(days=10)).replace(**night), status="done")
    future = visit(clinic, patient, (now + timedelta(days=5)).replace(**night))
    task = Task(tab="scheduled_calls", title="Позвонить о продолжении плана", patient=patient, due_at=now + timedelta(days=1))
    done_task = Task(tab="regular_calls", title="Закрытая задача", patient=patient, due_at=now, status="done")
    document = PatientDocument(patient=patient, kind="contract", title="Договор на лечение", status="draft")
    deleted_document = PatientDocument(patient=patient, kind="consent", title="Удалённое согласие", deleted_at=now)
    message = Message(patient=patient, channel="sms", recipient=patient.phone, body="Ждём вас завтра",
                      send_at=now - timedelta(days=1), dedupe_key=f"card-test-{patient.id}")
    invoice = Invoice(number=f"CARD-{patient.id}", patient=patient, clinic_id=clinic.room.clinic_id,
                      issued_at=now - timedelta(days=10), status="issued",
                      lines=[InvoiceLine(service=clinic.service, price=Decimal("4000.00"), quantity=2, discount=Decimal("500.00"))])
    cancelled = Invoice(number=f"CARD-{patient.id}-X", patient=patient, clinic_id=clinic.room.clinic_id,
                        issued_at=now - timedelta(days=9), status="cancelled", cancel_reason="Ошибка",
                        lines=[InvoiceLine(service=clinic.service, price=Decimal("100000.00"), quantity=1)])
    payment = Payment(patient=patient, invoice=invoice, clinic_id=clinic.room.clinic_id, method="card",
                      amount=Decimal("3000.00"), paid_at=now - timedelta(days=10))
    db.session.add_all([policy, past, future, task, done_task, document, deleted_document, message, invoice, cancelled, payment])
    finding = ToothFinding(patient=patient, tooth=36, surfaces="O", condition=clinic.caries, author=clinic.doctor)
    db.session.add(finding)
    db.session.commit()
    return {
        "patient": patient, "policy": policy, "plan": plan, "past": past, "future": future, "task": task,
        "done_task": done_task, "document": document, "deleted_document": deleted_document,
        "invoices": [invoice, cancelled], "payments": [payment], "chosen_items": chosen_items,
    }


def expected_due(history):
    """Issued, self-paid invoice lines minus the patient's own payments."""
    invoiced = sum(
        (line.price * line.quantity - line.discount)
        for invoice in history["invoices"] if invoice.status in ("issued", "paid")
        for line in invoice.lines
    )
    return invoiced - sum(p.amount for p in history["payments"])


def test_the_card_shows_everything_about_the_patient(client, auth, history):
    auth.as_role("owner")
    patient = history["patient"]
    page = client.get(f"/admin/patient_card/{patient.id}").get_data(as_text=True)

    assert "Картина Вера Павловна" in page
    assert format_phone(patient.phone) == "+7 916 555-12-34"
    assert "+7 916 555-12-34" in page
    assert "VIP" in page and "insured" in page
    assert "POL-778899" in page
    assert "Санация" in page and "In progress" in page
    chosen_total = sum(Decimal(p) * q for p, q, _, removed in history["chosen_items"] if not removed)
    assert format_money(chosen_total) in page
    assert "1 of 2 done" in page
    assert format_moment(history["past"].starts_at) in page
    assert format_moment(history["future"].starts_at) in page
    assert "Позвонить о продолжении плана" in page
    assert "Закрытая задача" not in page
    assert "Договор на лечение" in page
    assert "Удалённое согласие" not in page
    assert "Ждём вас завтра" in page
    assert f"Owes {format_money(expected_due(history))}" in page


def test_the_service_computes_totals_progress_and_balance(app, history):
    card = patient_card(db.session, history["patient"].id)
    (plan,) = card.plans
    chosen = plan.chosen
    assert chosen.tier == "optimal"
    assert chosen.total == Decimal("6200.50")  # 1500 × 2 + 3200.50; the removed item is left out
    assert (chosen.items, chosen.performed, chosen.progress_percent) == (2, 1, 50)
    assert [v.total for v in plan.variants if not v.chosen] == [Decimal("9000.00")]
    assert card.balance.owed == expected_due(history) == Decimal("4500.00")
    assert card.balance.balance == -card.balance.owed and card.balance.deposit == 0
    assert [v.id for v in card.past_visits] == [history["past"].id]
    assert [v.id for v in card.future_visits] == [history["future"].id]
    assert [t.id for t in card.open_tasks] == [history["task"].id]
    assert [d.id for d in card.documents] == [history["document"].id]
    assert card.demographics.tags == ("VIP", "insured")
    assert card.policies[0].in_force


def test_a_cashier_sees_the_balance_but_not_the_chart(client, auth, history):
    auth.as_role("cashier")
    patient_id = history["patient"].id
    page = client.get(f"/admin/patient_card/{patient_id}").get_data(as_text=True)
    assert f"Owes {format_money(expected_due(history))}" in page
    assert "Dental chart" not in page and "Caries" not in page
    assert 'class="odontogram' not in page
    assert f"/admin/chart/{patient_id}" not in page


def test_a_doctor_sees_the_chart_read_only_but_not_the_money(client, auth, history):
    auth.as_role("doctor")
    patient_id = history["patient"].id
    page = client.get(f"/admin/patient_card/{patient_id}").get_data(as_text=True)
    assert "Dental chart" in page and "Caries" in page
    assert 'class="odontogram"' in page and "odontogram-editable" not in page
    assert re.search(r'data-tooth="36" data-surface="O"\s+data-condition="caries"', page)
    assert f'href="/admin/chart/{patient_id}"' in page
    assert "Owes" not in page and f"CARD-{patient_id}" not in page


@pytest.mark.parametrize("role", ROLES)
def test_every_role_that_lists_patients_opens_the_card(client, auth, history, role):
    auth.as_role(role)
    response = client.get(f"/admin/patient_card/{history['patient'].id}")
    assert response.status_code == 200
    assert "Картина Вера Павловна" in response.get_data(as_text=True)


def test_each_section_is_declared_for_some_roles():
    assert set(SECTION_ROLES) == SECTIONS
    assert visible_sections({"owner"}) == SECTIONS


def test_a_deleted_or_unknown_patient_is_not_found(client, auth, history):
    auth.as_role("owner")
    patient = history["patient"]
    patient.deleted_at = utcnow()
    db.session.commit()
    assert client.get(f"/admin/patient_card/{patient.id}").status_code == 404
    assert client.get("/admin/patient_card/999999999").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, history):
    response = client.get(f"/admin/patient_card/{history['patient'].id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_patient_list_links_each_surname_to_the_card(client, auth, history):
    auth.as_role("call_center")
    page = client.get("/admin/patient/", query_string={"search": "Картина"}).get_data(as_text=True)
    assert f'<a href="/admin/patient_card/{history["patient"].id}">Картина</a>' in page


@pytest.mark.parametrize("role, sees_chart", [("doctor", True), ("administrator", True), ("cashier", False)])
def test_the_patient_list_links_the_chart_for_those_who_may_open_it(client, auth, history, role, sees_chart):
    auth.as_role(role)
    page = client.get("/admin/patient/", query_string={"search": "Картина"}).get_data(as_text=True)
    assert (f'href="/admin/chart/{history["patient"].id}"' in page) is sees_chart


# -- a long history, a fixed number of queries -----------------------------------


def long_history(clinic, visits, findings, hour=3):
    """A patient with ``visits`` visits (half past, half coming, daily at
    ``hour`` UTC, before the clinic opens) and ``findings`` chart findings,
    inserted in bulk, plus one row in every other section."""
    patient = new_patient(last_name=f"Длинная{visits}", tags=("VIP",))
    now = utcnow().replace(hour=hour, minute=0, second=0, microsecond=0)
    db.session.execute(insert(Appointment), [
        {"clinic_id": clinic.room.clinic_id, "room_id": clinic.room.id, "doctor_id": clinic.doctor.id,
         "patient_id": patient.id, "starts_at": now + timedelta(days=day),
         "ends_at": now + timedelta(days=day, minutes=30), "status": "done" if day < 0 else "booked"}
        for day in [*range(-visits // 2, 0), *range(1, visits // 2 + 1)]
    ])
    teeth = [t for quadrant in (10, 20, 30, 40) for t in range(quadrant + 1, quadrant + 9)]
    db.session.execute(insert(ToothFinding), [
        {"patient_id": patient.id, "tooth": teeth[n % len(teeth)], "surfaces": "O" if n % 2 else "",
         "condition_id": (clinic.caries if n % 2 else clinic.filling).id, "author_id": clinic.doctor.id,
         "recorded_at": now - timedelta(hours=findings - n)}
        for n in range(findings)
    ])
    plan_with_variants(clinic, patient, [("1000.00", 1, True, False)] * 5, [("2000.00", 1, False, False)] * 5)
    db.session.add_all([
        Task(tab="care_calls", title="Звонок после операции", patient=patient, due_at=now),
        PatientDocument(patient=patient, kind="contract", title="Договор", status="draft"),
        Message(patient=patient, channel="sms", recipient=patient.phone, body="Напоминание",
                send_at=now, dedupe_key=f"long-{patient.id}"),
        Payment(patient=patient, clinic_id=clinic.room.clinic_id, method="cash", amount=Decimal("500.00"), paid_at=now),
    ])
    db.session.commit()
    return patient


def card_queries(client, patient_id):
    db.session.expunge_all()  # nothing pre-loaded: count what a fresh request runs
    counter = QueryCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(f"/admin/patient_card/{patient_id}")
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return counter.statements, response.get_data(as_text=True)


def test_the_card_runs_a_fixed_number_of_queries_however_long_the_history(client, auth, clinic):
    short_id = long_history(clinic, visits=10, findings=20, hour=2).id
    long_id = long_history(clinic, visits=200, findings=500).id
    auth.as_role("owner")

    short_statements, _ = card_queries(client, short_id)
    long_statements, page = card_queries(client, long_id)

    assert len(long_statements) <= MAX_QUERIES, "\n\n".join(long_statements)
    assert len(long_statements) == len(short_statements)
    assert "Past (last 20 of 100)" in page and "Coming (20 of 100)" in page

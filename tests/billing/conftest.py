"""Billing fixtures: the demo's two branches and cash-desk people, a priced
service, and invoices made through the services (committed, so the panel
sees them; every test is rolled back at the end)."""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from stompro.billing.services import add_line, create_invoice, set_invoice_status
from stompro.catalog.models import PriceListItem, Service
from stompro.catalog.prices import current_price_list
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.planning.models import PlanItem, PlanStage, PlanVariant, TreatmentPlan



@pytest.fixture
def priced_service(app):
    """An active service and its price in the price list valid today."""
    price_list = current_price_list(db.session, date.today())
    return db.session.execute(
        select(Service, PriceListItem.price)
        .join(PriceListItem, PriceListItem.service_id == Service.id)
        .where(PriceListItem.price_list_id == price_list.id, Service.active.is_(True), PriceListItem.price > 0)
        .order_by(Service.code)
        .limit(1)
    ).one()


@pytest.fixture
def other_patient(app):
    patient = Patient(last_name="Smith", first_name="John", birth_date=date(1979, 6, 1), phone="+79160000003")
    db.session.add(patient)
    db.session.commit()
    return patient


@pytest.fixture
def make_invoice(app, priced_service):
    """make_invoice(actor, patient, clinic, status="draft", lines=1) → an invoice with lines of the priced service."""

    def make(actor, patient, branch, status="draft", lines=1, **values):
        invoice = create_invoice(db.session, actor, patient=patient, clinic=branch, **values)
        service, _price = priced_service
        for _ in range(lines):
            add_line(db.session, actor, invoice=invoice, service=service, tooth=36)
        if status in ("issued", "paid"):
            set_invoice_status(db.session, actor, invoice, "issued")
        if status == "paid":
            from stompro.billing.services import invoice_due, record_payment

            record_payment(db.session, actor, patient=patient, invoice=invoice, clinic=branch, method="cash",
                           amount=invoice_due(db.session, invoice))
        db.session.commit()
        return invoice

    return make


VISIT_DAY = date(2027, 3, 10)  # a Wednesday the demo books nothing on
FROZEN_PRICE = Decimal("1234.00")


def sign_for_treatment(actor, patient, clinic):
    """The contract, the consent to personal data and the therapy consent, signed: the gate lets a therapist's visit in."""
    from stompro.documents.models import DocumentTemplate
    from stompro.documents.services import create_document, sign_document

    for code in ("contract_paid_services", "consent_personal_data", "consent_therapy"):
        template = db.session.execute(
            select(DocumentTemplate).where(DocumentTemplate.code == code, DocumentTemplate.language == "ru")
        ).scalar_one()
        sign_document(db.session, actor, create_document(db.session, actor, patient=patient, clinic=clinic,
                                                         template=template))


def in_chair_visit(admin, clinic, patient, stage=None, hour=10):
    """A therapist's visit on VISIT_DAY, the patient in the chair (documents signed)."""
    from stompro.scheduling.availability import at_local
    from stompro.scheduling.services import book_visit, set_visit_status

    from ..conftest import doctor_works

    doctor = doctor_works(VISIT_DAY)
    starts_at = at_local(clinic, VISIT_DAY, time(hour))
    visit = book_visit(db.session, admin, clinic=clinic, room=clinic.rooms[0], doctor=doctor, patient=patient,
                       starts_at=starts_at, ends_at=starts_at + timedelta(minutes=45), plan_stage=stage)
    sign_for_treatment(admin, patient, clinic)
    set_visit_status(db.session, admin, visit, "arrived")
    set_visit_status(db.session, admin, visit, "in_chair")
    db.session.commit()
    return visit


@pytest.fixture
def treatment(app, admin, doctor, center, patient, priced_service):
    """An accepted plan of ``patient``: one stage with two items of the priced
    service (teeth 36 and 46, MO) at a frozen price, and the stage's visit
    with the patient in the chair. Returns (plan, [items], visit)."""
    service, _price = priced_service
    plan = TreatmentPlan(patient=patient, author=doctor, clinic=center, status="accepted", title="Лечение кариеса",
                         accepted_at=datetime.now(timezone.utc))
    variant = PlanVariant(plan=plan, tier="optimal", chosen=True)
    stage = PlanStage(variant=variant, position=0, duration_min=45)
    items = [PlanItem(stage=stage, tooth=tooth, surfaces="MO", service=service, quantity=1, price=FROZEN_PRICE)
             for tooth in (36, 46)]
    db.session.add_all([plan, variant, stage, *items])
    db.session.commit()
    return plan, items, in_chair_visit(admin, center, patient, stage=stage)

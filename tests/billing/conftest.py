"""Billing fixtures: the demo's two branches and cash-desk people, a priced
service, and invoices made through the services (committed, so the panel
sees them; every test is rolled back at the end)."""
from datetime import date

import pytest
from sqlalchemy import select

from stompro.billing.services import add_line, create_invoice, set_invoice_status
from stompro.catalog.models import PriceListItem, Service
from stompro.catalog.prices import current_price_list
from stompro.extensions import db
from stompro.patients.models import Patient



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

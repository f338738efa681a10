"""A plan's payment schedule against what was invoiced and paid for it, on the plan screen."""
from decimal import Decimal

from stompro.billing.models import Invoice
from stompro.billing.performed import mark_performed
from stompro.billing.plan_money import plan_against_reality
from stompro.billing.services import add_line, invoice_due, record_payment, set_invoice_status
from stompro.db import utcnow
from stompro.extensions import db
from stompro.scheduling.services import set_visit_status
from stompro.timefmt import to_local

from .conftest import FROZEN_PRICE


def test_the_months_show_planned_invoiced_and_the_plans_share_of_what_was_paid(app, doctor, cashier, treatment,
                                                                              priced_service):
    plan, (first, second), visit = treatment
    mark_performed(db.session, doctor, visit, plan_item=first)
    set_visit_status(db.session, doctor, visit, "done")
    invoice = db.session.query(Invoice).filter_by(appointment_id=visit.id).one()
    add_line(db.session, cashier, invoice=invoice, service=priced_service[0], price=FROZEN_PRICE)  # not the plan's
    set_invoice_status(db.session, cashier, invoice, "issued")
    record_payment(db.session, cashier, invoice=invoice, method="cash", amount=invoice_due(db.session, invoice) / 2)
    this_month = to_local(utcnow()).date().replace(day=1)
    money = plan_against_reality(db.session, plan)
    months = {row.month: row for row in money.months}
    assert months[this_month].invoiced == FROZEN_PRICE  # the plan's line only
    assert months[this_month].paid == FROZEN_PRICE / 2  # half of the invoice paid: half of the plan's share
    assert money.planned == 2 * FROZEN_PRICE and money.invoiced == FROZEN_PRICE


def test_large_payments_ahead_are_flagged_on_the_plan_screen(app, client, auth, treatment):
    plan, _items, _visit = treatment
    saved, app.config["PAYMENT_FLAG_THRESHOLD"] = app.config["PAYMENT_FLAG_THRESHOLD"], Decimal("1000")
    try:
        rows = plan_against_reality(db.session, plan).months
        assert any(row.large_ahead for row in rows)
        auth.as_role("coordinator")
        page = client.get(f"/admin/plan/{plan.id}").get_data(as_text=True)
        assert "large payment ahead" in page and 'id="plan-money"' in page
    finally:
        app.config["PAYMENT_FLAG_THRESHOLD"] = saved

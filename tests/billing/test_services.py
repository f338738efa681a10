"""The cash desk's rules, called directly: they hold for any path (the
panel, the API, the CLI)."""
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from stompro.billing import services
from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.billing.services import (
    add_line, advance_left, create_invoice, delete_payment, invoice_due, invoice_summary, record_payment, remove_line,
    set_invoice_status, update_invoice, update_line, update_payment,
)
from stompro.errors import DomainError, NotAllowed
from stompro.extensions import db
from stompro.patients.models import InsuranceCompany, InsurancePolicy, InsuranceProgram
from stompro.planning.models import PlanItem

NOW = datetime.now(timezone.utc)


def refused(field, match=None):
    """pytest.raises for a DomainError naming ``field``."""

    class Check:
        def __enter__(self):
            self.raises = pytest.raises(DomainError, match=match)
            self.info = self.raises.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            assert self.info.value.field == field, f"field {self.info.value.field!r}, expected {field!r}"
            return handled

    return Check()


# -- invoices --------------------------------------------------------------------------------


def test_a_new_invoice_is_a_draft_numbered_per_branch_and_year(cashier, patient, center):
    first = create_invoice(db.session, cashier, patient=patient, clinic=center)
    second = create_invoice(db.session, cashier, patient=patient, clinic=center)
    assert first.status == "draft"
    assert abs(first.issued_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    match = re.fullmatch(rf"INV{center.id}-(\d{{4}})-(\d{{6}})", first.number)
    assert match and int(match.group(1)) == first.issued_at.year
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_numbers_follow_each_other_across_drafts_and_cancelled_invoices(cashier, patient, center, make_invoice):
    cancelled = make_invoice(cashier, patient, center)
    set_invoice_status(db.session, cashier, cancelled, "cancelled", reason="Ошибка администратора")
    following = create_invoice(db.session, cashier, patient=patient, clinic=center)
    assert int(following.number[-6:]) == int(cancelled.number[-6:]) + 1
    assert cancelled.cancel_reason == "Ошибка администратора"


def test_nobody_types_an_invoice_number(cashier, patient, center):
    with pytest.raises(TypeError):
        create_invoice(db.session, cashier, patient=patient, clinic=center, number="A-1")


@pytest.mark.parametrize(
    "values, field",
    [
        ({"patient": None}, "patient"),
        ({"clinic": None}, "clinic"),
        ({"payer_kind": "barter"}, "payer_kind"),
        ({"issued_at": NOW + timedelta(days=1)}, "issued_at"),
        ({"issued_at": datetime(2999, 1, 1, tzinfo=timezone.utc)}, "issued_at"),
        ({"payer_kind": "insurance"}, "insurance_company"),
        ({"note": "a\x00b"}, "note"),
        ({"note": "x" * 20_000}, "note"),
    ],
)
def test_an_invoice_header_is_checked(cashier, patient, center, values, field):
    before = db.session.query(Invoice).count()
    with refused(field):
        create_invoice(db.session, cashier, **{"patient": patient, "clinic": center, **values})
    assert db.session.query(Invoice).count() == before


def test_an_insurance_invoice_needs_a_policy_of_that_insurer_in_force(cashier, patient, center):
    company = db.session.execute(select(InsuranceCompany).limit(1)).scalar_one()
    with refused("insurance_company", "no policy of this insurer"):
        create_invoice(db.session, cashier, patient=patient, clinic=center, payer_kind="insurance",
                       insurance_company=company)
    program = db.session.execute(select(InsuranceProgram).where(InsuranceProgram.company_id == company.id)).scalars().first()
    db.session.add(InsurancePolicy(patient=patient, company=company, program=program, number="T-1",
                                   valid_from=NOW.date() - timedelta(days=10)))
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center, payer_kind="insurance",
                             insurance_company=company)
    assert invoice.insurance_company_id == company.id


def test_a_self_paid_invoice_has_no_insurer(cashier, patient, center):
    company = db.session.execute(select(InsuranceCompany).limit(1)).scalar_one()
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center, insurance_company=company)
    assert invoice.insurance_company is None


def test_nobody_writes_another_branchs_invoices(cashier, owner, patient, south):
    with pytest.raises(NotAllowed):
        create_invoice(db.session, cashier, patient=patient, clinic=south)
    invoice = create_invoice(db.session, owner, patient=patient, clinic=south)  # the owner works network-wide
    with pytest.raises(NotAllowed):
        update_invoice(db.session, cashier, invoice, note="mine now")
    with pytest.raises(NotAllowed):
        set_invoice_status(db.session, cashier, invoice, "cancelled", reason="Дубль")


def test_the_status_flow(cashier, patient, center, make_invoice):
    draft = make_invoice(cashier, patient, center, lines=0)
    with refused("status", "Add the services"):
        set_invoice_status(db.session, cashier, draft, "issued")
    with refused("status", "cannot go from"):
        set_invoice_status(db.session, cashier, draft, "paid")
    issued = make_invoice(cashier, patient, center, status="issued")
    with refused("status", "not fully paid"):
        update_invoice(db.session, cashier, issued, status="paid")
    with refused("status", "cannot go from"):
        set_invoice_status(db.session, cashier, issued, "draft")
    with refused("status", "part of it"):
        set_invoice_status(db.session, cashier, issued, "partly_paid")
    record_payment(db.session, cashier, invoice=issued, method="cash", amount=Decimal("1.00"))
    assert issued.status == "partly_paid"
    record_payment(db.session, cashier, invoice=issued, method="card", amount=invoice_due(db.session, issued))
    assert issued.status == "paid"  # covered: marked paid by the payment
    with refused("status", "cannot go from"):
        set_invoice_status(db.session, cashier, issued, "cancelled", reason="Поздно")


def test_a_cancelled_invoice_says_why(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    with refused("cancel_reason", "why the invoice is cancelled"):
        update_invoice(db.session, cashier, invoice, status="cancelled", cancel_reason="  ")
    assert invoice.status == "issued"
    update_invoice(db.session, cashier, invoice, status="cancelled", cancel_reason="Пациент передумал")
    assert (invoice.status, invoice.cancel_reason) == ("cancelled", "Пациент передумал")


def test_an_invoice_with_payments_is_not_cancelled(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    record_payment(db.session, cashier, invoice=invoice, method="cash", amount=Decimal("1.00"))
    with refused("status", "has payments"):
        set_invoice_status(db.session, cashier, invoice, "cancelled", reason="Дубль")


def test_an_issued_invoice_keeps_its_header(cashier, patient, other_patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    for name, value in (("patient", other_patient), ("issued_at", NOW - timedelta(days=1)),
                        ("payer_kind", "insurance")):
        with refused(name, "keeps its patient"):
            update_invoice(db.session, cashier, invoice, **{name: value})
    # the same header with the time to the minute (as the form shows it) and a new note is fine
    update_invoice(db.session, cashier, invoice, patient=patient, clinic=center,
                   issued_at=invoice.issued_at.replace(second=0, microsecond=0), payer_kind="self",
                   insurance_company=None, note="Позвонить")
    assert invoice.note == "Позвонить"


def test_a_paid_invoice_is_closed_but_for_its_note(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="paid")
    with refused("issued_at", "closed"):
        update_invoice(db.session, cashier, invoice, issued_at=NOW - timedelta(days=2))
    update_invoice(db.session, cashier, invoice, note="Чек выдан")
    assert invoice.note == "Чек выдан"


def test_a_draft_changes_freely(cashier, patient, other_patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center)
    update_invoice(db.session, cashier, invoice, patient=other_patient)
    assert invoice.patient_id == other_patient.id


# -- lines ------------------------------------------------------------------------------------------


def test_a_line_takes_the_price_of_the_price_list_valid_today(cashier, patient, center, priced_service):
    service, price = priced_service
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center)
    line = add_line(db.session, cashier, invoice=invoice, service=service, tooth=46, quantity=2)
    assert (line.price, line.quantity, line.discount, line.tooth) == (price, 2, Decimal("0.00"), 46)
    lines, total, paid, due = invoice_summary(db.session, invoice)
    assert (lines, total, paid, due) == ([line], price * 2, Decimal("0.00"), price * 2)


def test_a_line_of_a_plan_item_takes_its_frozen_price(cashier, center):
    billed = select(InvoiceLine.plan_item_id).where(InvoiceLine.plan_item_id.is_not(None))
    item = db.session.execute(
        select(PlanItem).where(PlanItem.removed.is_(False), PlanItem.id.not_in(billed)).order_by(PlanItem.id).limit(1)
    ).scalar_one()
    patient = item.stage.variant.plan.patient
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center)
    line = add_line(db.session, cashier, invoice=invoice, plan_item=item)
    assert (line.service_id, line.price, line.quantity, line.tooth) == (item.service_id, item.price, item.quantity,
                                                                         item.tooth)
    with refused("plan_item", "already on an invoice"):
        add_line(db.session, cashier, invoice=invoice, plan_item=item)


def test_a_plan_item_of_another_patient_is_refused(cashier, patient, center):
    item = db.session.execute(select(PlanItem).order_by(PlanItem.id).limit(1)).scalar_one()
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center)
    with refused("plan_item", "another patient"):
        add_line(db.session, cashier, invoice=invoice, plan_item=item)


@pytest.mark.parametrize(
    "values, field",
    [
        ({"service": None}, "service"),
        ({"tooth": 19}, "tooth"),
        ({"tooth": "abc"}, "tooth"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1000}, "quantity"),
        ({"price": Decimal("-1")}, "price"),
        ({"price": Decimal("10") ** 15}, "price"),
        ({"price": Decimal("1.005")}, "price"),
        ({"discount": Decimal("-1")}, "discount"),
        ({"price": Decimal("100"), "discount": Decimal("100.01")}, "discount"),
        ({"price": Decimal("9999999999"), "quantity": 2}, "quantity"),
    ],
)
def test_a_line_is_checked(cashier, patient, center, priced_service, values, field):
    service, _price = priced_service
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center)
    with refused(field):
        add_line(db.session, cashier, **{"invoice": invoice, "service": service, **values})
    assert invoice_summary(db.session, invoice)[0] == []


def test_an_invoice_total_stays_within_the_money_column(cashier, patient, center, priced_service):
    service, _price = priced_service
    invoice = create_invoice(db.session, cashier, patient=patient, clinic=center)
    add_line(db.session, cashier, invoice=invoice, service=service, price=Decimal("9000000000"))
    with refused("price", "too large"):
        add_line(db.session, cashier, invoice=invoice, service=service, price=Decimal("1000000000"))


def test_lines_change_only_on_a_draft(cashier, patient, center, make_invoice, priced_service):
    service, _price = priced_service
    invoice = make_invoice(cashier, patient, center, status="issued")
    line = invoice_summary(db.session, invoice)[0][0]
    with refused("invoice", "only while it is a draft"):
        add_line(db.session, cashier, invoice=invoice, service=service)
    with refused("invoice", "only while it is a draft"):
        update_line(db.session, cashier, line, quantity=3)
    with refused("invoice", "only while it is a draft"):
        remove_line(db.session, cashier, line)
    assert line.deleted_at is None and line.quantity == 1


def test_a_line_stays_on_its_invoice_and_is_removed_softly(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center)
    other = make_invoice(cashier, patient, center)
    line = invoice_summary(db.session, invoice)[0][0]
    with refused("invoice", "stays on its invoice"):
        update_line(db.session, cashier, line, invoice=other)
    update_line(db.session, cashier, line, quantity=3, price=None)  # a blank price: the list's price again
    assert line.quantity == 3
    remove_line(db.session, cashier, line)
    assert db.session.get(InvoiceLine, line.id).deleted_at is not None
    assert invoice_summary(db.session, invoice)[0] == []


def test_nobody_writes_lines_of_another_branch(cashier, owner, patient, south, priced_service):
    service, _price = priced_service
    invoice = create_invoice(db.session, owner, patient=patient, clinic=south)
    with refused("invoice"):
        add_line(db.session, cashier, invoice=invoice, service=service)


# -- payments ------------------------------------------------------------------------------------


def test_a_payment_is_received_by_the_signed_in_person_now(cashier, patient, center):
    payment = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount="1500.50")
    assert payment.received_by_id == cashier.id
    assert payment.amount == Decimal("1500.50")
    assert abs(payment.paid_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "values, field",
    [
        ({"patient": None}, "patient"),
        ({"clinic": None}, "clinic"),
        ({"method": "barter"}, "method"),
        ({"amount": None}, "amount"),
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"amount": Decimal("10") ** 15}, "amount"),
        ({"amount": Decimal("1.001")}, "amount"),
        ({"paid_at": NOW + timedelta(hours=1)}, "paid_at"),
        ({"paid_at": NOW - timedelta(days=31)}, "paid_at"),
        ({"paid_at": datetime(2999, 1, 1, tzinfo=timezone.utc)}, "paid_at"),
        ({"note": "a\x00b"}, "note"),
        ({"note": "x" * 20_000}, "note"),
        ({"method": "insurance"}, "invoice"),
        ({"method": "deposit"}, "invoice"),
    ],
)
def test_a_payment_is_checked(cashier, patient, center, values, field):
    before = db.session.query(Payment).count()
    with refused(field):
        record_payment(db.session, cashier, **{"patient": patient, "clinic": center, "method": "cash",
                                               "amount": Decimal("100"), **values})
    assert db.session.query(Payment).count() == before


def test_a_payment_of_an_invoice_is_the_same_patients_and_branchs(cashier, owner, patient, other_patient, center,
                                                                   south, make_invoice):
    theirs = make_invoice(cashier, other_patient, center, status="issued")
    with refused("invoice", "another patient"):
        record_payment(db.session, cashier, patient=patient, invoice=theirs, clinic=center, method="cash", amount=1)
    south_invoice = make_invoice(owner, patient, south, status="issued")
    with refused("invoice", "another branch"):
        record_payment(db.session, owner, patient=patient, invoice=south_invoice, clinic=center, method="cash",
                       amount=1)
    with pytest.raises(NotAllowed):
        record_payment(db.session, cashier, patient=patient, invoice=south_invoice, clinic=south, method="cash",
                       amount=1)


@pytest.mark.parametrize("status", ["draft", "paid"])
def test_only_an_issued_invoice_takes_payments(cashier, patient, center, make_invoice, status):
    invoice = make_invoice(cashier, patient, center, status=status)
    with refused("invoice", "only an issued invoice"):
        record_payment(db.session, cashier, patient=patient, invoice=invoice, clinic=center, method="cash", amount=1)


def test_a_cancelled_invoice_takes_no_payment(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    set_invoice_status(db.session, cashier, invoice, "cancelled", reason="Дубль")
    with refused("invoice", "only an issued invoice"):
        record_payment(db.session, cashier, patient=patient, invoice=invoice, clinic=center, method="cash", amount=1)


def test_a_payment_is_at_most_what_is_due(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    due = invoice_due(db.session, invoice)
    with refused("amount", "is due on this invoice"):
        record_payment(db.session, cashier, invoice=invoice, method="cash", amount=due + Decimal("0.01"))
    record_payment(db.session, cashier, invoice=invoice, method="cash", amount=due - 1)
    assert invoice.status == "partly_paid"
    record_payment(db.session, cashier, invoice=invoice, method="card", amount=1)
    assert invoice.status == "paid"


def test_an_insurer_pays_only_an_insurance_invoice(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    with refused("method", "insurance invoice"):
        record_payment(db.session, cashier, invoice=invoice, method="insurance", amount=1)


def test_a_deposit_payment_spends_the_advance(cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    with refused("amount", "advance has"):
        record_payment(db.session, cashier, invoice=invoice, method="deposit", amount=1)
    advance = record_payment(db.session, cashier, patient=patient, clinic=center, method="card", amount=10)
    assert advance_left(db.session, patient) == Decimal("10.00")
    record_payment(db.session, cashier, invoice=invoice, method="deposit", amount=4)
    assert advance_left(db.session, patient) == Decimal("6.00")
    owner = db.session.execute(select(type(cashier)).where(type(cashier).login == "owner")).scalar_one()
    with refused(None, "already spent"):
        delete_payment(db.session, owner, advance)


def test_receipts_are_numbered_per_branch_and_year(cashier, patient, center):
    first = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount=1)
    second = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount=1)
    assert re.fullmatch(rf"R{center.id}-\d{{4}}-\d{{6}}", first.receipt_number)
    assert int(second.receipt_number[-6:]) == int(first.receipt_number[-6:]) + 1


def test_a_payment_changes_only_its_note(cashier, patient, other_patient, center, make_invoice):
    payment = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount=100)
    theirs = make_invoice(cashier, other_patient, center, status="issued")
    for name, value in (("amount", Decimal("99")), ("method", "card"), ("patient", other_patient),
                        ("invoice", theirs), ("paid_at", NOW - timedelta(days=1))):
        with refused(name, "does not change"):
            update_payment(db.session, cashier, payment, **{name: value})
    update_payment(db.session, cashier, payment, amount=Decimal("100.00"), paid_at=payment.paid_at,
                   note="Сдача выдана")
    assert (payment.note, payment.amount) == ("Сдача выдана", Decimal("100.00"))
    with refused("note"):
        update_payment(db.session, cashier, payment, note="x\x00")


def test_only_the_owner_moves_a_payment_to_the_recycle_bin(cashier, owner, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="paid")
    payment = db.session.execute(select(Payment).where(Payment.invoice_id == invoice.id)).scalar_one()
    with pytest.raises(NotAllowed):
        delete_payment(db.session, cashier, payment)
    delete_payment(db.session, owner, payment)
    assert db.session.get(Payment, payment.id).deleted_at is not None
    assert invoice.status == "issued"  # no longer covered: owing again


def test_a_hard_delete_only_hides_the_row(cashier, patient, center):
    payment = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount=5)
    db.session.delete(payment)
    db.session.flush()
    assert db.session.get(Payment, payment.id).deleted_at is not None

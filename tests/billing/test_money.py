"""The money of a visit: what is paid beyond the invoice becomes the
patient's deposit and pays the next invoice; a refund gives deposit money
back with a reason; the balance is always the patient's payments less their
invoices; the cash desk and the API take payments and print receipts."""
import random
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.billing.services import (
    add_line, create_invoice, credit_note, invoice_due, patient_balance, record_payment, refund, set_invoice_status,
    take_payment,
)
from stompro.errors import DomainError, NotAllowed
from stompro.extensions import db
from stompro.timefmt import format_money

from ..api.conftest import api  # noqa: F401 (a fixture: the JSON API with a token)
from .forms import post


def pdf_text(body):
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(body)).pages)


def issued(actor, patient, clinic, service, price):
    invoice = create_invoice(db.session, actor, patient=patient, clinic=clinic)
    add_line(db.session, actor, invoice=invoice, service=service, price=price)
    return set_invoice_status(db.session, actor, invoice, "issued")


def test_more_than_is_due_goes_to_the_deposit_and_pays_the_next_invoice(cashier, patient, center, priced_service):
    service, _price = priced_service
    first = issued(cashier, patient, center, service, Decimal("3000.00"))
    taken = take_payment(db.session, cashier, first, method="cash", amount="5000")
    assert (taken.payment.amount, first.status) == (Decimal("3000.00"), "paid")
    assert (taken.deposit.amount, taken.deposit.invoice_id, taken.deposit.method) == (Decimal("2000.00"), None, "cash")
    assert patient_balance(db.session, patient) == (Decimal("0.00"), Decimal("2000.00"), Decimal("2000.00"))

    second = issued(cashier, patient, center, service, Decimal("2500.00"))  # issuing spends the deposit
    assert (second.status, invoice_due(db.session, second)) == ("partly_paid", Decimal("500.00"))
    assert patient_balance(db.session, patient) == (Decimal("500.00"), Decimal("0.00"), Decimal("-500.00"))
    take_payment(db.session, cashier, second, method="card", amount="500.00")
    assert second.status == "paid"
    assert patient_balance(db.session, patient).balance == Decimal("0.00")


def test_a_refund_needs_a_reason_the_deposit_and_the_cashier_or_owner(cashier, admin, patient, center):
    record_payment(db.session, cashier, patient=patient, clinic=center, method="card", amount="1000")
    with pytest.raises(DomainError) as refused:
        refund(db.session, cashier, patient=patient, clinic=center, method="card", amount="100", reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(DomainError) as refused:
        refund(db.session, cashier, patient=patient, clinic=center, method="card", amount="1000.01", reason="Переезд")
    assert refused.value.field == "amount"
    with pytest.raises(NotAllowed):
        refund(db.session, admin, patient=patient, clinic=center, method="card", amount="100", reason="Переезд")
    given = refund(db.session, cashier, patient=patient, clinic=center, method="card", amount="400", reason="Переезд")
    assert (given.amount, given.note, given.receipt_number is not None) == (Decimal("-400.00"), "Переезд", True)
    assert patient_balance(db.session, patient).deposit == Decimal("600.00")


def test_the_balance_is_always_payments_less_invoices(cashier, owner, patient, center, priced_service):
    """Random sequences of the desk's operations; after each, the balance
    equals what the patient paid (cash, card, online, refunds) less what
    they were invoiced (issued, partly paid and paid self-paid invoices)."""
    service, _price = priced_service
    rng = random.Random(20261130)
    open_invoices = []

    def paid_less_invoiced():
        paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.patient_id == patient.id, Payment.deleted_at.is_(None),
            Payment.method.in_(("cash", "card", "online", "credit"))))
        invoiced = db.session.scalar(
            select(func.coalesce(func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount), 0))
            .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
            .where(Invoice.patient_id == patient.id, Invoice.deleted_at.is_(None), InvoiceLine.deleted_at.is_(None),
                   Invoice.status.in_(("issued", "partly_paid", "paid"))))
        return Decimal(str(paid)).quantize(Decimal("0.01")) - Decimal(str(invoiced)).quantize(Decimal("0.01"))

    for step in range(60):
        operation = rng.choice(("invoice", "pay", "advance", "refund", "cancel", "credit"))
        try:
            if operation == "invoice":
                open_invoices.append(issued(cashier, patient, center, service, Decimal(rng.randint(1, 500) * 10)))
            elif operation == "pay" and open_invoices:
                invoice = rng.choice(open_invoices)
                take_payment(db.session, cashier, invoice, method=rng.choice(("cash", "card", "online")),
                             amount=Decimal(rng.randint(1, 4000)))
            elif operation == "advance":
                record_payment(db.session, cashier, patient=patient, clinic=center, method="cash",
                               amount=Decimal(rng.randint(1, 3000)))
            elif operation == "refund":
                refund(db.session, cashier, patient=patient, clinic=center, method="cash",
                       amount=Decimal(rng.randint(1, 2000)), reason="Возврат")
            elif operation == "credit" and open_invoices:
                credit_note(db.session, cashier, rng.choice(open_invoices), amount=Decimal(rng.randint(1, 3000)),
                            reason="Исправление")
            elif operation == "cancel" and open_invoices:
                set_invoice_status(db.session, owner, rng.choice(open_invoices), "cancelled", reason="Ошибка")
            db.session.commit()
        except DomainError:
            db.session.rollback()  # a refused step changes nothing; the invariant still holds
            open_invoices = [db.session.get(Invoice, invoice.id) for invoice in open_invoices]
        balance = patient_balance(db.session, patient)
        assert balance.balance == paid_less_invoiced(), (step, operation)
        assert balance.owed >= 0 and balance.deposit >= 0
        assert balance.owed == sum((invoice_due(db.session, i) for i in open_invoices
                                    if i.status in ("issued", "partly_paid")), Decimal("0.00"))


def test_a_credit_note_corrects_an_issued_invoice_and_the_rest_goes_to_the_deposit(cashier, admin, patient, center,
                                                                                    priced_service):
    service, _price = priced_service
    invoice = issued(cashier, patient, center, service, Decimal("3000.00"))
    record_payment(db.session, cashier, invoice=invoice, method="cash", amount="1000")
    with pytest.raises(DomainError) as refused:
        credit_note(db.session, cashier, invoice, amount="500", reason="")
    assert refused.value.field == "reason"
    with pytest.raises(NotAllowed):
        credit_note(db.session, admin, invoice, amount="500", reason="Скидка")
    with pytest.raises(DomainError) as refused:
        record_payment(db.session, cashier, invoice=invoice, method="credit", amount="500")
    assert refused.value.field == "method"

    settled, deposit = credit_note(db.session, cashier, invoice, amount="2500", reason="Пломба не поставлена")
    assert (settled.amount, settled.invoice_id, settled.credited_invoice_id) == (Decimal("2000.00"), invoice.id,
                                                                                 invoice.id)
    assert (deposit.amount, deposit.invoice_id) == (Decimal("500.00"), None)
    assert settled.receipt_number.startswith(f"CN{center.id}-") and invoice.status == "paid"
    assert invoice.lines[0].price == Decimal("3000.00")  # the invoice itself is not edited
    assert patient_balance(db.session, patient) == (Decimal("0.00"), Decimal("500.00"), Decimal("500.00"))
    with pytest.raises(DomainError) as refused:
        credit_note(db.session, cashier, invoice, amount="500.01", reason="Ещё")  # 3000 billed, 2500 credited
    assert refused.value.field == "amount"


# -- the cash desk ------------------------------------------------------------------------------------


def test_the_cashier_issues_takes_a_payment_and_prints_the_receipt(client, auth, cashier, patient, center,
                                                                    make_invoice):
    invoice = make_invoice(cashier, patient, center)
    total = invoice_due(db.session, invoice) or sum(line.amount for line in invoice.lines)
    auth.as_role("cashier")
    desk = client.get("/admin/cash-desk/").get_data(as_text=True)
    assert invoice.number in desk and patient.full_name in desk
    page_url = f"/admin/cash-desk/patient/{patient.id}"
    assert post(client, auth, f"/admin/cash-desk/invoice/{invoice.id}/issue", {}).status_code == 302
    response = post(client, auth, f"/admin/cash-desk/invoice/{invoice.id}/pay",
                    {"amount": f"{total + 100:.2f}", "method": "card"})
    assert response.status_code == 302
    page = client.get(page_url).get_data(as_text=True)
    assert "Payment taken" in page and "went to the patient&#39;s deposit" in page
    db.session.expire_all()
    assert invoice.status == "paid"
    payment = db.session.execute(select(Payment).where(Payment.invoice_id == invoice.id)).scalar_one()
    assert payment.received_by_id == cashier.id and payment.amount == total
    assert patient_balance(db.session, patient).deposit == Decimal("100.00")
    receipt = client.get(f"/admin/cash-desk/receipt/{payment.id}.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    text = pdf_text(receipt.data)
    for expected in (patient.last_name, patient.first_name, center.name, payment.receipt_number, "Receipt",
                     format_money(total).replace("\u00a0", " "), "Card"):
        assert expected in text, expected


def test_a_bad_payment_at_the_desk_names_the_field_and_changes_nothing(client, auth, cashier, patient, center,
                                                                        make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued", lines=2)
    auth.as_role("cashier")
    post(client, auth, f"/admin/cash-desk/invoice/{invoice.id}/pay", {"amount": "1 000,50", "method": "cash"})
    db.session.expire_all()
    assert invoice_due(db.session, invoice) == invoice.total - Decimal("1000.50")  # typed the Russian way
    before = db.session.scalar(select(func.count()).select_from(Payment))
    for amount, message in (("-5", "greater than zero"), ("abc", "Enter an amount of money"), ("", "Enter the amount")):
        post(client, auth, f"/admin/cash-desk/invoice/{invoice.id}/pay", {"amount": amount, "method": "cash"})
        page = client.get(f"/admin/cash-desk/patient/{patient.id}").get_data(as_text=True)
        assert "Not saved" in page and message in page, (amount, page[:200])
    draft = make_invoice(cashier, patient, center)
    post(client, auth, f"/admin/cash-desk/invoice/{draft.id}/cancel", {"reason": ""})
    assert "why the invoice is cancelled" in client.get(f"/admin/cash-desk/patient/{patient.id}").get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == before
    assert (invoice.status, draft.status) == ("partly_paid", "draft")


def test_the_cashier_makes_a_credit_note_at_the_desk_and_prints_it(client, auth, cashier, patient, center,
                                                                    make_invoice):
    invoice = make_invoice(cashier, patient, center, status="paid")
    auth.as_role("cashier")
    post(client, auth, f"/admin/cash-desk/invoice/{invoice.id}/credit", {"amount": "100,50", "reason": "Скидка"})
    assert "The credit note of" in client.get(f"/admin/cash-desk/patient/{patient.id}").get_data(as_text=True)
    note = db.session.execute(select(Payment).where(Payment.credited_invoice_id == invoice.id)).scalar_one()
    assert (note.amount, note.invoice_id, note.note) == (Decimal("100.50"), None, "Скидка")
    text = pdf_text(client.get(f"/admin/cash-desk/receipt/{note.id}.pdf").data)
    assert "Credit note" in text and invoice.number in text and "Скидка" in text


def test_the_desk_is_the_cash_desks_and_its_branchs(client, auth, owner, patient, south, make_invoice):
    theirs = make_invoice(owner, patient, south, status="issued")
    auth.as_role("doctor")
    assert client.get("/admin/cash-desk/").status_code == 403
    auth.as_role("cashier")  # the centre's cashier
    assert post(client, auth, f"/admin/cash-desk/invoice/{theirs.id}/pay",
                {"amount": "1", "method": "cash"}).status_code == 403
    assert theirs.number not in client.get("/admin/cash-desk/").get_data(as_text=True)


# -- the API -----------------------------------------------------------------------------------------------


def test_the_api_lists_issues_takes_payments_and_prints_receipts(api, cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, lines=2)
    api.as_role("cashier")
    [listed] = api.get(f"/api/v1/patients/{patient.id}/invoices").get_json()["invoices"]
    assert (listed["number"], listed["status"], len(listed["lines"])) == (invoice.number, "draft", 2)
    assert listed["total"] == f"{sum(Decimal(line['amount']) for line in listed['lines']):.2f}"
    assert api.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": "1", "method": "cash"}
                    ).status_code == 422  # a draft takes no payment
    issued_json = api.post(f"/api/v1/invoices/{invoice.id}/issue").get_json()
    assert issued_json["status"] == "issued"
    total = Decimal(issued_json["total"])
    response = api.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": f"{total + 50:.2f}",
                                                                         "method": "online"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["amount"], body["deposit"]["amount"]) == (f"{total:.2f}", "50.00")
    assert body["receipt_number"].startswith(f"R{center.id}-")
    assert api.get(f"/api/v1/patients/{patient.id}/balance").get_json() == {
        "owed": "0.00", "deposit": "50.00", "balance": "50.00"}
    receipt = api.get(f"/api/v1/payments/{body['id']}/receipt.pdf")
    assert receipt.status_code == 200 and patient.last_name in pdf_text(receipt.data)
    refused = api.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": "10", "method": "barter"})
    assert refused.status_code == 422 and "method" in refused.get_json()["fields"]
    api.as_role("doctor")
    assert api.get(f"/api/v1/patients/{patient.id}/balance").status_code == 403


# -- families ------------------------------------------------------------------------------------------------


def family(patient, other_patient):
    """``patient`` pays for ``other_patient`` (a parent for a child)."""
    from stompro.patients.services import check_patient

    other_patient.payer = patient
    check_patient(db.session, None, other_patient, is_created=False)
    db.session.commit()
    return patient, other_patient


def test_a_family_has_one_payer_one_level_deep(patient, other_patient):
    from stompro.patients.models import Patient
    from stompro.patients.services import check_patient

    patient.payer = patient
    with pytest.raises(DomainError) as refused:
        check_patient(db.session, None, patient, is_created=False)
    assert refused.value.field == "payer"
    db.session.rollback()
    payer, child = family(patient, other_patient)
    grandchild = Patient(last_name="Внукова", first_name="Ира", birth_date=child.birth_date, phone="+79160000099",
                         payer=child)
    db.session.add(grandchild)
    with pytest.raises(DomainError, match="choose the family's payer"):
        check_patient(db.session, None, grandchild, is_created=True, confirm_duplicate=True)
    db.session.rollback()
    stranger = Patient(last_name="Посторонний", first_name="Олег", birth_date=child.birth_date, phone="+79160000098")
    db.session.add(stranger)
    db.session.flush()
    payer.payer = stranger
    with pytest.raises(DomainError, match="pays for their family"):
        check_patient(db.session, None, payer, is_created=False)


def test_the_payers_deposit_serves_the_familys_invoices_and_one_statement(client, auth, cashier, patient,
                                                                          other_patient, center, priced_service):
    from stompro.billing.services import family_statement

    payer, child = family(patient, other_patient)
    record_payment(db.session, cashier, patient=payer, clinic=center, method="cash", amount="5000")
    invoice = issued(cashier, child, center, priced_service[0], Decimal("3000.00"))  # issuing spends the deposit
    assert invoice.status == "paid"
    spent = db.session.execute(select(Payment).where(Payment.invoice_id == invoice.id)).scalar_one()
    assert (spent.method, spent.patient_id, spent.amount) == ("deposit", payer.id, Decimal("3000.00"))
    assert patient_balance(db.session, payer).deposit == Decimal("2000.00")
    second = issued(cashier, child, center, priced_service[0], Decimal("2500.00"))
    assert invoice_due(db.session, second) == Decimal("500.00")
    rows, total = family_statement(db.session, payer)
    assert [person.id for person, _balance in rows] == [payer.id, child.id]
    assert total == Decimal("-500.00")
    db.session.commit()

    auth.as_role("cashier")
    page = client.get(f"/admin/cash-desk/patient/{payer.id}").get_data(as_text=True)
    assert 'id="family"' in page and child.full_name in page
    page = client.get(f"/admin/cash-desk/patient/{child.id}").get_data(as_text=True)
    assert "data-family-payer" in page and payer.full_name in page
    record_payment(db.session, cashier, patient=payer, clinic=center, method="card", amount="800")
    db.session.commit()
    post(client, auth, f"/admin/cash-desk/invoice/{second.id}/from-deposit", {})
    assert "was paid from the deposit" in client.get(f"/admin/cash-desk/patient/{child.id}").get_data(as_text=True)
    db.session.expire_all()
    assert second.status == "paid" and patient_balance(db.session, payer).deposit == Decimal("300.00")

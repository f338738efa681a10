"""The cash desk through the real generic forms: what a cashier types is
saved through billing.services with its audit row; a broken rule is a
message under the field at fault and nothing is written; a branch's
invoices and payments are its own."""
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import lxml.html
import pytest
from sqlalchemy import select

from stompro.billing.models import Invoice, InvoiceLine, Payment
from stompro.billing.services import invoice_due, record_payment
from stompro.extensions import db

from .forms import audit_rows, count, field_errors, form_values, lookup, minutes_ago, post, typed


def newest(model):
    return db.session.execute(select(model).order_by(model.id.desc()).limit(1)).scalar_one()


def demo_invoice(branch, status):
    return db.session.execute(
        select(Invoice).where(Invoice.clinic_id == branch.id, Invoice.status == status, Invoice.deleted_at.is_(None))
        .order_by(Invoice.id).limit(1)
    ).scalar_one()


def evaluated(values):
    """Parameters computed in the test (the clinic's clock needs the app)."""
    return {name: value() if callable(value) else value for name, value in values.items()}


def invoice_form(patient, branch, **values):
    return {"patient": patient.id, "clinic": branch.id, "payer_kind": "self",
            "insurance_company": "__None", "issued_at": typed(minutes_ago(5)), "note": "", **values}


def payment_form(patient, branch, invoice=None, **values):
    return {"patient": patient.id, "invoice": invoice.id if invoice else "", "clinic": branch.id, "method": "cash",
            "amount": "500.00", "paid_at": typed(minutes_ago(1)), "note": "", **values}


# -- invoices -------------------------------------------------------------------------------------


def test_a_cashier_makes_a_draft_invoice_numbered_by_the_branch(client, auth, cashier, patient, center):
    auth.as_role("cashier")
    response = post(client, auth, "/admin/invoice/new/", invoice_form(patient, center, note="Оплата после визита"))
    assert response.status_code == 302, response.get_data(as_text=True)
    invoice = newest(Invoice)
    assert (invoice.patient_id, invoice.clinic_id, invoice.status, invoice.note) == (
        patient.id, center.id, "draft", "Оплата после визита")
    assert re.fullmatch(rf"INV{center.id}-\d{{4}}-\d{{6}}", invoice.number)
    assert audit_rows("invoice", invoice.id)[0].actor_id == cashier.id


def test_the_create_form_offers_no_status_and_no_number(client, auth):
    auth.as_role("cashier")
    values = form_values(client.get("/admin/invoice/new/").get_data(as_text=True))
    assert "status" not in values and "number" not in values  # the branch's next number, never typed
    assert values["issued_at"]  # now, unless typed


@pytest.mark.parametrize("status", ["issued", "paid"])
def test_a_demo_invoice_submitted_unchanged_is_saved(client, auth, center, status):
    invoice = demo_invoice(center, status)
    before = (invoice.number, invoice.issued_at, invoice.status, invoice.patient_id, invoice.note)
    auth.as_role("cashier")
    values = form_values(client.get(f"/admin/invoice/edit/?id={invoice.id}").get_data(as_text=True))
    response = post(client, auth, f"/admin/invoice/edit/?id={invoice.id}", values)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert (invoice.number, invoice.issued_at, invoice.status, invoice.patient_id, invoice.note) == before


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"issued_at": "01.01.2999 10:00"}, "issued_at", "Enter a date from"),
        ({"issued_at": lambda: typed(datetime.now(timezone.utc) + timedelta(days=2))}, "issued_at", "in the future"),
        ({"payer_kind": "insurance"}, "insurance_company", "needs an insurance company"),
        ({"note": "a\x00b"}, "note", "control characters"),
        ({"note": "x" * 20_000}, "note", "At most 10000 characters"),
    ],
)
def test_a_bad_invoice_is_refused_under_its_field(client, auth, patient, center, values, field, message):
    auth.as_role("cashier")
    before = count(Invoice)
    response = post(client, auth, "/admin/invoice/new/", invoice_form(patient, center, **evaluated(values)))
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), field)
    assert errors and message in " ".join(errors), errors
    assert count(Invoice) == before


def test_issuing_an_empty_invoice_is_refused(client, auth, cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, lines=0)
    auth.as_role("cashier")
    values = form_values(client.get(f"/admin/invoice/edit/?id={invoice.id}").get_data(as_text=True))
    response = post(client, auth, f"/admin/invoice/edit/?id={invoice.id}", {**values, "status": "issued"})
    assert "Add the services to the invoice before issuing it." in field_errors(response.get_data(as_text=True), "status")
    db.session.expire_all()
    assert invoice.status == "draft"


def test_editing_a_paid_invoice_is_refused(client, auth, cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="paid")
    auth.as_role("cashier")
    url = f"/admin/invoice/edit/?id={invoice.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    changed = typed(invoice.issued_at - timedelta(days=1))
    response = post(client, auth, url, {**values, "issued_at": changed})
    assert "closed" in " ".join(field_errors(response.get_data(as_text=True), "issued_at"))
    response = post(client, auth, url, {**values, "status": "issued"})
    assert "cannot go from" in " ".join(field_errors(response.get_data(as_text=True), "status"))
    db.session.expire_all()
    assert invoice.status == "paid" and invoice.issued_at > datetime.now(timezone.utc) - timedelta(hours=1)


def test_the_details_page_shows_the_lines_and_what_is_due(client, auth, cashier, patient, center, make_invoice,
                                                          priced_service):
    invoice = make_invoice(cashier, patient, center, status="issued", lines=2)
    record_payment(db.session, cashier, invoice=invoice, method="cash", amount=Decimal("100.00"))
    db.session.commit()
    service, price = priced_service
    auth.as_role("cashier")
    page = client.get(f"/admin/invoice/details/?id={invoice.id}").get_data(as_text=True)
    assert page.count(str(service.code)) >= 2
    total = price * 2
    for amount in (total, Decimal("100.00"), total - 100):
        assert f"{amount:,.2f}".replace(",", " ").replace(".", ",") in page


def test_invoices_are_cancelled_not_deleted(client, auth, cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center)
    auth.as_role("owner")
    response = post(client, auth, "/admin/invoice/delete/", {"id": invoice.id})
    assert response.status_code == 403
    db.session.expire_all()
    assert invoice.deleted_at is None


# -- lines ----------------------------------------------------------------------------------------------


def test_a_line_is_added_with_the_price_of_today(client, auth, cashier, patient, center, make_invoice,
                                                 priced_service):
    invoice = make_invoice(cashier, patient, center, lines=0)
    service, price = priced_service
    auth.as_role("cashier")
    response = post(client, auth, "/admin/invoice_line/new/",
                    {"invoice": invoice.id, "service": service.id, "tooth": "36", "quantity": "2", "price": "",
                     "discount": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)
    line = newest(InvoiceLine)
    assert (line.invoice_id, line.tooth, line.quantity, line.price) == (invoice.id, 36, 2, price)
    assert audit_rows("invoice_line", line.id)

    url = f"/admin/invoice_line/edit/?id={line.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    assert "invoice" not in values  # a line stays on its invoice
    assert post(client, auth, url, values).status_code == 302


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"tooth": "19"}, "tooth", "does not exist in FDI"),
        ({"quantity": "0"}, "quantity", "from 1 to 999"),
        ({"price": "1000000000000000"}, "price", "too large"),
        ({"price": "-10"}, "price", "cannot be negative"),
        ({"price": "100", "discount": "150"}, "discount", "between zero and the line amount"),
    ],
)
def test_a_bad_line_is_refused_under_its_field(client, auth, cashier, patient, center, make_invoice,
                                               priced_service, values, field, message):
    invoice = make_invoice(cashier, patient, center, lines=0)
    service, _price = priced_service
    auth.as_role("cashier")
    data = {"invoice": invoice.id, "service": service.id, "tooth": "", "quantity": "1", "price": "", "discount": "0",
            **values}
    response = post(client, auth, "/admin/invoice_line/new/", data)
    assert response.status_code == 200
    assert message in " ".join(field_errors(response.get_data(as_text=True), field))
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice.id) == 0


def test_an_issued_invoice_takes_no_new_line(client, auth, cashier, patient, center, make_invoice, priced_service):
    invoice = make_invoice(cashier, patient, center, status="issued")
    paid = make_invoice(cashier, patient, center, status="paid")
    service, _price = priced_service
    auth.as_role("cashier")
    for closed, message in ((invoice, "only while it is a draft"), (paid, "Not a valid choice.")):
        response = post(client, auth, "/admin/invoice_line/new/",
                        {"invoice": closed.id, "service": service.id, "quantity": "1", "price": "", "discount": "0"})
        assert response.status_code == 200
        assert message in " ".join(field_errors(response.get_data(as_text=True), "invoice"))
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice.id) == 1
    line = invoice.lines[0]
    url = f"/admin/invoice_line/edit/?id={line.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    assert post(client, auth, url, values).status_code == 302  # saved as it is: nothing changes
    response = post(client, auth, url, {**values, "quantity": "5"})
    assert response.status_code == 200 and "only while it is a draft" in response.get_data(as_text=True)
    response = post(client, auth, "/admin/invoice_line/delete/", {"id": line.id}, follow_redirects=True)
    assert "only while it is a draft" in response.get_data(as_text=True)
    db.session.expire_all()
    assert line.deleted_at is None


# -- payments ------------------------------------------------------------------------------------------------


def test_a_payment_is_taken_by_the_signed_in_cashier(client, auth, cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, status="issued")
    due = invoice_due(db.session, invoice)
    auth.as_role("cashier")
    values = form_values(client.get("/admin/payment/new/").get_data(as_text=True))
    assert "received_by" not in values
    response = post(client, auth, "/admin/payment/new/", payment_form(patient, center, invoice, amount=str(due)))
    assert response.status_code == 302, response.get_data(as_text=True)
    payment = newest(Payment)
    assert (payment.received_by_id, payment.invoice_id, payment.amount) == (cashier.id, invoice.id, due)
    assert audit_rows("payment", payment.id)[0].actor_id == cashier.id
    db.session.expire_all()
    assert invoice.status == "paid"


@pytest.mark.parametrize(
    "values, field, message",
    [
        ({"amount": "1000000000000000"}, "amount", "too large"),
        ({"amount": "-5"}, "amount", "greater than zero"),
        ({"amount": "0"}, "amount", "greater than zero"),
        ({"amount": "1.005"}, "amount", "two digits"),
        ({"note": "a\x00b"}, "note", "control characters"),
        ({"note": "x" * 20_000}, "note", "At most 10000 characters"),
        ({"paid_at": "01.01.2999 10:00"}, "paid_at", "Enter a date from"),
        ({"paid_at": lambda: typed(datetime.now(timezone.utc) + timedelta(hours=2))}, "paid_at", "in the future"),
        ({"paid_at": lambda: typed(datetime.now(timezone.utc) - timedelta(days=45))}, "paid_at", "within 30 days"),
        ({"method": "deposit"}, "invoice", "choose it"),
    ],
)
def test_a_bad_payment_is_refused_under_its_field(client, auth, patient, center, values, field, message):
    auth.as_role("cashier")
    before = count(Payment)
    response = post(client, auth, "/admin/payment/new/", payment_form(patient, center, **evaluated(values)))
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), field)
    assert message in " ".join(errors), errors
    assert count(Payment) == before


def test_a_payment_to_another_patients_invoice_is_refused(client, auth, cashier, patient, other_patient, center,
                                                          make_invoice):
    theirs = make_invoice(cashier, other_patient, center, status="issued")
    auth.as_role("cashier")
    before = count(Payment)
    response = post(client, auth, "/admin/payment/new/", payment_form(patient, center, theirs, amount="1.00"))
    assert "This invoice is another patient's." in field_errors(response.get_data(as_text=True), "invoice")
    assert count(Payment) == before


def test_a_payment_changes_only_its_note(client, auth, cashier, patient, center):
    payment = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount=700)
    db.session.commit()
    auth.as_role("cashier")
    url = f"/admin/payment/edit/?id={payment.id}"
    values = form_values(client.get(url).get_data(as_text=True))
    assert set(values) == {"note"}
    assert post(client, auth, url, values).status_code == 302  # unchanged
    number = payment.receipt_number
    response = post(client, auth, url, {"receipt_number": "R-9", "note": "Чек", "amount": "1", "patient": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (payment.receipt_number, payment.note, payment.amount, payment.patient_id) == (
        number, "Чек", Decimal("700.00"), patient.id)


def test_a_demo_payment_submitted_unchanged_is_saved(client, auth, center):
    payment = db.session.execute(
        select(Payment).where(Payment.clinic_id == center.id).order_by(Payment.id).limit(1)
    ).scalar_one()
    auth.as_role("cashier")
    url = f"/admin/payment/edit/?id={payment.id}"
    response = post(client, auth, url, form_values(client.get(url).get_data(as_text=True)))
    assert response.status_code == 302


def test_only_the_owner_moves_a_payment_to_the_recycle_bin(client, auth, cashier, patient, center):
    payment = record_payment(db.session, cashier, patient=patient, clinic=center, method="cash", amount=50)
    db.session.commit()
    auth.as_role("cashier")
    assert post(client, auth, "/admin/payment/delete/", {"id": payment.id}).status_code == 403
    auth.as_role("owner")
    assert post(client, auth, "/admin/payment/delete/", {"id": payment.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).deleted_at is not None  # hidden, not erased
    assert audit_rows("payment", payment.id, "soft_delete")


# -- branches ---------------------------------------------------------------------------------------------


def test_a_cashier_sees_and_writes_only_the_own_branchs_cash_desk(client, auth, owner, patient, south, center,
                                                                  make_invoice):
    theirs = make_invoice(owner, patient, south, status="issued")
    their_payment = record_payment(db.session, owner, invoice=theirs, method="cash", amount=Decimal("1.00"))
    db.session.commit()
    auth.as_role("cashier")

    assert theirs.number not in cells(client.get("/admin/invoice/?search=" + theirs.number).get_data(as_text=True))
    for url in (f"/admin/invoice/details/?id={theirs.id}", f"/admin/invoice/edit/?id={theirs.id}",
                f"/admin/payment/details/?id={their_payment.id}", f"/admin/payment/edit/?id={their_payment.id}"):
        assert client.get(url).status_code == 404, url
    assert post(client, auth, f"/admin/invoice/edit/?id={theirs.id}", {"note": "x"}).status_code == 404
    assert post(client, auth, f"/admin/payment/edit/?id={their_payment.id}", {"note": "x"}).status_code == 404

    page = client.get("/admin/invoice/new/").get_data(as_text=True)
    assert south.name not in page  # the branch picker offers the own branch only
    invoices, payments = count(Invoice), count(Payment)
    response = post(client, auth, "/admin/invoice/new/", invoice_form(patient, south))
    assert "Not a valid choice." in field_errors(response.get_data(as_text=True), "clinic")
    response = post(client, auth, "/admin/payment/new/", payment_form(patient, south, theirs, amount="1.00"))
    assert "Not a valid choice." in field_errors(response.get_data(as_text=True), "clinic")
    assert "Not a valid choice." in field_errors(response.get_data(as_text=True), "invoice")  # not offered: south's
    response = post(client, auth, "/admin/payment/new/", payment_form(patient, center, theirs, amount="1.00"))
    assert "Not a valid choice." in field_errors(response.get_data(as_text=True), "invoice")  # never dropped to blank
    assert (count(Invoice), count(Payment)) == (invoices, payments)
    assert [row for row in lookup(client, "payment", "invoice", theirs.number) if row[0] == theirs.id] == []

    auth.as_role("owner")
    assert client.get(f"/admin/invoice/details/?id={theirs.id}").status_code == 200
    assert theirs.number in cells(client.get("/admin/invoice/?search=" + theirs.number).get_data(as_text=True))
    assert client.get(f"/admin/payment/details/?id={their_payment.id}").status_code == 200


def cells(page):
    """The texts of the list's cells."""
    return {cell.text_content().strip() for cell in lxml.html.fromstring(page).xpath("//table//td")}


def test_the_lists_of_a_cashier_hold_the_own_branch_only(client, auth, center, south):
    newest_south = set(db.session.execute(
        select(Invoice.number).where(Invoice.clinic_id == south.id).order_by(Invoice.issued_at.desc()).limit(20)
    ).scalars())
    auth.as_role("owner")
    assert newest_south & cells(client.get("/admin/invoice/?page_size=100").get_data(as_text=True))
    assert south.name in cells(client.get("/admin/payment/?page_size=100").get_data(as_text=True))

    auth.as_role("cashier")
    invoices = cells(client.get("/admin/invoice/?page_size=100").get_data(as_text=True))
    assert center.name in invoices and south.name not in invoices
    assert not newest_south & invoices
    payments = cells(client.get("/admin/payment/?page_size=100").get_data(as_text=True))
    assert center.name in payments and south.name not in payments


# -- pickers --------------------------------------------------------------------------------------------------


def test_the_pickers_find_in_cyrillic_and_latin(client, auth, cashier, patient, other_patient, center, make_invoice,
                                                priced_service):
    draft = make_invoice(cashier, patient, center)
    issued = make_invoice(cashier, other_patient, center, status="issued")
    service, _price = priced_service
    auth.as_role("cashier")
    for endpoint in ("invoice", "payment"):
        assert patient.id in [row[0] for row in lookup(client, endpoint, "patient", "Зубова")]
        assert other_patient.id in [row[0] for row in lookup(client, endpoint, "patient", "smith")]
    assert draft.id in [row[0] for row in lookup(client, "invoice_line", "invoice", "зубова")]
    assert draft.id in [row[0] for row in lookup(client, "invoice_line", "invoice", draft.number.lower())]
    offered = [row[0] for row in lookup(client, "invoice_line", "invoice", "")]
    assert offered.index(draft.id) < offered.index(issued.id)  # drafts first
    assert issued.id in [row[0] for row in lookup(client, "payment", "invoice", "Smith")]
    assert service.id in [row[0] for row in lookup(client, "invoice_line", "service", service.code.lower())]
    assert service.id in [row[0] for row in lookup(client, "invoice_line", "service", service.name_ru.split()[0])]
    lookup(client, "payment", "invoice", "\x00" * 500)  # never a 500


def test_the_cash_desk_speaks_russian(client, auth, cashier, patient, center, make_invoice):
    invoice = make_invoice(cashier, patient, center, lines=0)
    auth.as_role("cashier", language="ru")
    page = client.get(f"/admin/invoice/details/?id={invoice.id}").get_data(as_text=True)
    assert "Строк пока нет." in page and "К оплате" in page
    values = form_values(client.get(f"/admin/invoice/edit/?id={invoice.id}").get_data(as_text=True))
    response = post(client, auth, f"/admin/invoice/edit/?id={invoice.id}", {**values, "status": "issued"})
    assert "Добавьте услуги в счёт, прежде чем выставить его." in field_errors(response.get_data(as_text=True), "status")

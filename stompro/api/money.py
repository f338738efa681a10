"""The money of a visit for other tools: the services performed at a visit,
a patient's invoices and balance, issuing an invoice, taking a payment and
its receipt — the same rules as the panel (billing.performed,
billing.services). Money is a string with two decimals."""
from urllib.parse import quote

from flask import Response
from flask_babel import lazy_gettext as _l

from ..billing.admin import CASH_DESK
from ..billing.desk import patient_invoices
from ..billing.models import Invoice, Payment
from ..billing.performed import mark_services
from ..billing.printing import receipt_pdf
from ..billing.services import patient_balance, set_invoice_status, take_payment
from ..errors import NotAllowed
from ..extensions import db
from ..org.branches import require_branch
from ..org.roles import DOCTOR, OWNER
from ..planning.services import money
from ..records import live_row
from . import bp
from .appointments import ID, VISIT_URL, _visit_or_404
from .auth import current_staff, requires_roles
from .documents import _patient_or_404
from .errors import ApiError, service_write
from .payload import iso_moment, json_object

MARKERS = frozenset({DOCTOR, OWNER})


@bp.post(f"{VISIT_URL}/services")
@requires_roles(MARKERS)
def mark_visit_services(appointment_id):
    visit = _visit_or_404(appointment_id)
    body = json_object(allowed=("items",))
    marked = _written(lambda: mark_services(db.session, current_staff(), visit, body.get("items")))
    return {"services": [_performed_json(performed) for performed in marked]}, 201


@bp.get(f"/patients/<{ID}:patient_id>/invoices")
@requires_roles(CASH_DESK)
def list_patient_invoices(patient_id):
    patient = _patient_or_404(patient_id)
    waiting, closed = patient_invoices(db.session, patient, current_staff())
    return {"invoices": [_invoice_json(row) for row in waiting + closed]}


@bp.get(f"/patients/<{ID}:patient_id>/balance")
@requires_roles(CASH_DESK)
def patient_balance_json(patient_id):
    balance = patient_balance(db.session, _patient_or_404(patient_id))
    return {"owed": money(balance.owed), "deposit": money(balance.deposit), "balance": money(balance.balance)}


@bp.post(f"/invoices/<{ID}:invoice_id>/issue")
@requires_roles(CASH_DESK)
def issue_invoice(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    _written(lambda: set_invoice_status(db.session, current_staff(), invoice, "issued"))
    return _invoice_json(_row_of(invoice))


@bp.post(f"/invoices/<{ID}:invoice_id>/payments")
@requires_roles(CASH_DESK)
def pay_invoice(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    body = json_object(allowed=("amount", "method", "note"))
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (str, int, float, type(None))):
        raise ApiError(422, fields={"amount": _l("Give the amount as a number or a string.")})
    taken = _written(lambda: take_payment(db.session, current_staff(), invoice, method=body.get("method"),
                                          amount=str(amount) if isinstance(amount, float) else amount,
                                          note=body.get("note")))
    answer = _payment_json(taken.payment)
    answer["deposit"] = _payment_json(taken.deposit) if taken.deposit is not None else None
    return answer, 201


@bp.get(f"/payments/<{ID}:payment_id>/receipt.pdf")
@requires_roles(CASH_DESK)
def payment_receipt(payment_id):
    payment = live_row(db.session, Payment, payment_id)
    if payment is None:
        raise ApiError(404, _l("There is no payment #%(id)s.", id=payment_id))
    _require_branch(payment.clinic_id)
    response = Response(receipt_pdf(db.session, payment), mimetype="application/pdf")
    name = f"receipt-{payment.receipt_number}.pdf"
    response.headers["Content-Disposition"] = f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    return response


def _written(write):
    """Run ``write`` within one service write (api.errors.service_write) and give back what it made."""
    with service_write():
        return write()


def _invoice_or_404(invoice_id):
    invoice = live_row(db.session, Invoice, invoice_id)
    if invoice is None:
        raise ApiError(404, _l("There is no invoice #%(id)s.", id=invoice_id))
    _require_branch(invoice.clinic_id)
    return invoice


def _require_branch(clinic_id):
    try:
        require_branch(current_staff(), clinic_id)
    except NotAllowed as error:
        raise ApiError(403, error.message) from None


def _row_of(invoice):
    waiting, closed = patient_invoices(db.session, invoice.patient, current_staff())
    return next(row for row in waiting + closed if row.invoice.id == invoice.id)


def _invoice_json(row):
    invoice = row.invoice
    return {
        "id": invoice.id, "number": invoice.number, "status": invoice.status, "payer_kind": invoice.payer_kind,
        "issued_at": iso_moment(invoice.issued_at), "appointment_id": invoice.appointment_id,
        "total": money(row.total), "paid": money(row.paid), "due": money(row.due),
        "lines": [{"service_code": line.service.code, "tooth": line.tooth, "quantity": line.quantity,
                   "price": money(line.price), "discount": money(line.discount), "amount": money(line.amount)}
                  for line in row.lines],
    }


def _payment_json(payment):
    return {"id": payment.id, "receipt_number": payment.receipt_number, "invoice_id": payment.invoice_id,
            "method": payment.method, "amount": money(payment.amount), "paid_at": iso_moment(payment.paid_at)}


def _performed_json(performed):
    return {"id": performed.id, "plan_item_id": performed.plan_item_id, "service_code": performed.service.code,
            "tooth": performed.tooth, "surfaces": performed.surfaces, "quantity": performed.quantity,
            "price": money(performed.price), "insured": performed.insured, "note": performed.note}

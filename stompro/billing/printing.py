"""A payment's receipt on paper (PDF, the project's pdf.py), in the clinic's
language whoever prints it.

This is the clinic's own receipt, not a fiscal one: a fiscal register (an
online cash register under 54-FZ) would take the payment where
billing.services records it (``_add_payment``) and its fiscal sign would be
printed here beside the receipt number."""
from flask import current_app, render_template
from flask_babel import force_locale

from ..admin.choices import VALUE_LABELS
from ..i18n import localized
from ..patients.phones import format_phone
from ..pdf import render_pdf
from ..timefmt import format_money, format_moment
from .services import invoice_summary


def receipt_html(session, payment):
    invoice = payment.invoice
    lines, total, paid, due = invoice_summary(session, invoice) if invoice is not None else ([], None, None, None)
    language = current_app.config["DEFAULT_LANGUAGE"]
    with force_locale(language):
        return render_template(
            "billing/receipt.html", payment=payment, invoice=invoice, language=language,
            refund=payment.amount < 0, credit=payment.method == "credit", amount=format_money(abs(payment.amount)),
            method=str(VALUE_LABELS.get(payment.method, payment.method)), paid_at=format_moment(payment.paid_at),
            lines=[(line.tooth, localized(line.service), line.quantity, format_money(line.amount)) for line in lines],
            total=format_money(total) if invoice is not None else "", due=format_money(due) if invoice else "",
            phone=format_phone(payment.clinic.phone) if payment.clinic.phone else "",
        )


def receipt_pdf(session, payment):
    return render_pdf(receipt_html(session, payment))

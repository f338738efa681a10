"""The cash desk: the invoices waiting for the cashier, and a patient's
page — balance, invoices with their lines, taking a payment (what is more
than due goes to the deposit), an advance, a refund, and the receipts. The
rules are billing.services; the figures, billing.desk."""
from decimal import Decimal
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..admin.base import PostsNeedEdit, RoleGuard
from ..admin.choices import VALUE_LABELS
from ..admin.permissions import Permissions
from ..audit.access import record_access
from ..errors import DomainError, NotAllowed
from ..extensions import db
from ..i18n import localized
from ..org.branches import clinics_of, require_branch
from ..org.models import Clinic
from ..org.roles import CASHIER, OWNER
from ..patients.models import Patient
from ..records import live_row, row_by_id
from ..db import utcnow
from ..pdf import render_pdf
from ..scheduling.availability import local_day
from ..timefmt import format_money, format_moment, parse_day
from .admin import CASH_DESK
from .day_report import day_report
from .desk import latest_payments, patient_invoices, waiting_invoices
from .models import Invoice, Payment
from .printing import receipt_pdf
from .services import (
    ADVANCE_METHODS, credit_note, family_statement, patient_balance, pay_from_deposit, record_payment, refund,
    set_invoice_status, take_payment,
)



class CashDeskView(PostsNeedEdit, RoleGuard, BaseView):
    permissions = Permissions(list=CASH_DESK, edit=CASH_DESK)

    @expose("/")
    def index(self):
        search = request.args.get("q", "")[:100]
        return self.render("billing/desk.html", invoices=waiting_invoices(db.session, current_user, search),
                           search=search, label=VALUE_LABELS, money=format_money, moment=format_moment)

    @expose("/patient/<int:patient_id>")
    def patient(self, patient_id):
        patient = self._patient(patient_id)
        me = current_user._get_current_object()
        waiting, closed = patient_invoices(db.session, patient, me)
        mine = clinics_of(db.session, me)
        family, family_total = family_statement(db.session, patient)
        balance = family[0][1]  # the patient's own, first in their family's statement
        payer_balance = patient_balance(db.session, patient.payer) if patient.payer is not None else None
        return self.render(
            "billing/desk_patient.html", patient=patient, balance=balance,
            usable_deposit=balance.deposit + (payer_balance.deposit if payer_balance else Decimal("0")),
            family=family if len(family) > 1 else [], family_total=family_total, payer_balance=payer_balance,
            waiting=waiting, closed=closed, payments=latest_payments(db.session, patient, me),
            methods=ADVANCE_METHODS, clinics=mine, label=VALUE_LABELS, money=format_money, moment=format_moment,
            localized=localized, may_refund=bool({OWNER, CASHIER} & set(me.roles)),
        )

    @expose("/invoice/<int:invoice_id>/issue", methods=("POST",))
    def issue(self, invoice_id):
        """Issue a draft; the patient's deposit pays what it can of it, and the cashier is told how much."""
        invoice = self._invoice(invoice_id)
        response = self._write(invoice.patient_id,
                               lambda me: set_invoice_status(db.session, me, invoice, "issued"),
                               _("Issued: %(number)s.", number=invoice.number))
        spent = sum((p.amount for p in latest_payments(db.session, invoice.patient, current_user)
                     if p.invoice_id == invoice.id and p.method == "deposit"), Decimal("0"))
        if spent:
            flash(_("%(amount)s of it was paid from the patient's deposit.", amount=format_money(spent)), "info")
        return response

    @expose("/invoice/<int:invoice_id>/cancel", methods=("POST",))
    def cancel(self, invoice_id):
        invoice = self._invoice(invoice_id)
        return self._write(
            invoice.patient_id,
            lambda me: set_invoice_status(db.session, me, invoice, "cancelled", reason=request.form.get("reason")),
            _("Cancelled: %(number)s.", number=invoice.number))

    @expose("/invoice/<int:invoice_id>/pay", methods=("POST",))
    def pay(self, invoice_id):
        """``amount``, ``method``: what is due pays the invoice, the rest goes to the deposit."""
        invoice = self._invoice(invoice_id)
        taken = []

        def write(me):
            taken.append(take_payment(db.session, me, invoice, method=request.form.get("method"),
                                      amount=_typed_amount(), note=request.form.get("note")))

        response = self._write(invoice.patient_id, write, None)
        if taken:
            payment, deposit = taken[0]
            flash(_("Payment taken: %(amount)s, receipt %(number)s.", amount=format_money(payment.amount),
                    number=payment.receipt_number), "success")
            if deposit is not None:
                flash(_("%(amount)s more went to the patient's deposit (receipt %(number)s).",
                        amount=format_money(deposit.amount), number=deposit.receipt_number), "success")
        return response

    @expose("/invoice/<int:invoice_id>/from-deposit", methods=("POST",))
    def from_deposit(self, invoice_id):
        """Pay what is due from the patient's deposit, then from their family payer's."""
        invoice = self._invoice(invoice_id)
        paid = []
        response = self._write(invoice.patient_id,
                               lambda me: paid.extend(pay_from_deposit(db.session, me, invoice)), None)
        if paid:
            flash(_("%(amount)s was paid from the deposit.",
                    amount=format_money(sum((p.amount for p in paid), Decimal("0")))), "success")
        return response

    @expose("/invoice/<int:invoice_id>/credit", methods=("POST",))
    def credit(self, invoice_id):
        """``amount``, ``reason``: a credit note correcting an issued invoice."""
        invoice = self._invoice(invoice_id)
        return self._write(
            invoice.patient_id,
            lambda me: credit_note(db.session, me, invoice, amount=_typed_amount(), reason=request.form.get("reason")),
            _("The credit note of %(number)s is made.", number=invoice.number))

    @expose("/patient/<int:patient_id>/advance", methods=("POST",))
    def advance(self, patient_id):
        """``amount``, ``method``, ``clinic_id``: an advance to the patient's deposit."""
        patient = self._patient(patient_id)
        return self._write(
            patient.id,
            lambda me: record_payment(db.session, me, patient=patient, clinic=self._clinic(), note=request.form.get(
                "note"), method=request.form.get("method"), amount=_typed_amount()),
            _("The advance is on the patient's deposit."))

    @expose("/patient/<int:patient_id>/refund", methods=("POST",))
    def refund(self, patient_id):
        """``amount``, ``method``, ``reason``, ``clinic_id``: deposit money given back."""
        patient = self._patient(patient_id)
        return self._write(
            patient.id,
            lambda me: refund(db.session, me, patient=patient, clinic=self._clinic(), method=request.form.get(
                "method"), amount=_typed_amount(), reason=request.form.get("reason")),
            _("The refund is recorded."))

    @expose("/day")
    def day(self):
        """``clinic``, ``day`` (ISO; today when left out): the branch's day report."""
        return self.render("billing/day_report.html", report=self._day_report(),
                           clinics=clinics_of(db.session, current_user), label=VALUE_LABELS, money=format_money)

    @expose("/day.pdf")
    def day_pdf(self):
        report = self._day_report()
        language = current_app.config["DEFAULT_LANGUAGE"]
        with force_locale(language):
            html = render_template("billing/day_report_print.html", report=report, label=VALUE_LABELS,
                                   money=format_money, language=language, printed=format_moment(utcnow()))
        name = f"day-report-{report.clinic.id}-{report.day.isoformat()}.pdf"
        return Response(render_pdf(html), mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename=\"{name}\""})

    def _day_report(self):
        mine = clinics_of(db.session, current_user)
        clinic = row_by_id(db.session, Clinic, request.args.get("clinic")) or (mine[0] if mine else None)
        if clinic is None:
            abort(404)
        self._may(clinic.id)
        day = parse_day(request.args.get("day")) if request.args.get("day") else None
        if request.args.get("day") and day is None:
            flash(_("The date is not understood; today's report is shown."), "error")
        day = day or local_day(clinic, utcnow())
        return day_report(db.session, clinic, day)

    @expose("/receipt/<int:payment_id>.pdf")
    def receipt(self, payment_id):
        payment = db.session.get(Payment, payment_id)
        if payment is None or payment.deleted_at is not None:
            abort(404)
        self._may(payment.clinic_id)
        record_access(db.session, current_user, payment.patient_id, "records")
        try:
            body = receipt_pdf(db.session, payment)
        except DomainError as error:
            return Response(str(error.message), status=422, mimetype="text/plain")
        response = Response(body, mimetype="application/pdf")
        name = f"receipt-{payment.receipt_number}.pdf"
        response.headers["Content-Disposition"] = f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
        return response

    def _write(self, patient_id, write, message):
        """Run ``write`` for the signed-in person and commit, or show why not; back to the patient's page."""
        try:
            write(current_user._get_current_object())
            db.session.commit()
        except NotAllowed as error:
            db.session.rollback()
            flash(str(error.message), "error")
        except DomainError as error:
            db.session.rollback()
            flash(_("Not saved: %(reason)s", reason=error.message), "error")
        else:
            if message:
                flash(message, "success")
        return redirect(url_for(".patient", patient_id=patient_id))

    def _clinic(self):
        return row_by_id(db.session, Clinic, request.form.get("clinic_id"))

    def _patient(self, patient_id):
        patient = live_row(db.session, Patient, patient_id)
        if patient is None:
            abort(404)
        record_access(db.session, current_user, patient.id, "records")
        return patient

    def _invoice(self, invoice_id):
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is None or invoice.deleted_at is not None:
            abort(404)
        self._may(invoice.clinic_id)
        return invoice

    def _may(self, clinic_id):
        try:
            require_branch(current_user, clinic_id)
        except NotAllowed:
            abort(403)


def _typed_amount():
    """The form's ``amount`` as a person types it: "1 500,50" is 1500.50."""
    text = (request.form.get("amount") or "")[:40]
    return "".join(text.split()).replace("\u00a0", "").replace(",", ".")

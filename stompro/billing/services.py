"""The cash desk's rules: invoices, their lines and payments.

Every function takes the session and the acting staff member, flushes and
never commits (the panel, the API and the CLI commit once around it), and
raises DomainError with a message naming the field at fault. A person writes
only to the branches they work in (org.branches.require_branch); owners and
the call center work network-wide.

Invoices
  - A new invoice is a draft; its number is the branch's next one of the
    year, ``INV<branch id>-<year>-<sequence>``, without gaps (numbering.py);
    nobody types it. ``issued_at`` is now unless typed, never in the future.
  - Status: draft → issued → partly paid → paid, and draft, issued or partly
    paid → cancelled, with a reason. Nothing leaves paid or cancelled. An
    invoice is issued only with at least one line; its payments move it
    between issued, partly paid and paid by themselves ("paid" by hand only
    when they cover it); it is cancelled only without live payments.
  - Issuing a self-paid invoice spends the patient's deposit on it, up to
    what it is due. A visit's invoice (drafted when the visit was done) is
    dated when it is issued.
  - Once issued, the patient, branch, payer, insurer and date no longer
    change; a paid or cancelled invoice is closed: only its note changes.
  - An insurance invoice names the insurer, and the patient holds a policy
    of that insurer in force on the invoice's date; a self-paid one has no
    insurer.
  - Invoices are cancelled, never deleted.

Lines
  - Added, changed and removed (soft delete) only while their invoice is a
    draft; a line never moves to another invoice.
  - The price defaults to the plan item's frozen price, else to the price
    list valid today; quantity 1–999; price, discount and the line's amount
    within Numeric(12, 2); 0 ≤ discount ≤ price × quantity; a tooth in FDI
    notation; a plan item of the invoice's patient, on no other live line.

Payments
  - Received by the signed-in person (never chosen), at ``paid_at`` (now by
    default, never in the future, at most PAYMENT_BACKDATE_DAYS back), an
    amount > 0 within Numeric(12, 2), in one of PAYMENT_METHODS; numbered
    as the branch's next receipt ``R<branch id>-<year>-<sequence>``.
  - Of an invoice, if given: the same patient's and branch's, issued or
    partly paid, and at most what is still due on it (the desk's
    take_payment puts the rest on the patient's deposit).
    "insurance" is only for an insurance invoice; "deposit" spends the
    patient's advance (payments without an invoice) on an invoice, so it
    needs one and at most the advance left.
  - Never changed once recorded but for the note. An owner moves a wrong
    payment to the recycle bin (soft delete): its invoice's status follows
    what is still paid, and an advance already spent cannot go.
  - A refund gives back deposit money: a negative payment without an
    invoice, at most the deposit, with a reason, by the owner or a cashier.
  - An issued invoice is never edited; a correction is a credit note (the
    owner's or a cashier's, with a reason, at most what the invoice bills
    less what was credited on it before): numbered CN<branch>-<year>-<n>,
    it pays what is still due on the invoice and puts the rest on the
    patient's deposit (method "credit").

Families
  - A patient may have a family payer (patients.services keeps it one
    level deep). What the patient's own deposit does not pay of their
    invoice, the payer's deposit pays: on issuing, and with the desk's
    "pay from the deposit" (pay_from_deposit).

Balance
  - What the patient owes is what is due on their self-paid invoices
    (issued or partly paid); their deposit is the advance not spent; the
    balance is the deposit less what they owe (patient_balance), which is
    always their payments less their invoices.
"""
from datetime import timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from typing import NamedTuple

from sqlalchemy import func, select, true, type_coerce

from .. import bounds
from ..catalog.models import PriceListItem
from ..catalog.prices import current_price_list
from ..chart.teeth import validate_tooth
from ..db import MONEY as MONEY_TYPE, utcnow
from ..errors import DomainError, NotAllowed
from ..org.branches import require_branch
from ..org.roles import CASHIER, OWNER
from ..patients.models import InsurancePolicy, Patient
from ..planning.models import PAYER_KINDS, PlanStage, PlanVariant, TreatmentPlan
from ..patients.services import require_live_patient
from ..records import same_value, soft_delete
from ..timefmt import format_money, to_local
from .models import INVOICE_STATUSES, PAYMENT_METHODS, Invoice, InvoiceLine, Payment
from .numbering import next_number

NEXT_INVOICE_STATUSES = {
    "draft": ("issued", "cancelled"),
    "issued": ("partly_paid", "paid", "cancelled"),
    "partly_paid": ("paid", "cancelled"),
    "paid": (),
    "cancelled": (),
}
CLOSED_INVOICE_STATUSES = ("paid", "cancelled")
OPEN_INVOICE_STATUSES = ("issued", "partly_paid")  # what takes payments
BILLED_STATUSES = OPEN_INVOICE_STATUSES + ("paid",)  # what the payer owes or owed
# What an invoice holds once it is issued (printed, handed to the payer).
FIXED_ONCE_ISSUED = ("patient", "clinic", "payer_kind", "insurance_company", "issued_at")
INVOICE_FIELDS = FIXED_ONCE_ISSUED + ("note",)
LINE_FIELDS = ("invoice", "service", "tooth", "quantity", "price", "discount", "plan_item")
PAYMENT_FIELDS = ("patient", "invoice", "clinic", "method", "amount", "paid_at", "note")

MAX_QUANTITY = 999
PAYMENT_BACKDATE_DAYS = 30
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Money the patient brought in; what is paid without an invoice is an advance.
ADVANCE_METHODS = ("cash", "card", "online")
# What fills the deposit when it is on no invoice: advances, and the part of
# a credit note that the corrected invoice no longer needed.
DEPOSIT_SOURCES = ADVANCE_METHODS + ("credit",)


# -- invoices ---------------------------------------------------------------------------


def create_invoice(session, actor, patient=None, clinic=None, payer_kind="self", insurance_company=None,
                   issued_at=None, note=None, appointment=None, now=None):
    """A draft invoice of ``patient`` at ``clinic`` (of ``appointment``'s
    performed services, when given), numbered as the branch's next one;
    ``issued_at`` now unless typed."""
    now = now or utcnow()
    values = {
        "patient": patient, "clinic": clinic, "payer_kind": payer_kind or "self",
        "insurance_company": insurance_company, "issued_at": issued_at or now, "note": _clean(note),
    }
    _check_invoice(session, actor, None, values, now)
    invoice = Invoice(status="draft", appointment=appointment, **values)
    invoice.number = next_number(session, "invoice", clinic, invoice.issued_at)
    session.add(invoice)
    session.flush()
    return invoice


def update_invoice(session, actor, invoice, status=None, cancel_reason=None, now=None, **changes):
    """Change an invoice's header (``changes`` among INVOICE_FIELDS), then its
    status; see the module's rules for what is fixed when."""
    _known(changes, INVOICE_FIELDS)
    now = now or utcnow()
    require_branch(actor, invoice.clinic_id)
    _refuse_deleted(invoice, _l("This invoice was deleted."))
    if "payer_kind" in changes and not changes["payer_kind"]:
        changes["payer_kind"] = "self"
    wanted = {name: _clean(value) if name == "note" else value for name, value in changes.items()}
    if wanted.get("payer_kind", invoice.payer_kind) == "self":
        wanted["insurance_company"] = None  # a self-paid invoice has no insurer
    changed = [name for name in INVOICE_FIELDS if name in wanted and not same_value(getattr(invoice, name), wanted[name])]
    if invoice.status in CLOSED_INVOICE_STATUSES and set(changed) - {"note"}:
        raise DomainError(
            _l("The invoice is “%(status)s” and closed: only its note can change.", status=_label(invoice.status)),
            field=[name for name in changed if name != "note"][0],
        )
    fixed = [name for name in changed if name in FIXED_ONCE_ISSUED]
    if invoice.status != "draft" and fixed:
        raise DomainError(
            _l("An issued invoice keeps its patient, branch, payer and date; cancel it and make a new one."),
            field=fixed[0],
        )
    if set(changed) - {"note"}:
        values = {name: wanted[name] if name in changed else getattr(invoice, name) for name in INVOICE_FIELDS}
        _check_invoice(session, actor, invoice, values, now)
    elif "note" in changed:
        bounds.require(bounds.text_problem(wanted["note"]), "note")
    for name in changed:
        setattr(invoice, name, wanted[name])
    session.flush()
    if status is not None and status != invoice.status:
        set_invoice_status(session, actor, invoice, status, reason=cancel_reason, now=now)
    return invoice


def set_invoice_status(session, actor, invoice, status, reason=None, now=None):
    """Move an invoice along NEXT_INVOICE_STATUSES (see the module's rules);
    ``reason`` is why it is cancelled."""
    require_branch(actor, invoice.clinic_id)
    _refuse_deleted(invoice, _l("This invoice was deleted."))
    if status not in INVOICE_STATUSES:
        raise DomainError(_l("Unknown status."), field="status")
    if status not in NEXT_INVOICE_STATUSES[invoice.status]:
        raise DomainError(
            _l("An invoice cannot go from “%(old)s” to “%(new)s”.", old=_label(invoice.status), new=_label(status)),
            field="status",
        )
    session.flush()
    if status == "issued" and not live_lines(session, invoice):
        raise DomainError(_l("Add the services to the invoice before issuing it."), field="status")
    if status == "paid":
        due = invoice_due(session, invoice)
        if due > ZERO:
            raise DomainError(
                _l("The invoice is not fully paid: %(due)s is still due.", due=format_money(due)), field="status"
            )
    if status == "partly_paid" and not ZERO < _paid(session, invoice) < invoice_total(session, invoice):
        raise DomainError(_l("An invoice is partly paid only while its payments cover part of it."), field="status")
    if status == "cancelled":
        if _paid(session, invoice) > ZERO:
            raise DomainError(
                _l("This invoice has payments; the owner moves them to the recycle bin before it is cancelled."),
                field="status",
            )
        text = _clean(reason)
        if text is None:
            raise DomainError(_l("Write why the invoice is cancelled."), field="cancel_reason")
        bounds.require(bounds.text_problem(text), "cancel_reason")
        invoice.cancel_reason = text
    invoice.status = status
    if status == "issued" and invoice.appointment_id is not None:
        invoice.issued_at = now or utcnow()  # a visit's draft is dated when handed to the payer, not when drafted
    session.flush()
    if status == "issued" and invoice.payer_kind == "self":
        pay_from_deposit(session, actor, invoice, now=now)
    return invoice


def pay_from_deposit(session, actor, invoice, now=None):
    """Pay what is due on ``invoice`` from the patient's deposit and then
    from their family payer's; the payments made (none when there is no
    deposit)."""
    now = now or utcnow()
    paid = []
    for owner_of_deposit in filter(None, (invoice.patient, invoice.patient.payer)):
        amount = min(advance_left(session, owner_of_deposit), invoice_due(session, invoice))
        if amount > ZERO:
            paid.append(record_payment(session, actor, patient=owner_of_deposit, invoice=invoice, method="deposit",
                                       amount=amount, now=now))
    return paid


def _settle(session, invoice):
    """An issued invoice's status follows its payments: issued, partly paid or paid."""
    if invoice.status not in BILLED_STATUSES:
        return
    paid, total = _paid(session, invoice), invoice_total(session, invoice)
    invoice.status = "issued" if paid == ZERO else "paid" if paid >= total else "partly_paid"
    session.flush()


def live_lines(session, invoice):
    """The invoice's lines that are not removed, in the order they were added."""
    return session.execute(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.deleted_at.is_(None))
        .order_by(InvoiceLine.id)
    ).scalars().all()


def invoice_total(session, invoice):
    """Σ price × quantity − discount over the live lines, read now (not the
    column_property loaded with the row, which a line change makes stale)."""
    total = session.scalar(
        select(func.coalesce(func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount), 0))
        .where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.deleted_at.is_(None))
    )
    return _decimal(total)


def invoice_due(session, invoice):
    """What is still to be paid on the invoice (never below zero)."""
    return max(invoice_total(session, invoice) - _paid(session, invoice), ZERO)


def invoice_summary(session, invoice):
    """(lines, total, paid, due) of an invoice, for its page and printouts."""
    total, paid = invoice_total(session, invoice), _paid(session, invoice)
    return live_lines(session, invoice), total, paid, max(total - paid, ZERO)


def _check_invoice(session, actor, invoice, values, now):
    patient, clinic = values["patient"], values["clinic"]
    require_live_patient(patient)
    if clinic is None:
        raise DomainError(_l("Choose the branch."), field="clinic")
    require_branch(actor, clinic)
    if not clinic.active and (invoice is None or invoice.clinic_id != clinic.id):
        raise DomainError(_l("This branch is closed."), field="clinic")
    if values["payer_kind"] not in PAYER_KINDS:
        raise DomainError(_l("Unknown payer."), field="payer_kind")
    issued_at = values["issued_at"]
    bounds.require(bounds.moment_problem(issued_at), "issued_at")
    if issued_at > now:
        raise DomainError(_l("An invoice cannot be dated in the future."), field="issued_at")
    if values["payer_kind"] == "insurance":
        company = values["insurance_company"]
        if company is None:
            raise DomainError(_l("An insurance invoice needs an insurance company."), field="insurance_company")
        day = to_local(issued_at).date()
        policy = session.execute(
            select(InsurancePolicy.id).where(
                InsurancePolicy.patient_id == patient.id, InsurancePolicy.company_id == company.id,
                InsurancePolicy.deleted_at.is_(None), InsurancePolicy.in_force(day),
            ).limit(1)
        ).first()
        if policy is None:
            raise DomainError(
                _l("The patient has no policy of this insurer in force on %(date)s.", date=day.strftime("%d.%m.%Y")),
                field="insurance_company",
            )
    else:
        values["insurance_company"] = None
    bounds.require(bounds.text_problem(values["note"]), "note")


# -- lines ---------------------------------------------------------------------------------


def add_line(session, actor, invoice=None, service=None, tooth=None, quantity=None, price=None, discount=None,
             plan_item=None, today=None):
    """A line of a draft invoice. With a plan item, the service, tooth,
    quantity and price default to the item's (its price is frozen in the
    plan); otherwise the price defaults to the price list valid ``today``."""
    _editable_invoice(actor, invoice)
    if plan_item is not None:
        service = service or plan_item.service
        tooth = plan_item.tooth if tooth in (None, "") else tooth
        quantity = quantity or plan_item.quantity
    line = InvoiceLine()  # joins the invoice once checked (a pending line would be flushed half-made)
    _set_line(session, line, invoice, service, tooth, quantity, price, discount, plan_item, today, new=True)
    session.add(line)
    session.flush()
    return line


def update_line(session, actor, line, today=None, **changes):
    """Change a line of a draft invoice; a blank price takes the current one
    again. A line saved as it is changes nothing and is never refused."""
    _known(changes, LINE_FIELDS)
    invoice = line.invoice
    if "invoice" in changes and not same_value(invoice, changes["invoice"]):
        raise DomainError(_l("A line stays on its invoice; remove it and add it to the other one."), field="invoice")
    _refuse_deleted(line, _l("This line was removed."))
    edits = {name: value for name, value in changes.items() if name != "invoice"}
    if all(same_value(getattr(line, name), value) for name, value in edits.items()):
        require_branch(actor, invoice.clinic_id, field="invoice")
        return line  # saved as it is: nothing changes, whatever the invoice's status
    _editable_invoice(actor, invoice)
    values = {**{name: getattr(line, name) for name in LINE_FIELDS if name != "invoice"}, **edits}
    _set_line(session, line, invoice, values["service"], values["tooth"], values["quantity"], values["price"],
              values["discount"], values["plan_item"], today,
              new=not same_value(line.service, values["service"]))
    session.flush()
    return line


def remove_line(session, actor, line):
    """Take a line off a draft invoice (kept in the recycle bin)."""
    _editable_invoice(actor, line.invoice)
    soft_delete(session, line)


def _editable_invoice(actor, invoice):
    if invoice is None:
        raise DomainError(_l("Choose the invoice."), field="invoice")
    require_branch(actor, invoice.clinic_id, field="invoice")
    _refuse_deleted(invoice, _l("This invoice was deleted."), field="invoice")
    if invoice.status != "draft":
        raise DomainError(
            _l("The invoice is “%(status)s”: its lines change only while it is a draft.", status=_label(invoice.status)),
            field="invoice",
        )


def _set_line(session, line, invoice, service, tooth, quantity, price, discount, plan_item, today, new):
    if service is None:
        raise DomainError(_l("Choose the service."), field="service")
    if new and not service.active:
        raise DomainError(_l("This service is no longer offered."), field="service")
    tooth = validate_tooth(tooth, allow_none=True)
    quantity = 1 if quantity in (None, "") else quantity
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise DomainError(_l("Enter a whole number from %(low)s to %(high)s.", low=1, high=MAX_QUANTITY),
                          field="quantity") from None
    bounds.require(bounds.int_problem(quantity, 1, MAX_QUANTITY), "quantity")
    if plan_item is not None:
        _check_plan_item(session, line, invoice, plan_item)
    if price in (None, ""):
        price = plan_item.price if plan_item is not None and plan_item.service_id == service.id else None
        if price is None:
            price = listed_price(session, service, today or to_local(utcnow()).date())
    price = _money(price, "price")
    if price < ZERO:
        raise DomainError(_l("The price cannot be negative."), field="price")
    discount = ZERO if discount in (None, "") else _money(discount, "discount")
    gross = price * quantity
    bounds.require(bounds.money_problem(gross), "quantity")
    if discount < ZERO or discount > gross:
        raise DomainError(_l("The discount must be between zero and the line amount."), field="discount")
    others = invoice_total(session, invoice) - (line.amount if line.id is not None and line.deleted_at is None else ZERO)
    bounds.require(bounds.money_problem(others + gross - discount), "price")
    line.service, line.tooth, line.quantity, line.price, line.discount = service, tooth, quantity, price, discount
    line.plan_item = plan_item
    line.invoice = invoice


def _check_plan_item(session, line, invoice, plan_item):
    patient_id = session.scalar(
        select(TreatmentPlan.patient_id)
        .join(PlanVariant, PlanVariant.plan_id == TreatmentPlan.id)
        .join(PlanStage, PlanStage.variant_id == PlanVariant.id)
        .where(PlanStage.id == plan_item.stage_id)
    )
    if patient_id != invoice.patient_id:
        raise DomainError(_l("This plan item is of another patient's plan."), field="plan_item")
    billed = session.execute(
        select(InvoiceLine.id)
        .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
        .where(
            InvoiceLine.plan_item_id == plan_item.id, InvoiceLine.deleted_at.is_(None),
            Invoice.deleted_at.is_(None), Invoice.status != "cancelled",
            InvoiceLine.id != line.id if line.id is not None else true(),
        )
        .limit(1)
    ).first()
    if billed is not None:
        raise DomainError(_l("This plan item is already on an invoice."), field="plan_item")


def listed_price(session, service, day):
    try:
        price_list = current_price_list(session, day)
    except DomainError as error:
        raise DomainError(error.message, field="price") from None
    price = session.scalar(
        select(PriceListItem.price).where(
            PriceListItem.price_list_id == price_list.id, PriceListItem.service_id == service.id
        )
    )
    if price is None:
        raise DomainError(_l("This service is not in the price list valid today: type its price."), field="price")
    return price


# -- payments -----------------------------------------------------------------------------


def record_payment(session, actor, patient=None, invoice=None, clinic=None, method=None, amount=None, paid_at=None,
                   note=None, now=None):
    """A payment received by ``actor``; see the module's rules. The
    invoice's status follows: partly paid, or paid once it is covered."""
    now = now or utcnow()
    if invoice is not None:  # the API may name just the invoice; a family payer's deposit names the payer
        patient = patient or invoice.patient
        clinic = clinic or invoice.clinic
    _patient_at_branch(actor, patient, clinic)
    if method not in PAYMENT_METHODS:
        raise DomainError(_l("Choose how the payment was made."), field="method")
    if method == "credit":
        raise DomainError(_l("A credit note is made from its invoice at the cash desk."), field="method")
    if amount in (None, ""):
        raise DomainError(_l("Enter the amount."), field="amount")
    amount = _money(amount, "amount")
    if amount <= ZERO:
        raise DomainError(_l("The amount must be greater than zero."), field="amount")
    paid_at = paid_at or now
    bounds.require(bounds.moment_problem(paid_at), "paid_at")
    if paid_at > now:
        raise DomainError(_l("A payment cannot be received in the future."), field="paid_at")
    if paid_at < now - timedelta(days=PAYMENT_BACKDATE_DAYS):
        raise DomainError(
            _l("A payment is recorded within %(days)s days of receiving it.", days=PAYMENT_BACKDATE_DAYS),
            field="paid_at",
        )
    note = _clean(note)
    bounds.require(bounds.text_problem(note), "note")
    if invoice is not None:
        _check_paid_invoice(session, patient, clinic, invoice, method, amount)
    elif method in ("insurance", "deposit"):
        raise DomainError(_l("An insurer's payment or one from the deposit settles an invoice: choose it."),
                          field="invoice")
    if method == "deposit":
        left = advance_left(session, patient)
        if amount > left:
            raise DomainError(
                _l("The patient's advance has %(left)s left.", left=format_money(left)), field="amount"
            )
    return _add_payment(session, actor, patient, invoice, clinic, method, amount, paid_at, note)


def _add_payment(session, actor, patient, invoice, clinic, method, amount, paid_at, note, credited=None):
    payment = Payment(
        patient=patient, invoice=invoice, clinic=clinic, method=method, amount=amount, paid_at=paid_at,
        received_by=actor, note=note, credited_invoice=credited,
        receipt_number=next_number(session, "credit" if credited is not None else "receipt", clinic, paid_at),
    )
    session.add(payment)
    session.flush()
    if invoice is not None:
        _settle(session, invoice)
    return payment


class Taken(NamedTuple):
    """What the desk took: the payment of the invoice and, of what was more
    than due, the payment that went to the patient's deposit."""

    payment: Payment | None
    deposit: Payment | None


def take_payment(session, actor, invoice, method=None, amount=None, note=None, now=None):
    """The cashier takes ``amount`` for ``invoice``: what is due pays it and
    the rest (cash, card or online) becomes the patient's deposit."""
    now = now or utcnow()
    if invoice is None:
        raise DomainError(_l("Choose the invoice."), field="invoice")
    if amount in (None, ""):
        raise DomainError(_l("Enter the amount."), field="amount")
    amount = _money(amount, "amount")
    due = invoice_due(session, invoice) if invoice.status in OPEN_INVOICE_STATUSES else ZERO
    if amount <= due or method not in ADVANCE_METHODS or due == ZERO:
        return Taken(record_payment(session, actor, invoice=invoice, method=method, amount=amount, note=note,
                                    now=now), None)
    paid = record_payment(session, actor, invoice=invoice, method=method, amount=due, note=note, now=now)
    deposit = record_payment(session, actor, patient=invoice.patient, clinic=invoice.clinic, method=method,
                             amount=amount - due, note=note, now=now)
    return Taken(paid, deposit)


def refund(session, actor, patient=None, clinic=None, method=None, amount=None, reason=None, now=None):
    """Give back deposit money: a negative payment without an invoice, by
    the owner or a cashier, with a reason, at most the deposit."""
    now = now or utcnow()
    if not {OWNER, CASHIER} & set(actor.roles):
        raise NotAllowed(_l("Only the owner or a cashier gives money back."))
    _patient_at_branch(actor, patient, clinic)
    if method not in ADVANCE_METHODS:
        raise DomainError(_l("Choose how the money is given back."), field="method")
    if amount in (None, ""):
        raise DomainError(_l("Enter the amount."), field="amount")
    amount = _money(amount, "amount")
    if amount <= ZERO:
        raise DomainError(_l("The amount must be greater than zero."), field="amount")
    text = _clean(reason)
    if text is None:
        raise DomainError(_l("Write why the money is given back."), field="reason")
    bounds.require(bounds.text_problem(text), "reason")
    left = advance_left(session, patient)
    if amount > left:
        raise DomainError(_l("The patient's deposit is %(left)s: no more can be given back.",
                             left=format_money(left)), field="amount")
    return _add_payment(session, actor, patient, None, clinic, method, -amount, now, text)


def credit_note(session, actor, invoice, amount=None, reason=None, now=None):
    """Correct an issued invoice by ``amount``: what is still due on it is
    settled, the rest goes to the patient's deposit (see the module's rules)."""
    now = now or utcnow()
    if not {OWNER, CASHIER} & set(actor.roles):
        raise NotAllowed(_l("Only the owner or a cashier makes a credit note."))
    if invoice is None:
        raise DomainError(_l("Choose the invoice."), field="invoice")
    require_branch(actor, invoice.clinic_id)
    _refuse_deleted(invoice, _l("This invoice was deleted."), field="invoice")
    if invoice.status not in BILLED_STATUSES:
        raise DomainError(_l("Only an issued invoice is corrected by a credit note; a draft is edited."),
                          field="invoice")
    text = _clean(reason)
    if text is None:
        raise DomainError(_l("Write why the invoice is corrected."), field="reason")
    bounds.require(bounds.text_problem(text), "reason")
    if amount in (None, ""):
        raise DomainError(_l("Enter the amount."), field="amount")
    amount = _money(amount, "amount")
    credited = _decimal(session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.credited_invoice_id == invoice.id, Payment.deleted_at.is_(None))))
    left = invoice_total(session, invoice) - credited
    if amount <= ZERO or amount > left:
        raise DomainError(_l("A credit note of this invoice is more than zero and at most %(left)s.",
                             left=format_money(left)), field="amount")
    due = invoice_due(session, invoice)
    on_invoice = min(amount, due)
    settled = _add_payment(session, actor, invoice.patient, invoice, invoice.clinic, "credit", on_invoice, now, text,
                           credited=invoice) if on_invoice > ZERO else None
    deposit = _add_payment(session, actor, invoice.patient, None, invoice.clinic, "credit", amount - on_invoice, now,
                           text, credited=invoice) if amount > on_invoice else None
    return Taken(settled, deposit)


class Balance(NamedTuple):
    owed: Decimal  # due on the patient's self-paid invoices
    deposit: Decimal  # the advance not spent
    balance: Decimal  # deposit − owed: below zero, a debt


def patient_balance(session, patient):
    """The one place a patient's debt and deposit are computed: the card,
    the cash desk and the API read it here, in one statement."""
    billed = (Invoice.patient_id == patient.id, Invoice.deleted_at.is_(None), Invoice.payer_kind == "self",
              Invoice.status.in_(OPEN_INVOICE_STATUSES))
    total = (
        select(func.coalesce(func.sum(InvoiceLine.price * InvoiceLine.quantity - InvoiceLine.discount), 0))
        .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
        .where(*billed, InvoiceLine.deleted_at.is_(None))
    )
    paid = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .join(Invoice, Payment.invoice_id == Invoice.id)
        .where(*billed, Payment.deleted_at.is_(None))
    )
    mine = (Payment.patient_id == patient.id, Payment.deleted_at.is_(None))
    brought = select(func.coalesce(func.sum(Payment.amount), 0)).where(
        *mine, Payment.invoice_id.is_(None), Payment.method.in_(DEPOSIT_SOURCES))
    spent = select(func.coalesce(func.sum(Payment.amount), 0)).where(*mine, Payment.method == "deposit")
    row = session.execute(select(*(type_coerce(q.scalar_subquery(), MONEY_TYPE)
                                   for q in (total, paid, brought, spent)))).one()
    total, paid, brought, spent = (_decimal(value) for value in row)
    owed, deposit = max(total - paid, ZERO), max(brought - spent, ZERO)
    return Balance(owed, deposit, deposit - owed)


def family_statement(session, payer):
    """The family's statement: [(patient, Balance)] of the payer and everyone
    they pay for, and the family's balance."""
    members = session.execute(
        select(Patient).where(Patient.payer_id == payer.id, Patient.deleted_at.is_(None))
        .order_by(Patient.last_name, Patient.first_name)
    ).scalars().all()
    rows = [(person, patient_balance(session, person)) for person in (payer, *members)]
    return rows, sum((balance.balance for _person, balance in rows), ZERO)


def update_payment(session, actor, payment, now=None, **changes):
    """Change a payment's note; anything else given must be what the
    payment already holds (a wrong payment is moved to the recycle bin by
    the owner and recorded anew)."""
    _known(changes, PAYMENT_FIELDS)
    require_branch(actor, payment.clinic_id)
    _refuse_deleted(payment, _l("This payment was deleted."))
    for name in PAYMENT_FIELDS:
        if name == "note" or name not in changes:
            continue
        if not same_value(getattr(payment, name), changes[name]):
            raise DomainError(
                _l("A recorded payment does not change; the owner moves a wrong one to the recycle bin and it is "
                   "recorded again."),
                field=name,
            )
    if "note" in changes:
        note = _clean(changes["note"])
        bounds.require(bounds.text_problem(note), "note")
        payment.note = note
    session.flush()
    return payment


def delete_payment(session, actor, payment):
    """The owner moves a payment to the recycle bin; a paid invoice it no
    longer covers is issued (owing) again."""
    if OWNER not in actor.roles:
        raise NotAllowed(_l("Only the owner moves a payment to the recycle bin."))
    require_branch(actor, payment.clinic_id)
    if payment.deleted_at is not None:
        return payment
    if payment.invoice_id is None and payment.method in DEPOSIT_SOURCES:
        if advance_left(session, payment.patient) < payment.amount:
            raise DomainError(_l("This advance is already spent on invoices; remove those payments first."))
    soft_delete(session, payment)
    if payment.invoice is not None:
        _settle(session, payment.invoice)
    return payment


def advance_left(session, patient):
    """The patient's advance not yet spent: payments without an invoice
    (cash, card, online; refunds are negative) less payments "from the
    deposit"."""
    rows = session.execute(
        select(Payment.method, func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.patient_id == patient.id, Payment.deleted_at.is_(None),
            ((Payment.invoice_id.is_(None)) & Payment.method.in_(DEPOSIT_SOURCES)) | (Payment.method == "deposit"),
        )
        .group_by(Payment.method)
    ).all()
    paid_in = sum((_decimal(total) for method, total in rows if method != "deposit"), ZERO)
    spent = sum((_decimal(total) for method, total in rows if method == "deposit"), ZERO)
    return max(paid_in - spent, ZERO)


def _patient_at_branch(actor, patient, clinic):
    """Money moves for a live patient at a branch the person works in."""
    require_live_patient(patient)
    if clinic is None:
        raise DomainError(_l("Choose the branch."), field="clinic")
    require_branch(actor, clinic)


def _check_paid_invoice(session, patient, clinic, invoice, method, amount):
    if invoice.deleted_at is not None:
        raise DomainError(_l("This invoice was deleted."), field="invoice")
    family_deposit = method == "deposit" and invoice.patient.payer_id == patient.id
    if invoice.patient_id != patient.id and not family_deposit:
        raise DomainError(_l("This invoice is another patient's."), field="invoice")
    if invoice.clinic_id != clinic.id:
        raise DomainError(_l("This invoice is of another branch."), field="invoice")
    if invoice.status not in OPEN_INVOICE_STATUSES:
        raise DomainError(
            _l("The invoice is “%(status)s”: only an issued invoice takes payments.", status=_label(invoice.status)),
            field="invoice",
        )
    if method == "insurance" and invoice.payer_kind != "insurance":
        raise DomainError(_l("An insurer pays only an insurance invoice."), field="method")
    due = invoice_due(session, invoice)
    if amount > due:
        raise DomainError(
            _l("Only %(due)s is due on this invoice; take the rest as an advance without an invoice.",
               due=format_money(due)),
            field="amount",
        )


def _paid(session, invoice):
    paid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.invoice_id == invoice.id, Payment.deleted_at.is_(None)
        )
    )
    return _decimal(paid)


# -- shared ---------------------------------------------------------------------------------


def _known(changes, fields):
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"not a field here: {', '.join(sorted(unknown))}")


def _refuse_deleted(row, message, field=None):
    if row.deleted_at is not None:
        raise DomainError(message, field=field)


def _clean(text):
    text = (text or "").strip() if isinstance(text, str) or text is None else text
    return text or None


def _money(value, field):
    bounds.require(bounds.money_problem(value), field)
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return amount.quantize(CENT)


def _decimal(value):
    return Decimal(str(value or 0)).quantize(CENT)


def _label(status):
    from ..admin.choices import VALUE_LABELS  # the labels the screens show

    return VALUE_LABELS.get(status, status)

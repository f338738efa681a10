"""The cash desk's records: invoices, their lines, payments and payment
schedules. Invoices, lines and payments save through stompro.billing.services
and show only the rows of the person's branches; a payment schedule is
computed from its plan and only read here."""
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms.validators import Optional

from ..admin.base import READ_ONLY, StomproModelView, Writes
from ..admin.choices import VALUE_LABELS
from ..admin.filters import clinic_filter, rows_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.lookups import PatientLookup, RowLookup
from ..admin.permissions import Permissions
from ..catalog.admin import service_lookup
from ..catalog.models import Service
from ..db import utcnow
from ..extensions import db
from ..org.branches import branch_condition
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, DOCTOR, MONEY, OWNER
from ..patients.models import InsuranceCompany, Patient
from ..timefmt import format_money
from ..scheduling.models import Appointment
from .models import Invoice, InvoiceLine, Payment, PaymentSchedule, PerformedService
from .performed import take_back
from .services import (
    add_line, create_invoice, delete_payment, invoice_summary, record_payment, remove_line, update_invoice,
    update_line, update_payment,
)

CATEGORY = _l("Billing")
CASH_DESK = frozenset({OWNER, CASHIER, ADMINISTRATOR})
PERFORMED_READERS = frozenset({DOCTOR, OWNER, ADMINISTRATOR, CASHIER})


# -- pickers ----------------------------------------------------------------------------


def _invoice_label(invoice):
    status = VALUE_LABELS.get(invoice.status, invoice.status)
    return f"{invoice.number} — {invoice.patient.full_name} · {status} · {format_money(invoice.total)}"


class InvoiceLookup(RowLookup):
    """Live invoices in ``statuses`` of the person's branches, found by number
    or the patient's surname; drafts first, then the newest."""

    def __init__(self, name="invoice", statuses=("draft",)):
        super().__init__(
            name, Invoice, fields=(Invoice.number, Patient.last_name),
            where=lambda: (
                Invoice.deleted_at.is_(None), Invoice.status.in_(statuses),
                branch_condition(Invoice.clinic_id, current_user._get_current_object()),
            ),
            order_by=((Invoice.status == "draft").desc(), Invoice.issued_at.desc(), Invoice.id.desc()),
            label=_invoice_label,
        )

    def allowed(self):
        return select(Invoice).join(Patient, Invoice.patient_id == Patient.id).where(*self.where())


# -- formatters -----------------------------------------------------------------------------


def _money_column(view, context, model, name):
    return format_money(getattr(model, name))


def _lines_and_totals(view, context, invoice, name):
    """The invoice's lines, its total, what is paid and what is still due."""
    lines, total, paid, due = invoice_summary(db.session, invoice)
    heads = Markup("").join(
        Markup('<th class="{}">{}</th>').format(css, str(LABELS[key]))
        for key, css in (("service", ""), ("tooth", ""), ("quantity", "text-right"), ("price", "text-right"),
                         ("discount", "text-right"), ("amount", "text-right"))
    )
    rows = Markup("").join(
        Markup('<tr><td>{}</td><td>{}</td><td class="text-right">{}</td><td class="text-right">{}</td>'
               '<td class="text-right">{}</td><td class="text-right">{}</td></tr>').format(
            str(line.service), line.tooth or "", line.quantity, format_money(line.price),
            format_money(line.discount), format_money(line.amount),
        )
        for line in lines
    ) or Markup('<tr><td colspan="6" class="text-muted">{}</td></tr>').format(str(_l("No lines yet.")))
    totals = Markup("").join(
        Markup('<tr><th colspan="5" class="text-right">{}</th><th class="text-right">{}</th></tr>').format(
            str(label), format_money(amount)
        )
        for label, amount in ((LABELS["total"], total), (_l("Paid so far"), paid), (_l("Still due"), due))
    )
    return Markup(
        '<table class="table table-sm mb-0"><thead><tr>{}</tr></thead><tbody>{}</tbody><tfoot>{}</tfoot></table>'
    ).format(heads, rows, totals)


# -- views ------------------------------------------------------------------------------------


class InvoiceAdmin(StomproModelView):
    """Invoices of the person's branches; written by billing.services: a
    draft gets its lines on the "Invoice lines" screen, then it is issued,
    paid or cancelled by its status. Invoices are cancelled, never deleted."""

    permissions = Permissions.managed_by(MONEY, readers={ADMINISTRATOR}, export=MONEY, delete=set())
    writes = Writes(create=create_invoice, update=update_invoice)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("number", "issued_at", "patient", "clinic", "payer_kind", "status", "total")
    column_details_list = (
        "number", "issued_at", "patient", "clinic", "payer_kind", "insurance_company", "appointment", "status",
        "cancel_reason", "note", "lines", "created_at", "updated_at",
    )
    column_filters = (
        "status", "payer_kind", "issued_at",
        clinic_filter(Invoice.clinic_id, LABELS["clinic"]),
        rows_filter(Invoice.insurance_company_id, LABELS["insurance_company"], InsuranceCompany, InsuranceCompany.name),
    )
    column_searchable_list = ("number",)
    column_sortable_list = ("number", "issued_at", "status")
    column_default_sort = ("issued_at", True)
    column_formatters = {"total": _money_column}
    column_formatters_detail = {"lines": _lines_and_totals}
    column_descriptions = {"cancel_reason": _l("Required when the invoice is cancelled.")}
    form_columns = ("patient", "clinic", "payer_kind", "insurance_company", "issued_at", "status", "cancel_reason",
                    "note")
    form_args = {"issued_at": {"default": utcnow}}
    form_ajax_refs = {"patient": PatientLookup()}

    def get_create_form(self):
        form_class = super().get_create_form()
        del form_class.status  # a new invoice is a draft
        del form_class.cancel_reason
        return form_class


class InvoiceLineAdmin(StomproModelView):
    """The lines of invoices of the person's branches. Lines are added,
    changed and removed only while their invoice is a draft
    (billing.services); the price left blank is the price list's today."""

    permissions = Permissions.managed_by(MONEY, readers={ADMINISTRATOR}, export=MONEY)
    writes = Writes(create=add_line, update=update_line, delete=remove_line)
    simple_list_pager = True
    column_list = ("invoice", "service", "tooth", "quantity", "price", "discount", "amount")
    column_details_list = (
        "invoice", "service", "tooth", "quantity", "price", "discount", "amount", "plan_item", "created_at",
        "updated_at",
    )
    column_filters = ("tooth", rows_filter(InvoiceLine.service_id, LABELS["service"], Service, Service.code))
    column_sortable_list = ("tooth", "quantity", "price")
    column_default_sort = ("id", True)
    column_formatters = {"amount": _money_column}
    column_formatters_detail = {"amount": _money_column}
    column_descriptions = {"price": _l("Leave it blank for the price list's price today.")}
    form_columns = ("invoice", "service", "tooth", "quantity", "price", "discount")
    form_args = {"price": {"validators": [Optional()]}}
    form_widget_args = {"price": {"required": False}}
    # Drafts take lines; issued ones are offered too, so that the service says why they do not.
    form_ajax_refs = {"invoice": InvoiceLookup(statuses=("draft", "issued")), "service": service_lookup()}

    def _visible(self, query):
        """Live lines of live invoices of the person's branches."""
        query = super()._visible(query)
        mine = select(Invoice.id).where(
            Invoice.deleted_at.is_(None), branch_condition(Invoice.clinic_id, current_user._get_current_object())
        )
        return query.filter(InvoiceLine.invoice_id.in_(mine))

    def get_edit_form(self):
        form_class = super().get_edit_form()
        del form_class.invoice  # a line stays on its invoice
        return form_class


class PaymentAdmin(StomproModelView):
    """Payments taken at the desks of the person's branches, received by the
    signed-in person (billing.services). A recorded payment changes only its
    note; the owner moves a wrong one to the recycle bin. Its receipt number
    is the branch's next one."""

    permissions = Permissions.managed_by(CASH_DESK, export=MONEY, delete={OWNER})
    writes = Writes(create=record_payment, update=update_payment, delete=delete_payment)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("paid_at", "patient", "method", "amount", "invoice", "clinic", "received_by", "receipt_number")
    column_filters = (
        "method", "paid_at", "amount",
        clinic_filter(Payment.clinic_id, LABELS["clinic"]),
        staff_filter(Payment.received_by_id, LABELS["received_by"], roles=CASH_DESK),
    )
    column_searchable_list = ("receipt_number",)
    column_sortable_list = ("paid_at", "amount")
    column_default_sort = ("paid_at", True)
    form_columns = ("patient", "invoice", "clinic", "method", "amount", "paid_at", "note")
    form_args = {"paid_at": {"default": utcnow}}
    form_ajax_refs = {"patient": PatientLookup(), "invoice": InvoiceLookup(statuses=("issued", "partly_paid"))}

    def get_edit_form(self):
        form_class = super().get_edit_form()
        for name in ("patient", "invoice", "clinic", "method", "amount", "paid_at"):
            delattr(form_class, name)  # a recorded payment keeps them
        return form_class


class PerformedServiceAdmin(StomproModelView):
    """What doctors marked performed at visits of the person's branches; marked
    on the visit's own screen (billing.performed), taken back here or there
    while its invoice is a draft."""

    permissions = Permissions(list=PERFORMED_READERS, delete=frozenset({DOCTOR, OWNER}), export=MONEY)
    writes = Writes(delete=take_back)
    read_only_message = _l("Services are marked performed on the visit's screen, from the doctor's day or the board.")
    simple_list_pager = True
    column_list = ("performed_at", "appointment", "service", "tooth", "surfaces", "quantity", "price", "insured",
                   "performed_by", "invoice_line")
    column_filters = ("performed_at", "tooth", "insured",
                      staff_filter(PerformedService.performed_by_id, LABELS["performed_by"], roles={DOCTOR}),
                      rows_filter(PerformedService.service_id, LABELS["service"], Service, Service.code))
    column_sortable_list = ("performed_at", "tooth", "price")
    column_default_sort = ("performed_at", True)
    column_formatters = {"price": _money_column}

    def _visible(self, query):
        """Live services of visits in the person's branches."""
        query = super()._visible(query)
        mine = select(Appointment.id).where(branch_condition(Appointment.clinic_id, current_user._get_current_object()))
        return query.filter(PerformedService.appointment_id.in_(mine))


class PaymentScheduleAdmin(StomproModelView):
    """A plan's payments by month, computed from its chosen variant (planning.schedule)."""

    permissions = Permissions.read_only({OWNER, COORDINATOR, CASHIER}, export=MONEY)
    writes = READ_ONLY
    read_only_message = _l("A payment schedule is computed from the plan's chosen variant.")
    simple_list_pager = True
    column_list = ("plan", "variant", "stage", "due_month", "amount", "flagged")
    column_filters = ("due_month", "flagged")
    column_default_sort = ("due_month", False)
    eager_loads = ("variant.plan", "stage.variant.plan")


def register(admin):
    from .desk_views import CashDeskView
    from .insurance_views import InsuranceRegistryView
    from .performed_views import PerformedServicesView

    admin.add_view(CashDeskView(name=_l("Cash desk"), category=CATEGORY, endpoint="cash_desk", url="/admin/cash-desk"))
    admin.add_view(InsuranceRegistryView(name=_l("Insurer's invoice"), category=CATEGORY, endpoint="insurance_registry",
                                         url="/admin/insurance-registry"))

    admin.add_view(PerformedServicesView(name=_l("Performed services"), endpoint="performed_services",
                                         url="/admin/visit-services"))
    admin.add_view(InvoiceAdmin(Invoice, db, name=_l("Invoices"), category=CATEGORY, endpoint="invoice"))
    admin.add_view(InvoiceLineAdmin(InvoiceLine, db, name=_l("Invoice lines"), category=CATEGORY,
                                    endpoint="invoice_line"))
    admin.add_view(PaymentAdmin(Payment, db, name=_l("Payments"), category=CATEGORY, endpoint="payment"))
    admin.add_view(PerformedServiceAdmin(PerformedService, db, name=_l("Performed services"), category=CATEGORY,
                                         endpoint="performed_service"))
    admin.add_view(PaymentScheduleAdmin(PaymentSchedule, db, name=_l("Payment schedules"), category=CATEGORY,
                                        endpoint="payment_schedule"))

"""Invoices, payments and payment schedules."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..catalog.admin import SERVICE_LOOKUP
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, MONEY, OWNER
from ..patients.admin import patient_lookup, staff_lookup
from .models import Invoice, InvoiceLine, Payment, PaymentSchedule

CATEGORY = _l("Billing")


class InvoiceAdmin(StomproModelView):
    permissions = Permissions.managed_by(MONEY, readers={ADMINISTRATOR}, export=MONEY, delete={OWNER})
    simple_list_pager = True
    column_list = ("number", "issued_at", "patient", "clinic", "payer_kind", "status", "total")
    column_filters = ("status", "payer_kind", "issued_at", "clinic")
    column_searchable_list = ("number",)
    column_sortable_list = ("number", "issued_at", "status")
    column_default_sort = ("issued_at", True)
    form_columns = ("number", "patient", "clinic", "payer_kind", "insurance_company", "issued_at", "status", "note", "lines")
    form_ajax_refs = {"patient": patient_lookup()}
    inline_models = [
        (InvoiceLine, {"form_columns": ("id", "service", "tooth", "quantity", "price", "discount"),
                       "form_ajax_refs": {"service": SERVICE_LOOKUP}})
    ]


class PaymentAdmin(StomproModelView):
    permissions = Permissions.managed_by({OWNER, CASHIER, ADMINISTRATOR}, export=MONEY, delete={OWNER})
    simple_list_pager = True
    column_list = ("paid_at", "patient", "method", "amount", "invoice", "clinic", "received_by", "receipt_number")
    column_filters = ("method", "paid_at", "clinic", "amount")
    column_searchable_list = ("receipt_number",)
    column_sortable_list = ("paid_at", "amount")
    column_default_sort = ("paid_at", True)
    form_columns = ("patient", "invoice", "clinic", "method", "amount", "paid_at", "received_by", "receipt_number", "note")
    form_ajax_refs = {"patient": patient_lookup(), "received_by": staff_lookup("received_by"), "invoice": {"fields": ("number",)}}


class PaymentScheduleAdmin(StomproModelView):
    permissions = Permissions.managed_by({OWNER}, readers={COORDINATOR, CASHIER}, export=MONEY)
    simple_list_pager = True
    column_list = ("plan", "variant", "stage", "due_month", "amount", "flagged")
    column_filters = ("due_month", "flagged")
    column_default_sort = ("due_month", False)
    form_ajax_refs = {"plan": {"fields": ("id", "title")}, "variant": {"fields": ("id",)}, "stage": {"fields": ("id",)}}
    eager_loads = ("variant.plan", "stage.variant.plan")


def register(admin):
    admin.add_view(InvoiceAdmin(Invoice, db, name=_l("Invoices"), category=CATEGORY, endpoint="invoice"))
    admin.add_view(PaymentAdmin(Payment, db, name=_l("Payments"), category=CATEGORY, endpoint="payment"))
    admin.add_view(PaymentScheduleAdmin(PaymentSchedule, db, name=_l("Payment schedules"), category=CATEGORY, endpoint="payment_schedule"))

"""The outbox and message templates."""
from flask import jsonify, request
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from ..admin.base import READ_ONLY, StomproModelView, Writes
from ..admin.choices import VALUE_LABELS
from ..admin.filters import rows_filter
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER, OWNER_ONLY
from ..patients.phones import format_phone
from .models import Message, MessageTemplate
from .templates import CODES, check_template, preview

CATEGORY = _l("Messages")
# What a message is for; its codes overlap the visits' statuses ("booked"), so they have labels of their own.
KIND_LABELS = {
    "booked": _l("Booking confirmation"), "day_before": _l("A day before"), "hours_before": _l("Hours before"),
    "after_visit": _l("After the visit"), "cancelled": _l("Cancellation"), "recall": _l("Recall"),
    "care": _l("Care"), "birthday": _l("Birthday"), "manual": _l("Written by hand"),
}


# The templates' codes are the owner's data on the templates' own screen; on a message, the template is named.
TEMPLATE_LABELS = {
    "booking_confirmation": _l("Booking confirmation"), "reminder_day_before": _l("A day before"),
    "reminder_hours_before": _l("Hours before"), "after_visit": _l("After the visit"),
    "visit_cancelled": _l("Cancellation"), "hygiene_recall": _l("Recall"), "post_op_care": _l("Care"),
    "birthday": _l("Birthday"), "call_instead": _l("Instead of a call"),
}


def _template(view, context, message, name):
    template = message.template
    if template is None:
        return ""
    return f"{TEMPLATE_LABELS.get(template.code, template.code)} ({VALUE_LABELS.get(template.language, template.language)})"


def _kind(view, context, message, name):
    return KIND_LABELS.get(message.kind, message.kind)


def _recipient(view, context, message, name):
    return format_phone(message.recipient) if message.channel == "sms" else message.recipient


class MessageAdmin(StomproModelView):
    """The outbox is written by the reminder machinery; people read it."""

    permissions = Permissions.read_only({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR}, export={OWNER})
    writes = READ_ONLY
    read_only_message = _l("The outbox is written by the reminders; its messages are not edited by hand.")
    simple_list_pager = True
    column_list = ("send_at", "patient", "kind", "channel", "recipient", "status", "attempts", "sent_at")
    column_filters = ("status", "channel", "send_at",
                      rows_filter(Message.template_id, LABELS["template"], MessageTemplate, MessageTemplate.code))
    column_searchable_list = ("recipient",)
    column_sortable_list = ("send_at", "status")
    column_default_sort = ("send_at", True)
    column_formatters = column_formatters_detail = column_formatters_export = {
        "kind": _kind, "recipient": _recipient, "template": _template,
    }
    column_details_exclude_list = ("version", "dedupe_key")  # the dispatcher's checks, not for people


def _code(view, context, template, name):
    return TEMPLATE_LABELS.get(template.code, template.code)


class MessageTemplateAdmin(StomproModelView):
    """The owner writes the templates; each is checked (messaging.templates)
    before it is saved, and the form previews it as a patient reads it."""

    # One template per kind of message, channel and language is seeded for every one the panel sends:
    # the owner rewrites or switches them off, and has none to add.
    permissions = Permissions(list=OWNER_ONLY | {ADMINISTRATOR, CALL_CENTER}, edit=OWNER_ONLY, export=OWNER_ONLY)
    writes = Writes(save=check_template)
    column_list = ("code", "channel", "language", "subject", "active")
    column_filters = ("channel", "language", "active")
    column_default_sort = "code"
    column_formatters = column_formatters_detail = column_formatters_export = {"code": _code}
    column_labels = {**LABELS, "code": _l("Purpose")}
    form_choices = {"code": [(code, TEMPLATE_LABELS[code]) for code in CODES]}
    form_widget_args = {"body": {"rows": 8}}
    edit_template = "messaging/template_edit.html"

    @expose("/preview/", methods=("POST",))
    def preview_view(self):
        """The typed template rendered with sample values, as JSON (messaging.templates.preview) or {"error", "field"}."""
        if not self._may("edit"):
            return self.inaccessible_callback("preview_view")
        form = request.form
        try:
            shown = preview(db.session, form.get("code", ""), form.get("channel", ""), form.get("language", ""),
                            form.get("body", ""), form.get("subject", ""))
        except DomainError as error:
            return jsonify(error=str(error.message), field=error.field), 422
        return jsonify(shown)


def register(admin):
    admin.add_view(MessageAdmin(Message, db, name=_l("Outbox"), category=CATEGORY, endpoint="message"))
    admin.add_view(MessageTemplateAdmin(MessageTemplate, db, name=_l("Message templates"), category=CATEGORY, endpoint="message_template"))

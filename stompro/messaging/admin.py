"""The outbox and message templates."""
from flask_babel import lazy_gettext as _l

from ..admin.base import READ_ONLY, StomproModelView
from ..admin.filters import rows_filter
from ..admin.labels import LABELS
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER, OWNER_ONLY
from .models import Message, MessageTemplate

CATEGORY = _l("Messages")


class MessageAdmin(StomproModelView):
    """The outbox is written by the reminder machinery; people read it."""

    permissions = Permissions.read_only({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR}, export={OWNER})
    writes = READ_ONLY
    read_only_message = _l("The outbox is written by the reminders; its messages are not edited by hand.")
    simple_list_pager = True
    column_list = ("send_at", "patient", "channel", "recipient", "template", "status", "attempts", "sent_at")
    column_filters = ("status", "channel", "send_at",
                      rows_filter(Message.template_id, LABELS["template"], MessageTemplate, MessageTemplate.code))
    column_searchable_list = ("recipient",)
    column_sortable_list = ("send_at", "status")
    column_default_sort = ("send_at", True)
    # kind and version are the dispatcher's codes, not labelled for people yet
    column_details_exclude_list = ("kind", "version")


class MessageTemplateAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, CALL_CENTER}, export=OWNER_ONLY,
                                         delete=set())
    column_list = ("code", "channel", "language", "subject", "active")
    column_filters = ("channel", "language", "active")
    column_default_sort = "code"


def register(admin):
    admin.add_view(MessageAdmin(Message, db, name=_l("Outbox"), category=CATEGORY, endpoint="message"))
    admin.add_view(MessageTemplateAdmin(MessageTemplate, db, name=_l("Message templates"), category=CATEGORY, endpoint="message_template"))

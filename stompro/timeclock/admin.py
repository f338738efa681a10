"""Clock in / clock out records."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, OWNER
from ..patients.admin import staff_lookup
from .models import TimeClock

CATEGORY = _l("Staff time")


class TimeClockAdmin(StomproModelView):
    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, export={OWNER}, delete={OWNER})
    simple_list_pager = True
    column_list = ("staff", "clinic", "clock_in", "clock_out", "note")
    column_filters = ("staff", "clinic", "clock_in")
    column_sortable_list = ("clock_in", "clock_out")
    column_default_sort = ("clock_in", True)
    form_ajax_refs = {"staff": staff_lookup()}


def register(admin):
    admin.add_view(TimeClockAdmin(TimeClock, db, name=_l("Clock in / out"), category=CATEGORY, endpoint="time_clock"))

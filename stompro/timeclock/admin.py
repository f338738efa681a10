"""Clock in / clock out records of the person's branches, written by
stompro.timeclock.services."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView, Writes
from ..admin.filters import clinic_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.lookups import StaffLookup
from ..admin.permissions import Permissions
from ..db import utcnow
from ..extensions import db
from ..org.roles import ADMINISTRATOR, OWNER
from .models import TimeClock
from .services import add_entry, delete_entry, update_entry

CATEGORY = _l("Staff time")


class TimeClockAdmin(StomproModelView):
    """The entries of the person's branches. People clock in and out at the
    kiosk or in "My time"; the owner corrects an entry here, saying why (the
    entry as it was stays in the audit log), and moves a wrong one to the
    recycle bin. The reception reads."""

    permissions = Permissions.managed_by({OWNER}, readers={ADMINISTRATOR}, export={OWNER}, delete={OWNER})
    writes = Writes(create=add_entry, update=update_entry, delete=delete_entry)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("staff", "clinic", "clock_in", "clock_out", "note", "correction_reason")
    column_filters = (
        staff_filter(TimeClock.staff_id, LABELS["staff"]),
        clinic_filter(TimeClock.clinic_id, LABELS["clinic"]),
        "clock_in",
    )
    column_sortable_list = ("clock_in", "clock_out")
    column_default_sort = ("clock_in", True)
    form_columns = ("staff", "clinic", "clock_in", "clock_out", "note", "correction_reason")
    form_args = {"clock_in": {"default": utcnow}}
    column_descriptions = {"correction_reason": _l("Required: why the entry is added or changed by hand.")}
    form_ajax_refs = {"staff": StaffLookup()}


    def on_form_prefill(self, form, id):
        """Each correction says its own why: the last one's reason is not offered again."""
        super().on_form_prefill(form, id)
        form.correction_reason.data = ""


def register(admin):
    from .views import register_views

    register_views(admin, CATEGORY)
    admin.add_view(TimeClockAdmin(TimeClock, db, name=_l("Clock in / out"), category=CATEGORY, endpoint="time_clock"))

"""Clock in / clock out records of the person's branches, written by
stompro.timeclock.services."""
from flask import abort, request
from flask_admin import expose
from flask_admin.model.helpers import get_mdict_item_or_list
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

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


class HiddenRowsAreNotFound:
    """A row of another branch (or a deleted or unknown one) is a 404 on its
    details and edit pages, not a redirect that tells it exists."""

    @expose("/details/")
    def details_view(self):
        self._row_or_404()
        return super().details_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        self._row_or_404()
        return super().edit_view()

    def _row_or_404(self):
        row_id = get_mdict_item_or_list(request.args, "id")
        if row_id is not None and self.get_one(row_id) is None:
            abort(404)


def offered(form, field):
    """The row a picker was sent is the one it holds: an id the picker would
    not offer (another branch's, a deleted row) is refused, never dropped
    to blank or replaced by a default."""
    raw = (field.raw_data or [""])[0]
    if raw in ("", "__None"):
        return
    if field.data is None or str(getattr(field.data, "id", "")) != str(raw).strip():
        raise ValidationError(field.gettext("Not a valid choice"))


class TimeClockAdmin(HiddenRowsAreNotFound, StomproModelView):
    """The reception records and corrects its branch's entries (one open
    entry per person, none overlapping); the owner moves a wrong one to the
    recycle bin."""

    permissions = Permissions.managed_by({OWNER, ADMINISTRATOR}, export={OWNER}, delete={OWNER})
    writes = Writes(create=add_entry, update=update_entry, delete=delete_entry)
    branch_column = "clinic_id"
    simple_list_pager = True
    column_list = ("staff", "clinic", "clock_in", "clock_out", "note")
    column_filters = (
        staff_filter(TimeClock.staff_id, LABELS["staff"]),
        clinic_filter(TimeClock.clinic_id, LABELS["clinic"]),
        "clock_in",
    )
    column_sortable_list = ("clock_in", "clock_out")
    column_default_sort = ("clock_in", True)
    form_columns = ("staff", "clinic", "clock_in", "clock_out", "note")
    form_args = {"clock_in": {"default": utcnow}, "staff": {"validators": [offered]}, "clinic": {"validators": [offered]}}
    form_ajax_refs = {"staff": StaffLookup()}


def register(admin):
    admin.add_view(TimeClockAdmin(TimeClock, db, name=_l("Clock in / out"), category=CATEGORY, endpoint="time_clock"))

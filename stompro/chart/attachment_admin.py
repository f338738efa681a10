"""X-rays, photos and scans of a patient."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import COORDINATOR, DOCTOR, OWNER
from .models import Attachment

CLINICIANS = {OWNER, DOCTOR}


class AttachmentAdmin(StomproModelView):
    permissions = Permissions(
        list=frozenset(CLINICIANS | {COORDINATOR}),
        edit=frozenset(CLINICIANS),
        delete=frozenset(CLINICIANS),
        export=frozenset(CLINICIANS),
    )
    simple_list_pager = True
    column_list = ("patient", "kind", "filename", "content_type", "size_bytes", "taken_at", "uploaded_by")
    column_filters = ("kind", "taken_at")
    column_default_sort = ("taken_at", True)
    form_columns = ("kind", "taken_at", "note")


def register(admin, category):
    admin.add_view(AttachmentAdmin(Attachment, db, name=_l("X-rays and photos"), category=category, endpoint="attachment"))

"""Document templates and the patients' documents."""
from flask_babel import lazy_gettext as _l

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, COORDINATOR, DOCTOR, OWNER, OWNER_ONLY
from ..patients.admin import patient_lookup
from .models import DocumentTemplate, PatientDocument

CATEGORY = _l("Documents")


class DocumentTemplateAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, COORDINATOR}, export=OWNER_ONLY)
    column_list = ("code", "kind", "specialty", "language", "title", "active")
    column_filters = ("kind", "language", "specialty", "active")
    column_default_sort = "code"


class PatientDocumentAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        {OWNER, ADMINISTRATOR, COORDINATOR}, readers={DOCTOR}, export={OWNER}, delete={OWNER}
    )
    simple_list_pager = True
    column_list = ("patient", "kind", "specialty", "title", "status", "signed_at", "created_at")
    column_filters = ("kind", "status", "specialty", "signed_at")
    column_sortable_list = ("status", "signed_at", "created_at")
    column_default_sort = ("created_at", True)
    column_details_exclude_list = ("pdf",)
    column_export_exclude_list = ("pdf",)
    form_columns = ("patient", "template", "plan", "kind", "specialty", "title", "status", "signed_at", "witnessed_by")
    form_ajax_refs = {"patient": patient_lookup(), "plan": {"fields": ("id", "title")}}


def register(admin):
    admin.add_view(PatientDocumentAdmin(PatientDocument, db, name=_l("Patient documents"), category=CATEGORY, endpoint="patient_document"))
    admin.add_view(DocumentTemplateAdmin(DocumentTemplate, db, name=_l("Document templates"), category=CATEGORY, endpoint="document_template"))

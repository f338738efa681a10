"""Document templates and the patients' documents."""
from flask import jsonify, request
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.validators import Optional

from ..admin.base import StomproModelView, Writes
from ..admin.filters import clinic_filter, rows_filter, staff_filter
from ..admin.labels import LABELS
from ..admin.lookups import PatientLookup, RowLookup, StaffLookup
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.models import LANGUAGES, Specialty
from ..org.roles import ADMINISTRATOR, COORDINATOR, DOCTOR, OWNER, OWNER_ONLY
from ..patients.models import Patient
from ..planning.models import TreatmentPlan
from .models import DocumentTemplate, PatientDocument
from .printing import check_template, preview_template
from .services import create_document, delete_document, update_document

CATEGORY = _l("Documents")
DOCUMENT_WRITERS = frozenset({OWNER, ADMINISTRATOR, COORDINATOR})


def _plan_label(plan):
    return f"{plan.patient.full_name}: {plan}"


class PlanLookup(RowLookup):
    """Live treatment plans, found by the patient's surname or the plan's title."""

    def __init__(self, name="plan"):
        super().__init__(
            name, TreatmentPlan, fields=(Patient.last_name, TreatmentPlan.title),
            where=lambda: (TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None)),
            order_by=(Patient.last_name, TreatmentPlan.id.desc()), label=_plan_label,
        )

    def allowed(self):
        return select(TreatmentPlan).join(Patient, TreatmentPlan.patient_id == Patient.id).where(*self.where())


def _templates():
    return db.session.execute(
        select(DocumentTemplate).order_by(DocumentTemplate.active.desc(), DocumentTemplate.title)
    ).scalars().all()


class DocumentTemplateAdmin(StomproModelView):
    """The owner writes the documents' templates; each is checked before it is
    saved (documents.printing) and previewed as it prints."""

    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, COORDINATOR}, export=OWNER_ONLY)
    writes = Writes(save=check_template)
    column_list = ("code", "kind", "specialty", "language", "title", "active")
    column_filters = (
        "kind", "language",
        rows_filter(DocumentTemplate.specialty_id, LABELS["specialty"], Specialty, Specialty.sort_order),
        "active",
    )
    column_default_sort = "code"
    form_widget_args = {"body": {"rows": 16}}
    create_template = "documents/template_create.html"
    edit_template = "documents/template_edit.html"

    @expose("/preview/", methods=("POST",))
    def preview_view(self):
        """The typed text filled in with sample values, as JSON: {"html"} or {"error", "field"}."""
        if not (self._may("create") or self._may("edit")):
            return self.inaccessible_callback("preview_view")
        language = request.form.get("language") if request.form.get("language") in LANGUAGES else "ru"
        try:
            html = preview_template(db.session, language, request.form.get("body", ""))
        except DomainError as error:
            return jsonify(error=str(error.message), field=error.field), 422
        return jsonify(html=html)


class PatientDocumentAdmin(StomproModelView):
    """The documents of patients, per branch; written by documents.services:
    made as drafts, signed by choosing the status "Signed" (the time is the
    server's, the witness the signed-in person unless named), and never
    changed or deleted once signed. Opening one is written to the access log."""

    permissions = Permissions.managed_by(
        DOCUMENT_WRITERS, readers={DOCTOR}, export={OWNER}, delete={OWNER, ADMINISTRATOR}
    )
    writes = Writes(create=create_document, update=update_document, delete=delete_document)
    branch_column = "clinic_id"
    patient_access = "documents"
    simple_list_pager = True
    column_list = ("patient", "clinic", "kind", "specialty", "title", "status", "signed_at", "signed_by",
                   "witnessed_by", "created_at")
    column_filters = (
        "kind", "status",
        rows_filter(PatientDocument.specialty_id, LABELS["specialty"], Specialty, Specialty.sort_order),
        "signed_at",
        clinic_filter(PatientDocument.clinic_id, LABELS["clinic"]),
        staff_filter(PatientDocument.witnessed_by_id, LABELS["witnessed_by"]),
    )
    column_sortable_list = ("status", "signed_at", "created_at")
    column_default_sort = ("created_at", True)
    column_details_exclude_list = ("pdf", "deleted_at", "version")
    column_export_exclude_list = ("pdf",)
    column_descriptions = {
        "title": _l("Leave it blank for the template's title."),
        "witnessed_by": _l("Left blank when signing: you."),
        "signed_by": _l("Left blank: the patient. A child under 15 is signed for by a legal representative."),
        "representative_document": _l("The representative's identity document, and the one that makes them the "
                                      "representative (a birth certificate, a guardianship order)."),
    }
    form_columns = ("patient", "clinic", "template", "plan", "kind", "specialty", "title", "status", "witnessed_by",
                    "signed_by", "representative_name", "representative_document")
    form_args = {
        "title": {"validators": [Optional()]},
        "template": {"query_factory": _templates},
    }
    form_widget_args = {"title": {"required": False}}
    form_ajax_refs = {"patient": PatientLookup(), "plan": PlanLookup(), "witnessed_by": StaffLookup("witnessed_by")}

    def get_create_form(self):
        form_class = super().get_create_form()
        del form_class.status  # a new document is a draft; it is signed afterwards
        for name in ("witnessed_by", "signed_by", "representative_name", "representative_document"):
            delattr(form_class, name)
        return form_class

    def get_edit_form(self):
        form_class = super().get_edit_form()
        del form_class.patient  # a document stays with its patient
        return form_class


def register(admin):
    from .views import DocumentDeskView

    admin.add_view(DocumentDeskView(name=_l("Documents desk"), endpoint="documents_desk", url="/admin/documents"))
    admin.add_view(PatientDocumentAdmin(PatientDocument, db, name=_l("Patient documents"), category=CATEGORY, endpoint="patient_document"))
    admin.add_view(DocumentTemplateAdmin(DocumentTemplate, db, name=_l("Document templates"), category=CATEGORY, endpoint="document_template"))

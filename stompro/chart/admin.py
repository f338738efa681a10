"""The chart's records: findings, exams (the medical card), attachments, references."""
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..admin.base import StomproModelView
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.roles import ADMINISTRATOR, COORDINATOR, DOCTOR, EVERYONE, OWNER, OWNER_ONLY
from ..patients.admin import patient_lookup, staff_lookup
from .models import Condition, Diagnosis, Exam, ToothFinding

CATEGORY = _l("Medical card")
CLINICIANS = {OWNER, DOCTOR}


def _colour_swatch(view, context, model, name):
    return Markup('<span style="display:inline-block;width:1em;height:1em;background:{}"></span> {}').format(
        model.color, model.color
    )


class ConditionAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers=EVERYONE, export=OWNER_ONLY, delete=set())
    column_list = ("code", "name_ru", "name_en", "color", "symbol", "needs_treatment", "scope", "sort_order")
    column_formatters = {"color": _colour_swatch}
    column_default_sort = "sort_order"
    column_searchable_list = ("code", "name_ru", "name_en")


class DiagnosisAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={OWNER, DOCTOR, COORDINATOR}, export=OWNER_ONLY, delete=set())
    column_list = ("code", "name_ru", "name_en")
    column_searchable_list = ("code", "name_ru", "name_en")
    column_default_sort = "code"


class ToothFindingAdmin(StomproModelView):
    permissions = Permissions.managed_by(CLINICIANS, readers={ADMINISTRATOR, COORDINATOR}, export=CLINICIANS)
    simple_list_pager = True
    column_list = ("patient", "tooth", "surfaces", "condition", "note", "author", "recorded_at")
    column_filters = ("tooth", "condition", "author", "recorded_at")
    column_sortable_list = ("tooth", "recorded_at")
    column_default_sort = ("recorded_at", True)
    form_columns = ("patient", "tooth", "surfaces", "condition", "note", "exam", "author", "recorded_at")
    form_ajax_refs = {"patient": patient_lookup(), "author": staff_lookup("author"), "exam": {"fields": ("id",)}}


class ExamAdmin(StomproModelView):
    """Signed exams are locked; corrections are new entries that amend them."""

    permissions = Permissions.managed_by(CLINICIANS, readers={COORDINATOR}, export=CLINICIANS)
    simple_list_pager = True
    column_list = ("patient", "doctor", "examined_at", "diagnosis", "signed_at", "amends")
    column_filters = ("doctor", "examined_at", "signed_at", "diagnosis")
    column_sortable_list = ("examined_at", "signed_at")
    column_default_sort = ("examined_at", True)
    form_columns = (
        "patient", "doctor", "clinic", "examined_at", "complaints", "anamnesis", "objective_status",
        "diagnosis", "diagnosis_note", "recommendations", "signed_at", "amends",
    )
    form_ajax_refs = {
        "patient": patient_lookup(),
        "doctor": staff_lookup("doctor"),
        "diagnosis": {"fields": ("code", "name_ru", "name_en"), "page_size": 20},
        "amends": {"fields": ("id",)},
    }


def register(admin):
    from .attachment_admin import register as register_attachments
    from .views import register as register_chart_pages

    admin.add_view(ExamAdmin(Exam, db, name=_l("Exams"), category=CATEGORY, endpoint="exam"))
    admin.add_view(ToothFindingAdmin(ToothFinding, db, name=_l("Chart findings"), category=CATEGORY, endpoint="tooth_finding"))
    admin.add_view(ConditionAdmin(Condition, db, name=_l("Conditions"), category=CATEGORY, endpoint="condition"))
    admin.add_view(DiagnosisAdmin(Diagnosis, db, name=_l("ICD-10 diagnoses"), category=CATEGORY, endpoint="diagnosis"))
    register_attachments(admin, CATEGORY)
    register_chart_pages(admin)

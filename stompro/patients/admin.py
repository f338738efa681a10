"""Patients and insurance screens."""
from flask import url_for
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..admin.base import StomproModelView
from ..admin.links import ReachableLinkRowAction
from ..admin.permissions import Permissions
from ..extensions import db
from ..org.models import Staff
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, DOCTOR, EVERYONE, OWNER, OWNER_ONLY, PATIENT_WRITERS
from .forms import PhoneField
from .models import InsuranceCompany, InsurancePolicy, InsuranceProgram, Patient, PatientTag
from .phones import format_phone
from .services import search_term_for_database

CATEGORY = _l("Patients")


def staff_lookup(name="staff"):
    return QueryAjaxModelLoader(
        name, db, Staff, fields=("last_name", "first_name", "login"),
        filters=["staff.active = true"], page_size=15,
    )


def patient_lookup(name="patient"):
    return QueryAjaxModelLoader(
        name, db, Patient, fields=("last_name", "first_name", "phone"),
        filters=["patient.deleted_at IS NULL"], page_size=15,
    )


def _readable_phone(view, context, model, name):
    return format_phone(model.phone)


def _surname_to_card(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(url_for("patient_card.show", patient_id=model.id), model.last_name)


class PatientAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        PATIENT_WRITERS, readers=EVERYONE, export={OWNER, ADMINISTRATOR}, delete={OWNER, ADMINISTRATOR}
    )
    simple_list_pager = True
    column_list = ("last_name", "first_name", "middle_name", "birth_date", "phone", "tags", "home_clinic", "coordinator", "status")
    column_searchable_list = ("last_name", "first_name", "middle_name", "phone", "birth_date", "email")
    column_filters = ("status", "home_clinic", "coordinator", "sms_consent", "source", "birth_date", "tags.tag")
    column_sortable_list = ("last_name", "first_name", "birth_date", "phone", "status")
    column_default_sort = [("last_name", False), ("first_name", False)]
    form_columns = (
        "last_name", "first_name", "middle_name", "birth_date", "sex", "phone", "email", "address",
        "id_document", "source", "sms_consent", "preferred_days", "preferred_time_from",
        "preferred_time_to", "home_clinic", "coordinator", "status", "note", "tags",
    )
    inline_models = [(PatientTag, {"form_columns": ("id", "tag")})]
    form_ajax_refs = {"coordinator": staff_lookup("coordinator")}
    form_overrides = {"phone": PhoneField}
    column_formatters = {"last_name": _surname_to_card, "phone": _readable_phone}
    column_formatters_export = {"phone": _readable_phone}
    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-id-card-o", "patient_card.show", title=_l("Patient card"), id_arg="patient_id"),
        ReachableLinkRowAction("fa fa-th", "chart.patient_chart", title=_l("Dental chart"), id_arg="patient_id"),
    ]
    eager_loads = ("home_clinic", "coordinator")

    def get_query(self):
        from sqlalchemy.orm import selectinload

        return super().get_query().options(selectinload(Patient.tags))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        return super()._apply_search(query, count_query, joins, count_joins, search_term_for_database(search))


class InsuranceCompanyAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, COORDINATOR, CASHIER}, export=OWNER_ONLY)
    column_list = ("name", "inn", "phone", "contract_number", "active")
    column_searchable_list = ("name", "inn")
    column_default_sort = "name"
    form_excluded_columns = StomproModelView.form_excluded_columns + ("programs",)


class InsuranceProgramAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, COORDINATOR, CASHIER, DOCTOR}, export=OWNER_ONLY)
    column_list = ("company", "code", "name", "active")
    column_filters = ("company", "active")
    column_default_sort = "code"
    form_ajax_refs = {"services": {"fields": ("code", "name_ru", "name_en"), "page_size": 20}}


class InsurancePolicyAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        {OWNER, ADMINISTRATOR, COORDINATOR, CASHIER}, readers={DOCTOR}, export={OWNER}, delete={OWNER, ADMINISTRATOR}
    )
    simple_list_pager = True
    column_list = ("patient", "company", "program", "number", "valid_from", "valid_to")
    column_searchable_list = ("number",)
    column_filters = ("company", "program", "valid_to")
    column_default_sort = ("valid_from", True)
    form_ajax_refs = {"patient": patient_lookup()}
    eager_loads = ("program.company",)


def register(admin):
    from .views import register as register_card

    admin.add_view(PatientAdmin(Patient, db, name=_l("Patients"), category=CATEGORY, endpoint="patient"))
    admin.add_view(InsurancePolicyAdmin(InsurancePolicy, db, name=_l("Insurance policies"), category=CATEGORY, endpoint="insurance_policy"))
    admin.add_view(InsuranceCompanyAdmin(InsuranceCompany, db, name=_l("Insurance companies"), category=CATEGORY, endpoint="insurance_company"))
    admin.add_view(InsuranceProgramAdmin(InsuranceProgram, db, name=_l("Insurance programs"), category=CATEGORY, endpoint="insurance_program"))
    register_card(admin)

"""Patients and insurance screens."""
from flask import url_for
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import exists, select

from ..admin.base import StomproModelView, Writes
from ..admin.filters import TextChoiceFilter, clinic_filter, rows_filter, staff_filter
from ..admin.forms import FormOnlyBooleanField, WeekdaysField, weekday_names
from ..admin.labels import LABELS
from ..admin.links import ReachableLinkRowAction
from ..admin.lookups import PatientLookup, StaffLookup
from ..admin.permissions import Permissions
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, CASHIER, COORDINATOR, DOCTOR, EVERYONE, OWNER, OWNER_ONLY, PATIENT_WRITERS
from .forms import PhoneField
from .models import InsuranceCompany, InsurancePolicy, InsuranceProgram, Patient, PatientTag
from .phones import format_phone
from .services import (
    PossibleDuplicate, check_patient, check_policy, discard_patient, discard_policy, search_term_for_database,
)

CATEGORY = _l("Patients")
# Tags a clinic puts on patients, with their names; other tags show as typed.
TAG_LABELS = {"VIP": _l("VIP"), "insured": _l("Insured"), "child": _l("Child"), "debtor": _l("Debtor"),
              "orthodontic": _l("Orthodontics")}


def tag_label(tag):
    return str(TAG_LABELS.get(tag, tag))


def _weekdays(view, context, model, name):
    return weekday_names(getattr(model, name))


def _readable_phone(view, context, model, name):
    return format_phone(model.phone)


def _surname_to_card(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(url_for("patient_card.show", patient_id=model.id), model.last_name)


def _tags(view, context, model, name):
    return ", ".join(tag_label(tag.tag) for tag in model.tags)


def duplicate_message(patients):
    """Which cards may already be this patient's, each a link to open it."""
    links = Markup(", ").join(
        Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(
            url_for("patient_card.show", patient_id=p.id), f"{p} {format_phone(p.phone)}"
        )
        for p in patients
    )
    return Markup("{} {} {}").format(
        _("This may be a patient who is already registered:"), links,
        _("Open their card, or tick “This is another person” and save again."),
    )


def _check_patient(session, actor, patient, is_created, confirm_duplicate=False):
    try:
        return check_patient(session, actor, patient, is_created, confirm_duplicate=confirm_duplicate)
    except PossibleDuplicate as found:
        raise DomainError(duplicate_message(found.patients), field="confirm_duplicate") from None


def _tag_options():
    tags = db.session.execute(select(PatientTag.tag).distinct().order_by(PatientTag.tag)).scalars()
    return [(tag, tag_label(tag)) for tag in tags]


class TagFilter(TextChoiceFilter):
    """Patients holding a tag — through EXISTS, so the list keeps one row per patient."""

    def apply(self, query, value, alias=None):
        return query.filter(exists().where(PatientTag.patient_id == Patient.id, PatientTag.tag == value))


class PatientAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        PATIENT_WRITERS, readers=EVERYONE, export={OWNER, ADMINISTRATOR}, delete={OWNER, ADMINISTRATOR}
    )
    writes = Writes(save=_check_patient, delete=discard_patient)
    patient_access = "patient_card"
    simple_list_pager = True
    column_list = ("last_name", "first_name", "middle_name", "birth_date", "phone", "tags", "home_clinic", "coordinator", "status")
    column_searchable_list = ("last_name", "first_name", "middle_name", "phone", "birth_date", "email")
    column_filters = (
        "status",
        clinic_filter(Patient.home_clinic_id, LABELS["home_clinic"]),
        staff_filter(Patient.coordinator_id, LABELS["coordinator"], roles={COORDINATOR}),
        "sms_consent", "source", "birth_date",
        TagFilter(Patient.id, LABELS["tags"], options=_tag_options),
    )
    column_sortable_list = ("last_name", "first_name", "birth_date", "phone", "status")
    column_default_sort = [("last_name", False), ("first_name", False)]
    form_columns = (
        "last_name", "first_name", "middle_name", "birth_date", "sex", "phone", "email", "address",
        "id_document", "source", "sms_consent", "email_consent", "preferred_days", "preferred_time_from",
        "preferred_time_to", "home_clinic", "coordinator", "payer", "status", "note", "tags", "confirm_duplicate",
    )
    form_extra_fields = {"confirm_duplicate": FormOnlyBooleanField(_l("This is another person: register anyway"))}
    inline_models = [(PatientTag, {"form_columns": ("id", "tag"), "column_labels": LABELS})]
    form_ajax_refs = {"coordinator": StaffLookup("coordinator", roles={COORDINATOR}), "payer": PatientLookup("payer")}
    form_overrides = {"phone": PhoneField, "preferred_days": WeekdaysField}
    column_formatters = {"last_name": _surname_to_card, "phone": _readable_phone, "tags": _tags}
    column_formatters_detail = column_formatters_export = {"phone": _readable_phone, "tags": _tags,
                                                           "preferred_days": _weekdays}
    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-id-card-o", "patient_card.show", title=_l("Patient card"), id_arg="patient_id"),
        ReachableLinkRowAction("fa fa-th", "chart.patient_chart", title=_l("Dental chart"), id_arg="patient_id"),
    ]
    eager_loads = ("home_clinic", "coordinator")

    def get_query(self):
        from sqlalchemy.orm import selectinload

        return super().get_query().options(selectinload(Patient.tags))

    def get_edit_form(self):
        form_class = super().get_edit_form()
        del form_class.confirm_duplicate  # only a new registration can be a duplicate
        return form_class

    def _apply_search(self, query, count_query, joins, count_joins, search):
        return super()._apply_search(query, count_query, joins, count_joins, search_term_for_database(search))


class InsuranceCompanyAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, COORDINATOR, CASHIER}, export=OWNER_ONLY,
                                         delete=set())
    column_list = ("name", "inn", "phone", "contract_number", "active")
    column_searchable_list = ("name", "inn")
    column_default_sort = "name"
    form_excluded_columns = StomproModelView.form_excluded_columns + ("programs",)


class InsuranceProgramAdmin(StomproModelView):
    permissions = Permissions.managed_by(OWNER_ONLY, readers={ADMINISTRATOR, COORDINATOR, CASHIER, DOCTOR},
                                         export=OWNER_ONLY, delete=set())
    column_list = ("company", "code", "name", "active")
    column_filters = (rows_filter(InsuranceProgram.company_id, LABELS["company"], InsuranceCompany, InsuranceCompany.name),
                      "active")
    column_default_sort = "code"
    form_ajax_refs = {"services": {"fields": ("code", "name_ru", "name_en"), "page_size": 20}}


class InsurancePolicyAdmin(StomproModelView):
    permissions = Permissions.managed_by(
        {OWNER, ADMINISTRATOR, COORDINATOR, CASHIER}, readers={DOCTOR}, export={OWNER}, delete={OWNER, ADMINISTRATOR}
    )
    writes = Writes(save=check_policy, delete=discard_policy)
    simple_list_pager = True
    column_list = ("patient", "company", "program", "number", "valid_from", "valid_to")
    column_searchable_list = ("number",)
    column_filters = (
        rows_filter(InsurancePolicy.company_id, LABELS["company"], InsuranceCompany, InsuranceCompany.name),
        rows_filter(InsurancePolicy.program_id, LABELS["program"], InsuranceProgram, InsuranceProgram.code),
        "valid_to",
    )
    column_default_sort = ("valid_from", True)
    form_columns = ("patient", "program", "number", "valid_from", "valid_to")
    form_ajax_refs = {"patient": PatientLookup()}
    eager_loads = ("program.company",)


def register(admin):
    from .views import register as register_card

    admin.add_view(PatientAdmin(Patient, db, name=_l("Patients"), category=CATEGORY, endpoint="patient"))
    admin.add_view(InsurancePolicyAdmin(InsurancePolicy, db, name=_l("Insurance policies"), category=CATEGORY, endpoint="insurance_policy"))
    admin.add_view(InsuranceCompanyAdmin(InsuranceCompany, db, name=_l("Insurance companies"), category=CATEGORY, endpoint="insurance_company"))
    admin.add_view(InsuranceProgramAdmin(InsuranceProgram, db, name=_l("Insurance programs"), category=CATEGORY, endpoint="insurance_program"))
    register_card(admin)

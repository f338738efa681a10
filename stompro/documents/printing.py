"""A patient's document as paper: its template's text filled in with the
patient, the branch, the doctor, the date (and on the card cover the tooth
formula from the chart) (sandboxed Jinja, so an owner's
template reads only these values), as HTML and as a PDF (stompro.pdf).

``prepare_document`` makes the draft the reception prints: from the active
template of the kind (and specialty) in the clinic's language."""
from datetime import date

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import select

from ..chart.odontogram import chart_print_markup, default_dentition
from ..chart.services import current_chart
from ..errors import DomainError
from ..pdf import render_pdf
from ..scheduling.availability import local_day
from ..messaging.templates import first_branch, render_strictly
from ..org.models import Specialty
from .models import DocumentTemplate, PatientDocument
from .services import ADULT_SIGNER_AGE, age_on, create_document

TEMPLATES = SandboxedEnvironment(autoescape=True)
# The owner's check before a template is saved: only the values a document has.
STRICT = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
VALUES = ("patient_full_name", "patient_birth_date", "clinic_name", "clinic_address", "date", "doctor_name",
          "tooth_formula")


def template_of(session, kind, specialty=None):
    """The active template of ``kind`` (and ``specialty``), in the clinic's language if it has one."""
    query = select(DocumentTemplate).where(DocumentTemplate.kind == kind, DocumentTemplate.active.is_(True))
    if kind == "consent":
        query = query.where(DocumentTemplate.specialty_id == (specialty.id if specialty else None))
    templates = session.execute(query).scalars().all()
    language = current_app.config["DEFAULT_LANGUAGE"]
    templates.sort(key=lambda template: (template.language != language, template.id))
    return templates[0] if templates else None


def consent_specialties(session):
    """The specialties an informed consent can be prepared for (an active template exists), in their order."""
    return session.execute(
        select(Specialty).where(Specialty.id.in_(select(DocumentTemplate.specialty_id).where(
            DocumentTemplate.kind == "consent", DocumentTemplate.active.is_(True))))
        .order_by(Specialty.sort_order, Specialty.id)
    ).scalars().all()


def prepare_document(session, actor, patient, clinic, kind, specialty=None, plan=None):
    """A draft of ``kind`` for ``patient`` from its template, ready to print —
    the one already prepared when a draft of the same kind, specialty and
    plan is waiting for its signature (printing twice makes one document)."""
    if kind != "consent":
        specialty = None
    elif specialty is None:
        raise DomainError(_l("An informed consent is for a specialty: choose it."), field="specialty")
    waiting = session.execute(
        select(PatientDocument).where(
            PatientDocument.patient_id == patient.id, PatientDocument.kind == kind,
            PatientDocument.status == "draft", PatientDocument.deleted_at.is_(None),
            PatientDocument.specialty_id == specialty.id if specialty else PatientDocument.specialty_id.is_(None),
            PatientDocument.plan_id == plan.id if plan else PatientDocument.plan_id.is_(None),
        ).order_by(PatientDocument.id.desc())
    ).scalars().first()
    if waiting is not None:
        return waiting
    template = template_of(session, kind, specialty)
    if template is None:
        raise DomainError(_l("There is no template for this document: the owner adds one under Documents."),
                          field="kind")
    return create_document(session, actor, patient=patient, clinic=clinic, template=template, plan=plan,
                           specialty=specialty)


def document_html(session, document, doctor=None, today=None):
    """The document's page: its template's text filled in, or its title alone when it has no template."""
    patient, clinic = document.patient, document.clinic
    today = today or (local_day(clinic, document.signed_at) if document.signed_at else date.today())
    values = {
        "tooth_formula": _tooth_formula(session, patient, today) if document.kind == "card_cover" else "",
        "patient_full_name": patient.full_name,
        "patient_birth_date": f"{patient.birth_date:%d.%m.%Y}" if patient.birth_date else "",
        "clinic_name": clinic.name if clinic else "",
        "clinic_address": clinic.address if clinic else "",
        "date": f"{today:%d.%m.%Y}",
        "doctor_name": doctor.short_name if doctor is not None else "____________",
    }
    body = ""
    if document.template is not None:
        try:
            body = Markup(TEMPLATES.from_string(document.template.body).render(values))
        except TemplateError:
            raise DomainError(_l("The document's template cannot be filled in: the owner checks it under "
                                 "Documents."), field="template") from None
    language = document.template.language if document.template else current_app.config["DEFAULT_LANGUAGE"]
    child = document.kind != "card_cover" and patient.birth_date is not None and \
        age_on(patient.birth_date, today) < ADULT_SIGNER_AGE
    with force_locale(language):  # the paper speaks its template's language, whoever prints it
        return render_template("documents/print.html", document=document, body=body, language=language,
                               representative=child or document.signed_by == "representative")


def document_pdf(session, document, doctor=None):
    return render_pdf(document_html(session, document, doctor))


def _tooth_formula(session, patient, today):
    """The patient's chart as it stands, printed as the card cover's tooth formula (form 043/у)."""
    entries = current_chart(session, patient.id)
    return chart_print_markup(entries, default_dentition(patient.birth_date, today, entries))


def sample_values(session, language):
    """Values that read like a real document, from the clinic's first branch, for the template editor."""
    clinic = first_branch(session)
    with force_locale(language):
        return {
            "patient_full_name": _("Anna Smirnova"), "patient_birth_date": "02.04.1985",
            "clinic_name": clinic.name if clinic else "StomPRO", "clinic_address": clinic.address if clinic else "",
            "date": f"{date.today():%d.%m.%Y}", "doctor_name": _("Petrova M. I."),
            "tooth_formula": chart_print_markup([], "permanent"),
        }


def preview_template(session, language, body):
    """A document template's text as it prints, with sample values; DomainError (field ``body``) when it cannot be."""
    return render_strictly(body, sample_values(session, language), "body", STRICT)


def check_template(session, actor, template, is_created):
    """The template screen's save: refused while its text cannot be filled in."""
    preview_template(session, template.language, template.body)

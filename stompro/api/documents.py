"""A patient's documents for other tools: prepare one from its template,
print it (PDF), mark it signed, list them — the same rules as the documents
desk (documents.services, documents.printing)."""
from urllib.parse import quote

from flask import Response
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..documents.admin import DOCUMENT_WRITERS
from ..documents.models import PatientDocument
from ..documents.printing import document_pdf, prepare_document
from ..documents.services import sign_document
from ..errors import DomainError, NotAllowed
from ..extensions import db
from ..org.branches import clinics_of, require_branch
from ..org.models import Specialty
from ..org.roles import DOCTOR
from ..patients.models import Patient
from ..planning.models import TreatmentPlan
from ..records import live_row
from . import bp
from .appointments import ID
from .auth import current_staff, requires_roles
from .errors import ApiError, rejected
from .payload import iso_moment, json_object

DOCUMENT_READERS = DOCUMENT_WRITERS | {DOCTOR}
# The API's names of the kinds of document, and the panel's.
KINDS = {"contract": "contract", "consent": "consent", "personal_data": "personal_data", "card_cover": "card_cover",
         "plan": "plan_printout"}
API_KIND = {kind: name for name, kind in KINDS.items()}
# The API's fields of what the services name.
API_FIELDS = {"representative_name": "representative", "representative_document": "representative",
              "kind": "kind", "plan": "plan_id", "clinic": "patient"}


@bp.get(f"/patients/<{ID}:patient_id>/documents")
@requires_roles(DOCUMENT_READERS)
def patient_documents(patient_id):
    _patient_or_404(patient_id)
    documents = db.session.execute(
        select(PatientDocument).where(PatientDocument.patient_id == patient_id, PatientDocument.deleted_at.is_(None))
        .order_by(PatientDocument.created_at.desc(), PatientDocument.id.desc())
    ).scalars().all()
    return {"documents": [document_json(document) for document in documents]}


@bp.post(f"/patients/<{ID}:patient_id>/documents")
@requires_roles(DOCUMENT_WRITERS)
def prepare_patient_document(patient_id):
    patient = _patient_or_404(patient_id)
    body = json_object(allowed=("kind", "specialty", "plan_id"))
    if body.get("kind") not in KINDS:
        raise ApiError(422, fields={"kind": _l("Give one of: %(values)s.", values=", ".join(KINDS))})
    specialty = None
    if body.get("specialty") is not None:
        specialty = db.session.execute(select(Specialty).filter_by(code=str(body["specialty"]))).scalar()
        if specialty is None:
            raise ApiError(422, fields={"specialty": _l("Give the code of a specialty.")})
    plan = None
    if body.get("plan_id") is not None:
        plan = live_row(db.session, TreatmentPlan, body["plan_id"]) if isinstance(body["plan_id"], int) else None
        if plan is None:
            raise ApiError(422, fields={"plan_id": _l("Give the id of a record that exists.")})
    me = current_staff()
    mine = clinics_of(db.session, me)
    clinic = patient.home_clinic if patient.home_clinic in mine else (mine[0] if mine else None)
    try:
        document = prepare_document(db.session, me, patient, clinic, KINDS[body["kind"]], specialty, plan)
    except NotAllowed as error:
        db.session.rollback()
        raise ApiError(403, error.message) from None
    except DomainError as error:
        db.session.rollback()
        error.field = API_FIELDS.get(error.field, error.field)
        raise rejected(error) from None
    db.session.commit()
    return document_json(document), 201


@bp.get(f"/documents/<{ID}:document_id>.pdf")
@requires_roles(DOCUMENT_READERS)
def document_pdf_file(document_id):
    document = _document_or_404(document_id)
    try:
        body = document_pdf(db.session, document)
    except DomainError as error:
        raise ApiError(422, error.message) from None
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (f"inline; filename=\"document-{document.id}.pdf\"; "
                                               f"filename*=UTF-8''{quote(f'document-{document.id}.pdf')}")
    return response


@bp.post(f"/documents/<{ID}:document_id>/sign")
@requires_roles(DOCUMENT_WRITERS)
def sign_patient_document(document_id):
    document = _document_or_404(document_id)
    body = json_object(allowed=("signed_by", "representative"))
    representative = body.get("representative") or {}
    if not isinstance(representative, dict) or set(representative) - {"name", "document"}:
        raise ApiError(422, fields={"representative": _l("Give {\"name\", \"document\"}.")})
    try:
        sign_document(db.session, current_staff(), document, signed_by=body.get("signed_by") or "patient",
                      representative_name=_text(representative.get("name")),
                      representative_document=_text(representative.get("document")))
    except DomainError as error:
        db.session.rollback()
        error.field = API_FIELDS.get(error.field, error.field)
        raise rejected(error) from None
    db.session.commit()
    return document_json(document)


def document_json(document):
    return {
        "id": document.id, "kind": API_KIND[document.kind],
        "specialty": document.specialty.code if document.specialty is not None else None,
        "plan_id": document.plan_id, "status": document.status, "title": document.title,
        "signed_at": iso_moment(document.signed_at) if document.signed_at else None,
        "signed_by": document.signed_by,
    }


def _text(value):
    return value if isinstance(value, str) else None


def _patient_or_404(patient_id):
    patient = live_row(db.session, Patient, patient_id)
    if patient is None:
        raise ApiError(404, _l("There is no patient #%(id)s.", id=patient_id))
    return patient


def _document_or_404(document_id):
    document = db.session.get(PatientDocument, document_id)
    if document is None or document.deleted_at is not None:
        raise ApiError(404, _l("There is no document #%(id)s.", id=document_id))
    try:
        require_branch(current_staff(), document.clinic_id)
    except NotAllowed as error:
        raise ApiError(403, error.message) from None
    return document

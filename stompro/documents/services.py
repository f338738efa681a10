"""The documents a patient signs: contracts, informed consents, card
covers and plan printouts.

Every function takes the session and the acting staff member, flushes and
never commits, and raises DomainError naming the field at fault. A person
writes only the documents of the branches they work in (owners and the call
center: every branch).

- A document is created as a draft, of a live patient, in a branch. Its kind
  is one of DOCUMENT_KINDS; a template, if chosen, is an active one of the
  same kind and gives the title and the specialty when they are left blank.
  An informed consent names its specialty (the visit gate asks for the
  consent of the visit's specialty); a plan printout names the plan, and a
  plan is always one of the patient's own.
- A draft is edited freely, except that it stays with its patient.
- Signing sets the status "signed", the time (the server's, never typed),
  the witness (the signed-in person unless another active person is named)
  and who signed: the patient, or for a child under 15 a legal
  representative named with their identity document.
- A signed document is never changed or deleted, by any code path: a guard
  on every flush refuses it; only its scanned signed copy is added, once,
  and a signed contract is terminated, once, with a reason (it then no
  longer lets treatment start). A draft is deleted to the recycle bin.
"""
from flask_babel import lazy_gettext as _l

from .. import bounds
from ..chart.attachments import store_attachment
from ..db import utcnow
from ..errors import DomainError
from ..org.branches import require_branch
from ..records import lock_rows, same_value, soft_delete
from .models import DOCUMENT_KINDS, DOCUMENT_STATUSES, SIGNERS, PatientDocument

DOCUMENT_FIELDS = ("patient", "clinic", "template", "plan", "kind", "specialty", "title")
TITLE_LENGTH = 200
# Under this age a legal representative signs for the patient (323-FZ art. 54: consent from 15).
ADULT_SIGNER_AGE = 15
SIGNED = _l("This document is signed: it is never changed or deleted.")
# What may still change on a signed document: bookkeeping only.
# the scanned copy is added once after signing; a contract is terminated once
UNLOCKED_ATTRIBUTES = frozenset({"updated_at", "scan_id", "scan", "terminated_at", "termination_reason",
                                 "terminated_by_id", "terminated_by"})


class DocumentSigned(DomainError):
    """Someone tried to change or delete a signed document (its status locks it)."""

    def __init__(self, field="status"):
        super().__init__(SIGNED, field=field)


def create_document(session, actor, patient=None, clinic=None, template=None, plan=None, kind=None, specialty=None,
                    title=None):
    """A draft document of ``patient`` in ``clinic``."""
    document = PatientDocument(status="draft")
    values = {"patient": patient, "clinic": clinic, "template": template, "plan": plan, "kind": kind,
              "specialty": specialty, "title": title}
    _set_document(session, actor, document, values, new=True)
    session.add(document)
    session.flush()
    return document


def update_document(session, actor, document, status=None, witnessed_by=None, signed_by=None, representative_name=None,
                    representative_document=None, **changes):
    """Change a draft (``changes`` among DOCUMENT_FIELDS); with ``status``
    "signed", sign it afterwards, witnessed by ``witnessed_by`` or ``actor``
    (``signed_by`` and the representative: see sign_document).
    A document saved as it is changes nothing and is never refused."""
    unknown = set(changes) - set(DOCUMENT_FIELDS)
    if unknown:
        raise TypeError(f"not a document field: {', '.join(sorted(unknown))}")
    require_branch(actor, document.clinic_id)
    if status is not None and status not in DOCUMENT_STATUSES:
        raise DomainError(_l("Unknown status."), field="status")
    changed = [name for name in DOCUMENT_FIELDS if name in changes and not same_value(getattr(document, name), changes[name])]
    signing = status is not None and status != document.status
    new_witness = witnessed_by is not None and witnessed_by.id != document.witnessed_by_id
    if not (changed or signing or new_witness):
        return document
    _refuse_locked(document)
    if "patient" in changed:
        raise DomainError(_l("A document stays with its patient; make a new one for the other patient."),
                          field="patient")
    if witnessed_by is not None and status != "signed":
        raise DomainError(_l("The witness is recorded when the document is signed: choose the status “Signed”."),
                          field="witnessed_by")
    values = {name: changes.get(name, getattr(document, name)) for name in DOCUMENT_FIELDS}
    _set_document(session, actor, document, values, new=False)
    session.flush()
    if status == "signed":
        sign_document(session, actor, document, witnessed_by=witnessed_by, signed_by=signed_by or "patient",
                      representative_name=representative_name, representative_document=representative_document)
    return document


def sign_document(session, actor, document, witnessed_by=None, signed_by="patient", representative_name=None,
                  representative_document=None, now=None):
    """Sign a draft now; the witness is ``witnessed_by`` or the signed-in
    person. ``signed_by`` is the patient, or a legal representative named
    with their identity document — always so for a child under
    ADULT_SIGNER_AGE on the day."""
    require_branch(actor, document.clinic_id)
    _refuse_locked(document)
    now = now or utcnow()
    witness = witnessed_by or actor
    if not witness.active:
        raise DomainError(_l("This person no longer works at the clinic."), field="witnessed_by")
    if signed_by not in SIGNERS:
        raise DomainError(_l("Say who signs: the patient or their legal representative."), field="signed_by")
    name, papers = (representative_name or "").strip(), (representative_document or "").strip()
    if signed_by == "patient":
        if age_on(document.patient.birth_date, now.date()) < ADULT_SIGNER_AGE:
            raise DomainError(_l("The patient is under %(age)s: a legal representative signs for them.",
                                 age=ADULT_SIGNER_AGE), field="signed_by")
        name = papers = ""
    else:
        if not name:
            raise DomainError(_l("Write the representative's name."), field="representative_name")
        if not papers:
            raise DomainError(_l("Write the representative's identity document (and the one that makes them "
                                 "the representative)."), field="representative_document")
        bounds.require(bounds.text_problem(name, TITLE_LENGTH, multiline=False), "representative_name")
        bounds.require(bounds.text_problem(papers, TITLE_LENGTH, multiline=False), "representative_document")
    document.status = "signed"
    document.signed_at = now.replace(microsecond=0)
    document.witnessed_by = witness
    document.signed_by = signed_by
    document.representative_name, document.representative_document = name or None, papers or None
    session.flush()
    return document


def terminate_contract(session, actor, document, reason=None, now=None):
    """End a signed contract from ``now``, saying why; a new contract is signed to treat again."""
    require_branch(actor, document.clinic_id)
    if document.deleted_at is not None:
        raise DomainError(_l("This document was deleted."))
    if document.kind != "contract" or document.status != "signed":
        raise DomainError(_l("Only a signed contract is terminated."), field="kind")
    if document.terminated_at is not None:
        raise DomainError(_l("This contract is terminated already."), field="terminated_at")
    text = (reason or "").strip()
    if not text:
        raise DomainError(_l("Write why the contract is terminated."), field="termination_reason")
    bounds.require(bounds.text_problem(text), "termination_reason")
    document.terminated_at, document.termination_reason, document.terminated_by = now or utcnow(), text, actor
    session.flush()
    return document


def age_on(born, day):
    """Full years of someone born on ``born`` on ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def attach_signed_copy(session, actor, document, stream, filename, *, storage_dir, max_bytes):
    """Keep the scanned signed paper of a signed document (a PDF or an
    image, checked by its content); once — a document has one signed copy."""
    require_branch(actor, document.clinic_id)
    if document.status != "signed":
        raise DomainError(_l("Mark the document signed first, then add its signed copy."), field="file")
    if document.scan_id is not None:
        raise DomainError(_l("This document's signed copy is kept already."), field="file")
    document.scan = store_attachment(session, document.patient, actor, stream, filename, "document",
                                     note=document.title, storage_dir=storage_dir, max_bytes=max_bytes,
                                     join_open_exam=False)
    session.flush()
    return document.scan


def delete_document(session, actor, document):
    """Move a draft to the recycle bin; a signed document stays."""
    require_branch(actor, document.clinic_id)
    _refuse_locked(document)
    soft_delete(session, document)


def _refuse_locked(document):
    if document.deleted_at is not None:
        raise DomainError(_l("This document was deleted."))
    if document.status == "signed" or document.signed_at is not None:
        raise DocumentSigned()


def _set_document(session, actor, document, values, new):
    patient, clinic, template, plan = values["patient"], values["clinic"], values["template"], values["plan"]
    if patient is None:
        raise DomainError(_l("Choose the patient."), field="patient")
    if new and patient.deleted_at is not None:
        raise DomainError(_l("This patient's card was deleted."), field="patient")
    if clinic is None:
        raise DomainError(_l("Choose the branch."), field="clinic")
    require_branch(actor, clinic)
    kind = values["kind"] or (template.kind if template is not None else None)
    if kind not in DOCUMENT_KINDS:
        raise DomainError(_l("Choose the kind of document."), field="kind")
    if template is not None:
        if template.kind != kind:
            raise DomainError(_l("This template is for another kind of document."), field="template")
        if not template.active and getattr(document.template, "id", None) != template.id:
            raise DomainError(_l("This template is no longer used."), field="template")
    specialty = values["specialty"] or (template.specialty if template is not None else None)
    if kind == "consent" and specialty is None:
        raise DomainError(_l("An informed consent is for a specialty: choose it."), field="specialty")
    if plan is not None:
        if plan.patient_id != patient.id:
            raise DomainError(_l("This plan is of another patient."), field="plan")
        if plan.deleted_at is not None and getattr(document.plan, "id", None) != plan.id:
            raise DomainError(_l("This plan was deleted."), field="plan")
    elif kind == "plan_printout":
        raise DomainError(_l("A plan printout is of a treatment plan: choose it."), field="plan")
    title = (values["title"] or "").strip() or (template.title if template is not None else "")
    if not title:
        raise DomainError(_l("Give the document a title."), field="title")
    bounds.require(bounds.text_problem(title, TITLE_LENGTH, multiline=False), "title")
    document.patient, document.clinic, document.template, document.plan = patient, clinic, template, plan
    document.kind, document.specialty, document.title = kind, specialty, title


# -- the database-level lock -------------------------------------------------------


# Whatever the code path, a signed document is neither changed nor deleted.
lock_rows(PatientDocument, PatientDocument.status == "signed", DocumentSigned, unlocked=UNLOCKED_ATTRIBUTES)

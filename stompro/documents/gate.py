"""The documents gate: treatment starts (a visit goes "in chair") only when
the patient has signed what the law asks for — the contract for paid
services, consent to personal-data processing (152-FZ) and the informed
voluntary consent of the visit's specialty (323-FZ art. 20).

- The visit's specialty is its plan stage's, else its doctor's. A consent is
  asked for when the clinic has an active consent template of that
  specialty (a specialty without one, diagnostics say, needs none).
- A signed contract stays valid until it is terminated; a signed consent
  to personal data stays valid (its withdrawal is not recorded in the panel
  yet). An informed consent
  signed for a plan is valid for that plan's visits; one signed without a
  plan is valid for CONSENT_VALID_DAYS (365) from its signature.
- Each branch chooses its gate (``clinic.document_gate``): ``block`` refuses
  and names what is missing; ``warn`` lets the visit go on with a reason,
  which is written to the audit log with what was missing.

``scheduling.services.set_visit_status`` asks the gate, so the board, the
API, the generic screens and the CLI are all held by it."""
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.recorder import record_event
from ..db import utcnow
from ..errors import DomainError
from .models import DocumentTemplate, PatientDocument

IDS_PER_QUERY = 500
KIND_LABELS = {
    "contract": _l("the contract for paid services"),
    "personal_data": _l("consent to personal data processing"),
}


@dataclass(frozen=True)
class Missing:
    """A document the patient still has to sign: its kind, and for a consent its specialty."""

    kind: str
    specialty: object = None  # org.models.Specialty

    def label(self):
        if self.kind == "consent":
            return _l("informed consent: %(specialty)s", specialty=self.specialty)
        return KIND_LABELS[self.kind]

    @property
    def text(self):
        return str(self.label())

    def json(self):
        return {"kind": self.kind, "specialty": self.specialty.code if self.specialty is not None else None}


class DocumentsMissing(DomainError):
    """The visit may not go in chair: ``missing`` names what is to be signed."""

    def __init__(self, missing, warn=False):
        names = "; ".join(str(item.label()) for item in missing)
        if warn:
            message = _l("Before treatment the patient must sign: %(documents)s. To go ahead without them, write "
                         "why (this branch allows it, and it is recorded).", documents=names)
        else:
            message = _l("Before treatment the patient must sign: %(documents)s.", documents=names)
        super().__init__(message, field="reason" if warn else "status")
        self.missing, self.warn = missing, warn


def visit_specialty(visit):
    """The specialty a visit treats in: its plan stage's, else its doctor's."""
    stage = visit.plan_stage
    if stage is not None and stage.specialty is not None:
        return stage.specialty
    return visit.doctor.specialty if visit.doctor is not None else None


def missing_documents(session, visit, now=None):
    """What the visit's patient has still to sign before the visit's treatment (see the module's notes)."""
    return missing_for_visits(session, [visit], now)[visit.id]


def missing_for_visits(session, visits, now=None):
    """{visit id: [Missing]} for many visits at once (the board's day): the
    patients' signed documents and the specialties with a consent template
    are read once, not per visit."""
    if not visits:
        return {}
    now = now or utcnow()
    signed = {}
    patient_ids = list({visit.patient_id for visit in visits})
    for chunk in range(0, len(patient_ids), IDS_PER_QUERY):
        for document in session.execute(
            select(PatientDocument).where(PatientDocument.patient_id.in_(patient_ids[chunk:chunk + IDS_PER_QUERY]),
                                          PatientDocument.status == "signed", PatientDocument.deleted_at.is_(None))
        ).scalars():
            signed.setdefault(document.patient_id, []).append(document)
    consented = set(session.execute(
        select(DocumentTemplate.specialty_id).where(DocumentTemplate.kind == "consent",
                                                    DocumentTemplate.active.is_(True))
    ).scalars())
    return {visit.id: _missing(visit, signed.get(visit.patient_id, []), consented, now) for visit in visits}


def _missing(visit, signed, consented, now):
    missing = [Missing(kind) for kind in ("contract", "personal_data")
               if not any(document.kind == kind and not _terminated(document, now) for document in signed)]
    specialty = visit_specialty(visit)
    if specialty is not None and specialty.id in consented and not any(
            _valid_consent(document, specialty, visit, now) for document in signed):
        missing.append(Missing("consent", specialty))
    return missing


def _terminated(document, now):
    return document.terminated_at is not None and document.terminated_at <= now


def check_gate(session, visit, reason=None, now=None):
    """Let the visit go in chair, or raise DocumentsMissing; in a ``warn``
    branch a reason lets it go, and is audited with what was missing."""
    missing = missing_documents(session, visit, now)
    if not missing:
        return
    reason = (reason or "").strip()
    if visit.clinic.document_gate != "warn":
        raise DocumentsMissing(missing)
    if not reason:
        raise DocumentsMissing(missing, warn=True)
    record_event(session, "appointment", visit.id, "update",
                 {"documents_missing": [item.json() for item in missing], "documents_gate_reason": reason})


def _valid_consent(document, specialty, visit, now):
    if document.kind != "consent" or document.specialty_id != specialty.id:
        return False
    if document.plan_id is not None:
        stage = visit.plan_stage
        return stage is not None and stage.variant.plan_id == document.plan_id
    period = timedelta(days=int(current_app.config["CONSENT_VALID_DAYS"]))
    return document.signed_at > now - period

"""The access log of patients' medical records: every opening of a card,
chart, exam, X-ray, plan or document, by whom and when."""
from flask import has_request_context, request

from ..db import utcnow
from .models import PatientAccess


def record_access(session, staff, patient_id, what, channel="panel"):
    """Write, and commit at once, that ``staff`` opened ``what`` of the
    patient ``patient_id`` — before the page is shown, whatever happens
    next. Called on a read, so the commit carries only this row; what the
    page has loaded stays loaded (no expiry on this commit)."""
    path = request.full_path[:300] if has_request_context() else None
    session.add(
        PatientAccess(
            at=utcnow(), staff_id=staff.id, staff_login=staff.login, patient_id=patient_id,
            what=what, channel=channel, path=path,
        )
    )
    real = session.registry() if hasattr(session, "registry") else session
    expiring, real.expire_on_commit = real.expire_on_commit, False
    try:
        real.commit()
    finally:
        real.expire_on_commit = expiring

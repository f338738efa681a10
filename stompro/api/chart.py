"""The current dental chart of a patient, and recording new findings."""
from flask_babel import lazy_gettext as _l

from ..audit.access import record_access
from ..chart.services import current_chart, record_findings
from ..errors import DomainError
from ..extensions import db
from ..org.roles import ADMINISTRATOR, COORDINATOR, DOCTOR, OWNER
from ..patients.models import Patient
from ..records import live_row
from . import bp
from .auth import current_staff, requires_roles
from .errors import ApiError, rejected
from .payload import UNKNOWN_FIELD, iso_moment, json_object

CHART_READERS = frozenset({OWNER, DOCTOR, ADMINISTRATOR, COORDINATOR})
CHART_WRITERS = frozenset({DOCTOR})
FINDING_FIELDS = ("tooth", "surfaces", "condition", "note")
CHART_URL = "/patients/<int(max=2147483647):patient_id>/chart"  # ids are 32-bit integers


def chart_json(patient_id):
    return {
        "findings": [
            {
                "tooth": entry.tooth,
                "surfaces": entry.surfaces,
                "condition": entry.condition.code,
                "note": entry.note,
                "recorded_at": iso_moment(entry.recorded_at),
            }
            for entry in current_chart(db.session, patient_id)
        ]
    }


def patient_or_404(patient_id):
    """The patient of a URL, or a JSON 404."""
    patient = live_row(db.session, Patient, patient_id)
    if patient is None:
        raise ApiError(404, _l("There is no patient #%(id)s.", id=patient_id))
    return patient


@bp.get(CHART_URL)
@requires_roles(CHART_READERS)
def show_chart(patient_id):
    patient = patient_or_404(patient_id)
    record_access(db.session, current_staff(), patient.id, "chart", channel="api")
    return chart_json(patient.id)


@bp.post(CHART_URL)
@requires_roles(CHART_WRITERS)
def record_chart(patient_id):
    patient = patient_or_404(patient_id)
    findings = _findings(json_object(allowed=("findings",)))
    try:
        record_findings(db.session, patient, current_staff(), findings)
    except DomainError as error:
        raise rejected(error) from None
    db.session.commit()
    return chart_json(patient_id), 201


def _findings(body):
    """The list of findings, each an object with only the known keys (a
    misspelt "surface" must not turn a surface finding into a whole-tooth one).
    The values themselves are checked by record_findings."""
    findings = body.get("findings")
    if not isinstance(findings, list) or not findings:
        raise ApiError(422, fields={"findings": _l("A non-empty list of findings is required.")})
    errors = {}
    for index, finding in enumerate(findings):
        if not isinstance(finding, dict):
            errors[f"findings[{index}]"] = _l("A finding is an object with tooth, surfaces, condition and note.")
            continue
        for key in finding:
            if key not in FINDING_FIELDS:
                errors[f"findings[{index}].{key}"] = UNKNOWN_FIELD
        if not isinstance(finding.get("condition"), (str, type(None))):
            errors[f"findings[{index}].condition"] = _l("A condition is a code such as “caries”.")
    if errors:
        raise ApiError(422, fields=errors)
    return findings

"""Finding and registering patients."""
import json

from flask import request
from flask_babel import lazy_gettext as _l

from ..errors import DomainError
from ..extensions import db
from ..org.roles import EVERYONE, PATIENT_WRITERS
from ..patients.services import PossibleDuplicate, create_patient, search_patients
from . import bp
from .auth import requires_roles
from .errors import ApiError, error_response, rejected
from .payload import json_object

# The roles that register patients in the panel, too.


def patient_json(patient):
    return {
        "id": patient.id,
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "phone": patient.phone,
        "email": patient.email,
        "sms_consent": bool(patient.sms_consent),
        "email_consent": bool(patient.email_consent),
    }


@bp.get("/patients")
@requires_roles(EVERYONE)
def find_patients():
    found = search_patients(db.session, request.args.get("q", ""))
    return {"patients": [patient_json(patient) for patient in found]}


@bp.post("/patients")
@requires_roles(PATIENT_WRITERS)
def register_patient():
    """A new patient; one who may be registered already (same phone, or same
    name and birth date) is 409 with the cards found, unless the body says
    ``"confirm_duplicate": true``."""
    body = dict(json_object())
    confirm = body.pop("confirm_duplicate", False)
    if not isinstance(confirm, bool):
        raise ApiError(422, fields={"confirm_duplicate": _l("Give true or false.")})
    try:
        patient = create_patient(db.session, body, confirm_duplicate=confirm)
    except PossibleDuplicate as found:
        db.session.rollback()
        response = error_response(ApiError(409, found.message))
        response.set_data(json.dumps({**response.get_json(), "duplicates": [patient_json(p) for p in found.patients]},
                                     ensure_ascii=False))
        return response
    except DomainError as error:
        raise rejected(error) from None
    db.session.commit()
    return patient_json(patient), 201

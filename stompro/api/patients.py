"""Finding and registering patients."""
from flask import request

from ..errors import DomainError
from ..extensions import db
from ..org.roles import EVERYONE, PATIENT_WRITERS
from ..patients.services import create_patient, search_patients
from . import bp
from .auth import requires_roles
from .errors import rejected
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
    }


@bp.get("/patients")
@requires_roles(EVERYONE)
def find_patients():
    found = search_patients(db.session, request.args.get("q", ""))
    return {"patients": [patient_json(patient) for patient in found]}


@bp.post("/patients")
@requires_roles(PATIENT_WRITERS)
def register_patient():
    try:
        patient = create_patient(db.session, json_object())
    except DomainError as error:
        raise rejected(error) from None
    db.session.commit()
    return patient_json(patient), 201

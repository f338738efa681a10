"""Documents fixtures: the demo's branches and receptionists, templates, and
a patient with a plan."""
from datetime import date

import pytest
from sqlalchemy import select

from stompro.documents.models import DocumentTemplate
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.planning.models import TreatmentPlan



def template(code, language="ru"):
    return db.session.execute(
        select(DocumentTemplate).where(DocumentTemplate.code == code, DocumentTemplate.language == language)
    ).scalar_one()


@pytest.fixture
def contract(app):
    return template("contract_paid_services")


@pytest.fixture
def consent(app):
    return template("consent_therapy")


@pytest.fixture
def plan(app):
    """A live plan of a live demo patient."""
    return db.session.execute(
        select(TreatmentPlan).join(Patient, TreatmentPlan.patient_id == Patient.id)
        .where(TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None), TreatmentPlan.title.is_not(None))
        .order_by(TreatmentPlan.id).limit(1)
    ).scalar_one()


@pytest.fixture
def latin_patient(app):
    patient = Patient(last_name="Brown", first_name="Emily", birth_date=date(1990, 2, 3), phone="+79160000004")
    db.session.add(patient)
    db.session.commit()
    return patient

"""The rules of patients' documents, called directly (any path obeys them)."""
from datetime import datetime, timedelta, timezone

import pytest

from stompro.documents.models import PatientDocument
from stompro.documents.services import (
    DocumentSigned, create_document, delete_document, sign_document, update_document,
)
from stompro.errors import DomainError, NotAllowed
from stompro.extensions import db

from ..conftest import staff_by_login


def draft(actor, patient, branch, template, **values):
    return create_document(db.session, actor, patient=patient, clinic=branch, template=template, **values)


def test_a_document_starts_as_a_draft_from_its_template(admin, patient, center, consent):
    document = draft(admin, patient, center, consent)
    assert (document.status, document.signed_at, document.witnessed_by_id) == ("draft", None, None)
    assert (document.kind, document.title, document.specialty_id) == ("consent", consent.title, consent.specialty_id)
    assert document.clinic_id == center.id


@pytest.mark.parametrize(
    "values, field",
    [
        ({"patient": None}, "patient"),
        ({"clinic": None}, "clinic"),
        ({"template": None, "kind": "receipt"}, "kind"),
        ({"kind": "contract"}, "template"),  # a consent template is not a contract
        ({"template": None, "kind": "consent", "title": "Согласие"}, "specialty"),
        ({"template": None, "kind": "plan_printout", "title": "План"}, "plan"),
        ({"template": None, "kind": "contract"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_a_document_is_checked(admin, patient, center, consent, values, field):
    before = db.session.query(PatientDocument).count()
    with pytest.raises(DomainError) as refused:
        create_document(db.session, admin, **{"patient": patient, "clinic": center, "template": consent, **values})
    assert refused.value.field == field
    assert db.session.query(PatientDocument).count() == before


def test_a_plan_is_the_patients_own(admin, patient, center, plan):
    with pytest.raises(DomainError) as refused:
        create_document(db.session, admin, patient=patient, clinic=center, kind="plan_printout", plan=plan,
                        title="План")
    assert refused.value.field == "plan"
    document = create_document(db.session, admin, patient=plan.patient, clinic=center, kind="plan_printout",
                               plan=plan, title="План")
    assert document.plan_id == plan.id


def test_nobody_writes_another_branchs_documents(admin, owner, patient, south, contract):
    with pytest.raises(NotAllowed):
        draft(admin, patient, south, contract)
    theirs = draft(owner, patient, south, contract)  # the owner works network-wide
    for attempt in (lambda: update_document(db.session, admin, theirs, title="Моё"),
                    lambda: sign_document(db.session, admin, theirs),
                    lambda: delete_document(db.session, admin, theirs)):
        with pytest.raises(NotAllowed):
            attempt()


def test_a_draft_changes_but_keeps_its_patient(admin, patient, latin_patient, center, contract):
    document = draft(admin, patient, center, contract)
    update_document(db.session, admin, document, title="Договор №5")
    assert document.title == "Договор №5"
    with pytest.raises(DomainError) as refused:
        update_document(db.session, admin, document, patient=latin_patient)
    assert refused.value.field == "patient"


def test_a_witness_is_named_only_when_signing(admin, patient, center, contract):
    document = draft(admin, patient, center, contract)
    with pytest.raises(DomainError) as refused:
        update_document(db.session, admin, document, witnessed_by=admin)
    assert refused.value.field == "witnessed_by"


def test_signing_takes_the_servers_time_and_the_signed_in_witness(admin, patient, center, contract):
    document = draft(admin, patient, center, contract)
    update_document(db.session, admin, document, status="signed")
    assert document.status == "signed" and document.witnessed_by_id == admin.id
    assert abs(document.signed_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_another_witness_may_be_named_but_not_one_who_left(admin, patient, center, contract):
    coordinator = staff_by_login("coordinator")
    document = draft(admin, patient, center, contract)
    sign_document(db.session, admin, document, witnessed_by=coordinator)
    assert document.witnessed_by_id == coordinator.id
    other = draft(admin, patient, center, contract)
    coordinator.active = False
    with pytest.raises(DomainError) as refused:
        sign_document(db.session, admin, other, witnessed_by=coordinator)
    assert refused.value.field == "witnessed_by"


def test_a_signed_document_is_never_changed_or_deleted(admin, owner, patient, center, contract):
    document = draft(admin, patient, center, contract)
    sign_document(db.session, admin, document)
    for attempt in (lambda: update_document(db.session, owner, document, title="Подделка"),
                    lambda: update_document(db.session, owner, document, status="draft"),
                    lambda: sign_document(db.session, owner, document),
                    lambda: delete_document(db.session, owner, document)):
        with pytest.raises(DocumentSigned) as refused:
            attempt()
        assert refused.value.field == "status"
    assert document.title == contract.title and document.deleted_at is None


def test_no_code_path_changes_a_signed_document(admin, patient, center, contract):
    document = draft(admin, patient, center, contract)
    sign_document(db.session, admin, document)
    db.session.commit()
    document.title = "Подделка"
    with pytest.raises(DocumentSigned):
        db.session.flush()
    db.session.rollback()
    db.session.delete(document)
    with pytest.raises(DocumentSigned):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(PatientDocument, document.id).deleted_at is None


def test_a_draft_is_deleted_to_the_recycle_bin(admin, patient, center, contract):
    document = draft(admin, patient, center, contract)
    delete_document(db.session, admin, document)
    assert db.session.get(PatientDocument, document.id).deleted_at is not None

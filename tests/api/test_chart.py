"""The chart through the API: the current state per tooth, new findings
recorded with history, bad findings refused without writing anything."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from stompro.audit.models import AuditLog
from stompro.chart.models import ToothFinding
from stompro.chart.services import record_findings
from stompro.db import utcnow
from stompro.extensions import db

from ..conftest import staff_by_login
from .conftest import count


def chart_url(patient):
    return f"/api/v1/patients/{patient.id}/chart"


def test_get_shows_the_latest_finding_per_tooth(api, patient):
    doctor = staff_by_login("doctor")
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "", "condition": "caries", "note": "deep"}], now=utcnow() - timedelta(days=30))
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "", "condition": "crown"}])
    record_findings(db.session, patient, doctor, [{"tooth": 11, "surfaces": "", "condition": "healthy"}])
    api.as_role("administrator")
    response = api.get(chart_url(patient))
    assert response.status_code == 200
    findings = response.get_json()["findings"]
    assert [(f["tooth"], f["surfaces"], f["condition"], f["note"]) for f in findings] == [
        (11, "", "healthy", None),
        (36, "", "crown", None),
    ]
    assert findings[0]["recorded_at"].endswith("Z")


def test_post_records_findings_and_the_newer_one_wins(api, patient):
    doctor = api.as_role("doctor")
    first = api.post(chart_url(patient), json={"findings": [{"tooth": 36, "surfaces": "O", "condition": "caries", "note": "small"}]})
    assert first.status_code == 201
    assert first.get_json()["findings"] == [
        {"tooth": 36, "surfaces": "O", "condition": "caries", "note": "small", "recorded_at": first.get_json()["findings"][0]["recorded_at"]}
    ]
    second = api.post(chart_url(patient), json={"findings": [{"tooth": 36, "surfaces": "o", "condition": "filling", "note": None}]})
    assert second.status_code == 201
    current = api.get(chart_url(patient)).get_json()["findings"]
    assert [(f["tooth"], f["surfaces"], f["condition"]) for f in current] == [(36, "O", "filling")]
    history = db.session.execute(
        select(ToothFinding).where(ToothFinding.patient_id == patient.id).order_by(ToothFinding.id)
    ).scalars().all()
    assert [f.condition.code for f in history] == ["caries", "filling"]
    assert {f.author_id for f in history} == {doctor.id}


def test_the_audit_log_names_the_token_owner(api, patient):
    doctor = api.as_role("doctor")
    api.post(chart_url(patient), json={"findings": [{"tooth": 21, "condition": "missing"}]})
    entry = db.session.execute(
        select(AuditLog).where(AuditLog.table_name == "tooth_finding").order_by(AuditLog.id.desc()).limit(1)
    ).scalar_one()
    assert (entry.actor_id, entry.action) == (doctor.id, "insert")


def test_several_findings_in_one_call(api, patient):
    api.as_role("doctor")
    response = api.post(chart_url(patient), json={"findings": [
        {"tooth": 16, "surfaces": "MO", "condition": "caries"},
        {"tooth": 46, "surfaces": "", "condition": "missing"},
    ]})
    assert response.status_code == 201
    assert [(f["tooth"], f["surfaces"]) for f in response.get_json()["findings"]] == [(16, "M"), (16, "O"), (46, "")]


@pytest.mark.parametrize(
    "finding, field, message",
    [
        ({"tooth": 19, "surfaces": "", "condition": "caries"}, "findings[1].tooth", "Tooth 19 does not exist"),
        ({"tooth": 36, "surfaces": "X", "condition": "caries"}, "findings[1].surfaces", "Unknown surface X"),
        ({"tooth": 36, "surfaces": "O", "condition": "rot"}, "findings[1].condition", "Unknown condition"),
        ({"tooth": 36, "surfaces": "O", "condition": ["caries"]}, "findings[1].condition", "code"),
        ({"tooth": 36, "surface": "O", "condition": "caries"}, "findings[1].surface", "Unknown field"),
        ("36 O caries", "findings[1]", "object"),
    ],
)
def test_a_bad_finding_is_422_naming_the_field_and_nothing_is_written(api, patient, finding, field, message):
    api.as_role("doctor")
    before = count(ToothFinding)
    good = {"tooth": 11, "surfaces": "", "condition": "healthy"}
    response = api.post(chart_url(patient), json={"findings": [good, finding]})
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert list(fields) == [field]
    assert message in fields[field]
    assert count(ToothFinding) == before


@pytest.mark.parametrize("body", [{}, {"findings": []}, {"findings": "36 caries"}, {"findings": [], "exam": 1}])
def test_a_body_without_findings_is_422(api, patient, body):
    api.as_role("doctor")
    response = api.post(chart_url(patient), json=body)
    assert response.status_code == 422
    assert response.get_json()["fields"]


def test_an_unknown_or_deleted_patient_is_404(api, patient):
    api.as_role("doctor")
    missing = api.get("/api/v1/patients/987654321/chart")
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "There is no patient #987654321."}
    patient.deleted_at = utcnow()
    db.session.flush()
    assert api.get(chart_url(patient)).status_code == 404
    assert api.post(chart_url(patient), json={"findings": [{"tooth": 11, "condition": "healthy"}]}).status_code == 404

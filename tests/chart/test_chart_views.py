"""The odontogram page: who may see and change it, recording through the JSON
endpoint, the dentition switch and a tooth's history."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from stompro.chart.models import Exam, ToothFinding
from stompro.chart.services import record_findings
from stompro.db import utcnow
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.timefmt import format_moment


def findings_of(patient):
    return db.session.scalar(select(func.count()).select_from(ToothFinding).where(ToothFinding.patient_id == patient.id))


def post_findings(client, auth, patient, findings, dentition="permanent"):
    return client.post(
        f"/admin/chart/{patient.id}/findings",
        json={"findings": findings, "dentition": dentition},
        headers={"X-CSRFToken": auth.csrf_token()},
    )


def tooth_group(html, tooth):
    match = re.search(rf'<g class="tooth[^"]*" data-tooth="{tooth}".*?</g>', html, re.S)
    assert match, f"tooth {tooth} not drawn"
    return match.group(0)


def surface_polygon(html, tooth, surface):
    match = re.search(rf'<polygon[^>]*data-tooth="{tooth}" data-surface="{surface}"[^>]*>', html)
    assert match, f"no surface {tooth}{surface} drawn"
    return match.group(0)


def test_the_doctor_records_caries_on_36_o_and_gets_the_new_chart(client, auth, patient, doctor):
    auth.as_role("doctor")
    response = post_findings(client, auth, patient, [{"tooth": 36, "surfaces": "O", "condition": "caries", "note": "deep"}])
    assert response.status_code == 200
    body = response.get_json()
    assert [(f["tooth"], f["surfaces"], f["condition"], f["note"]) for f in body["findings"]] == [(36, "O", "caries", "deep")]
    polygon = surface_polygon(body["html"], 36, "O")
    assert 'data-condition="caries"' in polygon and 'fill="#E53935"' in polygon
    db.session.expire_all()
    saved = db.session.execute(select(ToothFinding).where(ToothFinding.patient_id == patient.id)).scalar_one()
    assert (saved.tooth, saved.surfaces, saved.condition.code, saved.author_id) == (36, "O", "caries", doctor.id)


def test_a_finding_is_attached_to_the_open_exam(client, auth, patient, doctor):
    exam = Exam(patient=patient, doctor=doctor, examined_at=utcnow() - timedelta(minutes=10))
    db.session.add(exam)
    db.session.commit()
    auth.as_role("doctor")
    assert post_findings(client, auth, patient, [{"tooth": 11, "surfaces": "", "condition": "crown"}]).status_code == 200
    db.session.expire_all()
    saved = db.session.execute(select(ToothFinding).where(ToothFinding.patient_id == patient.id)).scalar_one()
    assert saved.exam_id == exam.id


@pytest.mark.parametrize(
    "finding, field, message",
    [
        ({"tooth": 19, "surfaces": "", "condition": "caries"}, "findings[1].tooth", "Tooth 19 does not exist"),
        ({"tooth": 36, "surfaces": "X", "condition": "caries"}, "findings[1].surfaces", "Unknown surface X"),
        ({"tooth": 36, "surfaces": "O", "condition": "rust"}, "findings[1].condition", "Unknown condition"),
    ],
)
def test_bad_input_is_refused_with_field_errors_and_nothing_is_written(client, auth, patient, finding, field, message):
    auth.as_role("doctor")
    good = {"tooth": 46, "surfaces": "O", "condition": "filling"}
    response = post_findings(client, auth, patient, [good, finding])
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert message in errors[field]
    assert findings_of(patient) == 0


def test_a_body_that_is_not_a_list_of_findings_is_refused(client, auth, patient):
    auth.as_role("doctor")
    response = client.post(
        f"/admin/chart/{patient.id}/findings", data="tooth=36", headers={"X-CSRFToken": auth.csrf_token()}
    )
    assert response.status_code == 422
    assert "findings" in response.get_json()["errors"]
    assert findings_of(patient) == 0


@pytest.mark.parametrize("role", ["administrator", "owner", "coordinator"])
def test_roles_that_read_the_chart_cannot_record(client, auth, patient, role):
    auth.as_role(role)
    response = post_findings(client, auth, patient, [{"tooth": 36, "surfaces": "O", "condition": "caries"}])
    assert response.status_code == 403
    assert findings_of(patient) == 0


def test_a_post_without_the_csrf_token_is_refused(client, auth, patient):
    auth.as_role("doctor")
    response = client.post(f"/admin/chart/{patient.id}/findings", json={"findings": []})
    assert response.status_code == 400
    assert findings_of(patient) == 0


@pytest.mark.parametrize("role", ["cashier", "call_center"])
def test_roles_without_clinical_work_are_refused_the_chart(client, auth, patient, role):
    auth.as_role(role)
    assert client.get(f"/admin/chart/{patient.id}").status_code == 403
    assert client.get(f"/admin/chart/{patient.id}/tooth/36").status_code == 403


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login(client, patient):
    response = client.get(f"/admin/chart/{patient.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_doctor_sees_the_editor_and_the_administrator_a_read_only_chart(client, auth, patient):
    auth.as_role("doctor")
    page = client.get(f"/admin/chart/{patient.id}").get_data(as_text=True)
    assert 'id="chart-record"' in page and 'data-editable="true"' in page
    auth.as_role("administrator")
    page = client.get(f"/admin/chart/{patient.id}").get_data(as_text=True)
    assert 'id="chart-record"' not in page and 'data-editable="false"' in page
    assert "only a doctor can change the chart" in page


PERMANENT_ROWS = ["18 17 16 15 14 13 12 11 21 22 23 24 25 26 27 28", "48 47 46 45 44 43 42 41 31 32 33 34 35 36 37 38"]
PRIMARY_ROWS = ["55 54 53 52 51 61 62 63 64 65", "85 84 83 82 81 71 72 73 74 75"]


def drawn_rows(html):
    """Tooth numbers as drawn, grouped by the row (y) they stand in."""
    rows = {}
    for y, number in re.findall(r'<g class="tooth[^"]*" data-tooth="(?:\d+)"[^>]*translate\(\d+,(\d+)\)">.*?>(\d+)</text>\s*</g>', html, re.S):
        rows.setdefault(int(y), []).append(number)
    return [" ".join(rows[y]) for y in sorted(rows)]


@pytest.mark.parametrize(
    "dentition, rows",
    [
        ("permanent", PERMANENT_ROWS),
        ("primary", PRIMARY_ROWS),
        ("mixed", [PERMANENT_ROWS[0], *PRIMARY_ROWS, PERMANENT_ROWS[1]]),
    ],
)
def test_each_dentition_shows_its_fdi_numbers_in_order_and_the_legend(client, auth, patient, dentition, rows):
    auth.as_role("doctor")
    page = client.get(f"/admin/chart/{patient.id}?dentition={dentition}").get_data(as_text=True)
    assert drawn_rows(page) == rows
    legend = page.split('class="odontogram-legend')[1]
    for name in ("Caries", "Filling", "Crown", "Missing tooth", "Implant", "Root canal treated"):
        assert name in legend


def test_a_young_child_gets_the_primary_dentition_unless_a_permanent_tooth_is_recorded(client, auth, doctor):
    child = Patient(last_name="Зубов", first_name="Миша", birth_date=utcnow().date() - timedelta(days=4 * 365), phone="+79160000003")
    db.session.add(child)
    db.session.commit()
    auth.as_role("doctor")
    assert 'data-dentition="primary"' in client.get(f"/admin/chart/{child.id}").get_data(as_text=True)
    record_findings(db.session, child, doctor, [{"tooth": 16, "surfaces": "O", "condition": "caries"}])
    db.session.commit()
    assert 'data-dentition="mixed"' in client.get(f"/admin/chart/{child.id}").get_data(as_text=True)


def test_the_chart_draws_conditions_of_whole_teeth_distinctly(client, auth, patient, doctor):
    record_findings(
        db.session, patient, doctor,
        [
            {"tooth": 16, "surfaces": "", "condition": "crown"},
            {"tooth": 26, "surfaces": "", "condition": "missing"},
            {"tooth": 36, "surfaces": "", "condition": "implant"},
            {"tooth": 46, "surfaces": "", "condition": "root_canal_treated"},
            {"tooth": 21, "surfaces": "", "condition": "pulpitis"},
        ],
    )
    db.session.commit()
    auth.as_role("coordinator")
    page = client.get(f"/admin/chart/{patient.id}").get_data(as_text=True)
    for tooth, drawing, shape in (
        (16, "crown", 'class="crown-ring"'),
        (26, "missing", 'class="missing-cross"'),
        (36, "implant", 'class="implant"'),
        (46, "root_canal", 'class="root-canal"'),
    ):
        group = tooth_group(page, tooth)
        assert group.startswith(f'<g class="tooth tooth-{drawing}"') and shape in group, tooth
    for tooth in (11, 17):
        assert not re.search(r'class="(crown-ring|missing-cross|implant|root-canal)"', tooth_group(page, tooth))
    pulpitis = tooth_group(page, 21)
    assert pulpitis.count('fill="#D81B60" fill-opacity="0.45"') == 5 and ">P</text>" in pulpitis


def test_the_tooth_history_lists_findings_with_author_and_clinic_time(client, auth, patient, doctor):
    earlier = utcnow() - timedelta(days=40)
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "O", "condition": "caries"}], now=earlier)
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "O", "condition": "filling", "note": "composite"}])
    db.session.commit()
    auth.as_role("administrator")
    for url in (f"/admin/chart/{patient.id}/tooth/36", f"/admin/chart/{patient.id}/tooth/36/panel"):
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert html.index("Filling") < html.index("Caries")
        assert doctor.full_name in html and "composite" in html
        assert format_moment(earlier) in html
    assert client.get(f"/admin/chart/{patient.id}/tooth/19").status_code == 404


def test_a_missing_patient_is_a_404(client, auth):
    auth.as_role("doctor")
    assert client.get("/admin/chart/999999").status_code == 404

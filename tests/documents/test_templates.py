"""The owner's document templates: checked before they are saved
(documents.printing.check_template) and previewed as they print."""
from sqlalchemy import select

from stompro.documents.models import DocumentTemplate
from stompro.documents.printing import preview_template
from stompro.extensions import db

from .conftest import template


def _preview(client, auth, **fields):
    return client.post("/admin/document_template/preview/",
                       data={"csrf_token": auth.csrf_token(), "language": "ru", **fields})


def test_the_preview_fills_in_a_document_with_sample_values(app, client, auth):
    auth.as_role("owner")
    answer = _preview(client, auth, body="<p>Я, {{ patient_full_name }}, {{ date }}.</p>{{ tooth_formula }}")
    assert answer.status_code == 200
    html = answer.get_json()["html"]
    assert html.startswith("<p>Я, Анна Смирнова, ") and 'class="chart-print"' in html


def test_a_value_a_document_does_not_have_is_refused_on_preview_and_on_save(app, client, auth):
    auth.as_role("owner")
    refused = _preview(client, auth, body="<p>{{ patient_name }}</p>")
    assert refused.status_code == 422 and refused.get_json()["field"] == "body"
    assert "{{ patient_full_name }}" in refused.get_json()["error"]  # what it may use instead
    contract = template("contract_paid_services")
    before = contract.body
    form = {"code": contract.code, "kind": contract.kind, "specialty": "__None", "language": "ru",
            "title": contract.title, "active": "y", "csrf_token": auth.csrf_token()}
    page = client.post(f"/admin/document_template/edit/?id={contract.id}",
                       data={**form, "body": "<p>{{ patient_name </p>"})
    assert page.status_code == 200 and "cannot be read as a template" in page.get_data(as_text=True)
    db.session.expire_all()
    assert template("contract_paid_services").body == before
    saved = client.post(f"/admin/document_template/edit/?id={contract.id}",
                        data={**form, "body": "<p>Договор с {{ patient_full_name }}</p>"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert template("contract_paid_services").body == "<p>Договор с {{ patient_full_name }}</p>"


def test_only_the_owner_previews_document_templates(app, client, auth):
    auth.as_role("administrator")
    assert _preview(client, auth, body="<p>x</p>").status_code == 403


def test_every_document_template_the_clinic_starts_with_passes_the_check(app):
    templates = db.session.execute(select(DocumentTemplate)).scalars().all()
    assert len(templates) >= 24
    for row in templates:
        assert preview_template(db.session, row.language, row.body), row

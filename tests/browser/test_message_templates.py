"""The owner rewrites a message template in a real headless Chromium, in
Russian and in English: the preview shows the message as the patient reads
it while it is typed, a value the message does not have is refused naming
the field, and a good text is saved. The template is put back at the end."""
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from stompro.extensions import db
from stompro.messaging.models import MessageTemplate

from .conftest import sign_in, switch_language

pytestmark = pytest.mark.browser

TEXTS = {
    "ru": {"save": "Сохранить", "unknown": "В тексте есть {{ patient_frist_name }}", "refused": "Запись не сохранена",
           "sample": "Анна, пора на гигиену в StomPRO Центр", "size": "Знаков:"},
    "en": {"save": "Save", "unknown": "The text uses {{ patient_frist_name }}", "refused": "The record was not saved",
           "sample": "Анна, пора на гигиену в StomPRO Центр", "size": "characters"},
}


@contextmanager
def kept_as_it_was(app, code, channel, language):
    with app.app_context():
        template = db.session.execute(select(MessageTemplate).filter_by(
            code=code, channel=channel, language=language)).scalar_one()
        template_id, body = template.id, template.body
    try:
        yield template_id
    finally:
        with app.app_context():
            db.session.get(MessageTemplate, template_id).body = body
            db.session.commit()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_owner_rewrites_a_template_with_its_preview(app, page, live_server, screenshot, language):
    texts = TEXTS[language]
    with kept_as_it_was(app, "hygiene_recall", "sms", "ru") as template_id:
        sign_in(page, live_server, "owner")
        switch_language(page, language)
        page.goto(f"{live_server}/admin/message_template/edit/?id={template_id}")
        expect(page.locator("#template-preview-body")).to_contain_text("Анна")  # the sample patient, in Russian
        assert page.locator("#subject").is_hidden()  # an SMS has no subject
        expect(page.locator("#template-preview-values")).to_contain_text("{{ clinic_phone }}")

        page.fill("#body", "{{ patient_frist_name }}, пора на гигиену")
        expect(page.locator("#template-preview-error")).to_contain_text(texts["unknown"])
        expect(page.locator("#template-preview-body")).to_have_text("")  # nothing shown as if it could go
        page.get_by_role("button", name=texts["save"], exact=True).click()
        expect(page.locator(".alert-danger", has_text=texts["refused"])).to_have_count(1)
        assert page.input_value("#body") == "{{ patient_frist_name }}, пора на гигиену"  # what was typed is kept
        screenshot("refused")

        page.fill("#body", "{{ patient_first_name }}, пора на гигиену в {{ clinic_name }}. {{ clinic_phone }}")
        expect(page.locator("#template-preview-body")).to_contain_text(texts["sample"])
        expect(page.locator("#template-preview-size")).to_contain_text(texts["size"])
        page.get_by_role("button", name=texts["save"], exact=True).click()
        page.wait_for_url("**/admin/message_template/**")
        with app.app_context():
            saved = db.session.get(MessageTemplate, template_id).body
        assert saved == "{{ patient_first_name }}, пора на гигиену в {{ clinic_name }}. {{ clinic_phone }}"


def test_the_owner_previews_a_document_template_as_it_prints(app, page, live_server):
    from stompro.documents.models import DocumentTemplate

    with app.app_context():
        template_id = db.session.execute(select(DocumentTemplate.id).filter_by(
            code="consent_personal_data", language="ru")).scalar_one()
    sign_in(page, live_server, "owner")
    page.goto(f"{live_server}/admin/document_template/edit/?id={template_id}")
    frame = page.frame_locator("#document-preview-frame")
    expect(frame.locator("h1")).to_have_text("Согласие на обработку персональных данных")
    expect(frame.locator("body")).to_contain_text("Я, Анна Смирнова, дата рождения 02.04.1985")
    page.fill("#body", "<p>{{ patient_name }}</p>")
    expect(page.locator("#document-preview-error")).to_contain_text("{{ patient_full_name }}")

"""The owner's template screen: a template is checked before it is saved
(messaging.templates) and previewed as the patient reads it."""
import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.messaging.models import MessageTemplate
from stompro.messaging.templates import sms_parts


def _template(code, channel="sms", language="ru"):
    return db.session.execute(select(MessageTemplate).where(
        MessageTemplate.code == code, MessageTemplate.channel == channel,
        MessageTemplate.language == language)).scalar_one()


def _preview(client, auth, **fields):
    data = {"code": "booking_confirmation", "channel": "sms", "language": "ru", "subject": "", "body": "",
            "csrf_token": auth.csrf_token(), **fields}
    return client.post("/admin/message_template/preview/", data=data)


def test_the_preview_writes_a_visits_message_with_sample_values_and_counts_the_sms(client, auth):
    auth.as_role("owner")
    answer = _preview(client, auth, body="{{ patient_first_name }}, ждём вас {{ date }} в {{ time }}, врач {{ doctor_name }}")
    assert answer.status_code == 200
    shown = answer.get_json()
    assert shown["body"].startswith("Анна, ждём вас ") and "в 10:30, врач " in shown["body"]
    assert "{{" not in shown["body"] and shown["subject"] is None
    assert (shown["length"], shown["parts"]) == (len(shown["body"]), 1)


def test_an_e_mail_is_previewed_with_its_subject(client, auth):
    auth.as_role("owner")
    shown = _preview(client, auth, channel="email", language="en", code="birthday",
                     subject="Happy birthday, {{ patient_first_name }}!", body="From {{ clinic_name }}").get_json()
    assert shown["subject"] == "Happy birthday, Anna!" and shown["body"].startswith("From ")
    assert shown["parts"] is None


@pytest.mark.parametrize("fields, field, words", [
    ({"body": "{{ patient_frist_name }}, ждём вас"}, "body", "uses {{ patient_frist_name }}, which"),
    ({"code": "hygiene_recall", "body": "Ждём вас в {{ time }}"}, "body",
     "may use: {{ patient_first_name }}, {{ patient_name }}, {{ clinic_name }}, {{ clinic_phone }}, {{ clinic_address }}."),
    ({"body": "Ждём\n{{ patient_first_name "}, "body", "cannot be read as a template (line 2)"),
    ({"body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, "body", "may not use"),
    ({"body": "   "}, "body", "Write the text"),
    ({"channel": "email", "body": "Текст", "subject": ""}, "subject", "needs a subject"),
    ({"code": "no_such_code", "body": "Текст"}, "code", "what the template is for"),
    ({"language": "de", "body": "Text"}, "language", "language"),
])
def test_the_preview_names_what_cannot_be_sent(client, auth, fields, field, words):
    auth.as_role("owner")
    answer = _preview(client, auth, **fields)
    assert answer.status_code == 422
    assert answer.get_json()["field"] == field and words in answer.get_json()["error"]


def test_only_those_who_write_templates_preview_them(client, auth):
    auth.as_role("call_center")
    assert _preview(client, auth, body="Текст").status_code == 403


def test_a_template_that_cannot_be_sent_is_not_saved_and_a_good_one_is(client, auth):
    auth.as_role("owner")
    template = _template("hygiene_recall")
    before = template.body
    form = {"code": template.code, "channel": "sms", "language": "ru", "subject": "", "active": "y",
            "csrf_token": auth.csrf_token()}
    refused = client.post(f"/admin/message_template/edit/?id={template.id}",
                          data={**form, "body": "{{ patient_first_name }}, ждём вас {{ date }}"})
    assert refused.status_code == 200
    assert "uses {{ date }}, which this message does not have" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert _template("hygiene_recall").body == before

    saved = client.post(f"/admin/message_template/edit/?id={template.id}",
                        data={**form, "body": "{{ patient_first_name }}, пора на гигиену. {{ clinic_phone }}"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert _template("hygiene_recall").body == "{{ patient_first_name }}, пора на гигиену. {{ clinic_phone }}"


def test_the_template_form_has_the_preview_and_names_the_templates_in_words(client, auth):
    auth.as_role("owner", language="ru")
    template = _template("hygiene_recall")
    page = client.get(f"/admin/message_template/edit/?id={template.id}").get_data(as_text=True)
    assert 'id="template-preview"' in page and "messaging/template_preview.js" in page
    assert "Предпросмотр" in page and ">Назначение\n" in page
    assert '<option selected value="hygiene_recall">Приглашение</option>' in page


@pytest.mark.parametrize("text, parts", [("a" * 160, 1), ("a" * 161, 2), ("я" * 70, 1), ("я" * 71, 2), ("я" * 135, 3)])
def test_sms_parts(text, parts):
    assert sms_parts(text) == parts


def test_every_template_the_clinic_starts_with_passes_the_check(app):
    from stompro.messaging.templates import preview

    templates = db.session.execute(select(MessageTemplate)).scalars().all()
    assert len(templates) >= 36
    for template in templates:
        shown = preview(db.session, template.code, template.channel, template.language, template.body,
                        template.subject)
        assert shown["body"] and "{{" not in shown["body"], template
        if template.channel == "sms":
            assert shown["parts"] <= 2, (template, shown["length"])

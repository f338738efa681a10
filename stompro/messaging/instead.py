"""A task's call replaced by a message: the task book's "write instead of
calling". The text is the call_instead template in the patient's language
(or what the person typed), written to the outbox to leave now the way the
patient agreed to be written to; the task closes as done by message."""
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError
from sqlalchemy import select

from .. import bounds
from ..db import utcnow
from ..errors import DomainError
from ..org.branches import require_branch
from ..tasks.rules import MESSAGES
from ..tasks.services import record_outcome
from .models import TEMPLATE_OF_KIND, Message
from .outbox import contact_of, patient_context, patient_language, render, template_for

TEMPLATE = "call_instead"
LONGEST_TEXT = 1000


def template_of(task):
    """The template a task's message is written from when nothing is typed:
    the message its rule writes (tasks.rules.MESSAGES), else "call us back"."""
    kind = MESSAGES.get(task.rule.code) if task.rule is not None else None
    return TEMPLATE_OF_KIND[kind] if kind else TEMPLATE


def suggested_text(session, task, code=None):
    """The template ``code`` (the task's own, by default) rendered for its patient, or "" when they cannot be written to."""
    code = code or template_of(task)
    channel, _recipient = contact_of(task.patient) if task.patient else (None, None)
    template = template_for(session, code, channel, patient_language(task.patient)) if channel else None
    if template is None:
        return ""
    try:
        return render(template.body, patient_context(task.patient, task.clinic))
    except TemplateError:
        return ""


def write_instead_of_calling(session, actor, task, text=None, template=None, now=None):
    """Plan the message (kind "manual") — ``text``, else the template ``template``
    (the task's own by default, see ``template_of``) — and close the task; its
    note is kept in the clinic's language, like the task's title."""
    now = now or utcnow()
    template = template or template_of(task)
    require_branch(actor, task.clinic_id)
    if task.status != "open":
        raise DomainError(_l("This task is closed; make a new task instead."), field="text")
    patient = task.patient
    channel, recipient = contact_of(patient) if patient is not None else (None, None)
    if channel is None:
        raise DomainError(_l("The patient has not agreed to SMS or e-mail: call them instead."), field="text")
    text = (text or "").strip() or suggested_text(session, task, template)
    if not text:
        raise DomainError(_l("Write the message, or choose a template that exists."), field="text")
    bounds.require(bounds.text_problem(text, LONGEST_TEXT), "text")
    key = f"task:{task.id}:instead"
    if session.execute(select(Message.id).where(Message.dedupe_key == key)).first() is not None:
        raise DomainError(_l("A message for this task was written already."), field="text")
    template = template_for(session, template, channel, patient_language(patient))
    subject = render(template.subject, patient_context(task.patient, task.clinic)) if channel == "email" and template and template.subject else None
    message = Message(patient=patient, appointment=task.appointment, template=template, kind="manual",
                      language=patient_language(patient), channel=channel, recipient=recipient, body=text,
                      subject=subject, send_at=now, status="scheduled", attempts=0, version=1, dedupe_key=key)
    session.add(message)
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        note = _("Written instead of calling: %(text)s", text=text)
    record_outcome(session, actor, task, status="done", outcome_note=note, now=now)
    session.flush()
    return message

"""The owner's message templates: what each may say, the check before one is
saved, and the preview the template screen shows while it is written.

A template is rendered with sample values of the kind of message it writes
(a visit's have its date, time and doctor; a recall's only the patient and
the branch). Saving is refused when the text cannot be rendered or names a
value the message will not have — at sending time an unknown value would
quietly print nothing."""
import math
import re
from datetime import timedelta

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import select

from ..db import utcnow
from ..errors import DomainError
from ..org.models import LANGUAGES, Clinic
from ..patients.phones import format_phone
from .models import CHANNELS, TEMPLATE_OF_KIND

PATIENT_VALUES = ("patient_first_name", "patient_name", "clinic_name", "clinic_phone", "clinic_address")
VISIT_VALUES = (*PATIENT_VALUES, "date", "time", "doctor_name")
VISIT_TEMPLATES = {TEMPLATE_OF_KIND[kind] for kind in ("booked", "day_before", "hours_before", "after_visit",
                                                       "cancelled")}
# Every template the panel writes from: the outbox's kinds and the task book's "write instead of calling".
CODES = (*TEMPLATE_OF_KIND.values(), "call_instead")
# Characters per SMS: one message, and each part of a longer one (GSM 7-bit, or UCS-2 for Cyrillic).
SMS_SIZES = {"gsm": (160, 153), "ucs2": (70, 67)}
GSM_EXTRA = set("£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤ÄÖÑÜ§¿äöñüà^{}\\[~]|€\n")
UNDEFINED_NAME = re.compile(r"'(\w+)' is undefined")
STRICT = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def values_of(code):
    """The names a template of ``code`` may use."""
    return VISIT_VALUES if code in VISIT_TEMPLATES else PATIENT_VALUES


def sample_values(session, code, language):
    """Values that read like a real message, from the clinic's first branch."""
    clinic = first_branch(session)
    with force_locale(language):
        values = {
            "patient_first_name": _("Anna"), "patient_name": _("Anna Smirnova"),
            "clinic_name": clinic.name if clinic else "StomPRO",
            "clinic_phone": format_phone(clinic.phone) if clinic and clinic.phone else "+7 495 000-00-00",
            "clinic_address": clinic.address if clinic and clinic.address else "",
            "date": format_date((utcnow() + timedelta(days=1)).date(), "d MMMM", locale=language),
            "time": "10:30", "doctor_name": _("Petrova M. I."),
        }
    return {name: values[name] for name in values_of(code)}


def first_branch(session):
    """The branch sample values come from: the clinic's first active one (None before any)."""
    return session.execute(select(Clinic).where(Clinic.active.is_(True)).order_by(Clinic.id)).scalars().first()


def render_strictly(text, values, field, environment=STRICT):
    """``text`` rendered with ``values`` only; DomainError naming ``field`` otherwise."""
    try:
        return environment.from_string(text or "").render(values).strip()
    except UndefinedError as error:
        unknown = UNDEFINED_NAME.search(error.message or "")
        names = ", ".join("{{ %s }}" % name for name in values)
        raise DomainError(_l("The text uses %(value)s, which this message does not have. It may use: %(names)s.",
                             value="{{ %s }}" % unknown[1] if unknown else "?", names=names), field=field) from None
    except SecurityError:
        raise DomainError(_l("The text calls something a template may not use."), field=field) from None
    except TemplateSyntaxError as error:
        raise DomainError(_l("The text cannot be read as a template (line %(line)s): check its brackets.",
                             line=error.lineno), field=field) from None
    except TemplateError:
        raise DomainError(_l("The text cannot be read as a template: check its brackets."),
                          field=field) from None


def preview(session, code, channel, language, body, subject=None):
    """The message as a patient would read it: {"body", "subject", "length", "parts", "values"
    (the names the text may use)}.
    Raises DomainError (field code, body or subject) for what cannot be saved."""
    if code not in CODES:
        raise DomainError(_l("Choose what the template is for."), field="code")
    if channel not in CHANNELS:
        raise DomainError(_l("Choose SMS or e-mail."), field="channel")
    if language not in LANGUAGES:
        raise DomainError(_l("Choose the language of the text."), field="language")
    if not (body or "").strip():
        raise DomainError(_l("Write the text of the message."), field="body")
    if channel == "email" and not (subject or "").strip():
        raise DomainError(_l("An e-mail needs a subject."), field="subject")
    values = sample_values(session, code, language)
    text = render_strictly(body, values, "body")
    heading = render_strictly(subject, values, "subject") if channel == "email" else None
    return {"body": text, "subject": heading, "length": len(text),
            "parts": sms_parts(text) if channel == "sms" else None,
            "values": ", ".join("{{ %s }}" % name for name in values)}


def sms_parts(text):
    """How many SMS ``text`` takes."""
    single, part = SMS_SIZES["gsm" if all(" " <= c <= "~" or c in GSM_EXTRA for c in text) else "ucs2"]
    return 1 if len(text) <= single else math.ceil(len(text) / part)


def check_template(session, actor, template, is_created):
    """The template screen's save: refused while the text cannot be sent (see the module's notes)."""
    preview(session, template.code, template.channel, template.language, template.body, template.subject)
    if template.channel == "sms":
        template.subject = None

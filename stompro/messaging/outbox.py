"""The outbox is the truth: which messages a visit gets, when, in which
words — planned in the same transaction as the booking, so a booking and its
reminders are written together or not at all. Sending is messaging.dispatch.

A booked visit gets four messages from the templates, in the patient's
language (patients have none yet: the clinic's DEFAULT_LANGUAGE): right away
("booked": date, time, doctor, address), a day before, HOURS_BEFORE before
and AFTER_VISIT after its end. Each has a latest useful moment
(``expires_at``): a message that could only go out later is kept as
``expired`` instead — the hours-before one once the visit has started, the
day-before one within DAY_BEFORE_LATEST of it. Quiet hours (QUIET_HOURS in
the branch's time zone) move a message to the next allowed time first.

A visit moved to another time, doctor or branch is re-planned: its unsent
rows are cancelled and new rows (new keys, new texts and times) are planned;
a sent row is never edited. A "booked" message already sent is not repeated;
when it is repeated (it was not sent yet) it tells the new time, and a
reminder whose moment has already passed is then redundant and kept as
expired; otherwise such a reminder goes right away. Cancelling or a no-show
cancels the unsent rows; a cancellation also sends a "cancelled" notice when
the patient was told of the visit (its "booked" message went out).

Recalls, care messages and birthday greetings belong to no visit: the task
rules plan them with their tasks (``plan_patient_messages``), once per
subject, through the same templates, quiet hours and consent.

SMS go only to patients with ``sms_consent``; otherwise e-mail with
``email`` and ``email_consent``; otherwise the reception gets a call task to
tell the patient instead."""
import logging
from functools import lru_cache
from datetime import datetime, timedelta, timezone

from babel.dates import format_date
from flask import current_app
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select, update

from ..audit.recorder import record_event
from ..db import existing, utcnow
from ..patients.phones import format_phone
from ..scheduling.availability import clinic_zone
from ..tasks.services import add_task_once
from .models import TEMPLATE_OF_KIND, Message, MessageTemplate

VISIT_KINDS = ("booked", "day_before", "hours_before", "after_visit")
UNSENT = ("scheduled", "queued")
# A message in these statuses has reached (or may have reached) the patient.
TOLD = ("sending", "sent")
DAY_BEFORE = timedelta(days=1)
DAY_BEFORE_LATEST = timedelta(hours=3)  # a "day before" later than this before the visit is pointless
HOURS_BEFORE = timedelta(hours=3)
AFTER_VISIT = timedelta(hours=2)
AFTER_VISIT_LATEST = timedelta(days=1)
# How long after it could first go out a message not about a visit is still worth sending.
USEFUL_FOR = {"recall": timedelta(days=7), "care": timedelta(hours=12), "birthday": timedelta(hours=12)}
TASK_TAB = "regular_calls"
TASK_QUEUE = "reception"
TASK_PRIORITY = 2

# Owners edit templates: rendered in a sandbox, so a template reads only the
# values it is given and calls nothing unsafe.
TEMPLATES = SandboxedEnvironment(autoescape=False)
log = logging.getLogger("stompro.messages")


def plan_visit_messages(session, visit, now=None):
    """Plan a booked visit's messages, or re-plan them after the visit moved
    (see the module's notes). Returns the rows planned now (some may be
    expired); flushes, the caller commits."""
    now = now or utcnow()
    rows = _visit_rows(session, visit)
    _cancel(session, [row for row in rows if row.kind in VISIT_KINDS and row.status in UNSENT], now)
    if visit.status not in ("booked", "confirmed"):
        return []
    booked_told = any(row.kind == "booked" and row.status in TOLD for row in rows)
    kinds = [kind for kind in VISIT_KINDS if not (kind == "booked" and booked_told)]
    channel, recipient = contact_of(visit.patient)
    if channel is None:
        _tell_task(session, visit, now)
        session.flush()
        return []
    rounds = _rounds(rows)
    told_now = "booked" in kinds
    planned = []
    for kind in kinds:
        ideal, latest = _timing(kind, visit, now)
        send_at, expired = ideal, False
        if ideal < now:
            send_at = now
            expired = told_now and kind != "booked"  # the booking message has just said it
        send_at = outside_quiet_hours(send_at, clinic_zone(visit.clinic))
        expired = expired or send_at >= latest
        message = _message(session, visit, kind, channel, recipient, send_at, latest, rounds[kind] + 1, now)
        if message is not None:
            if expired and message.status == "scheduled":
                message.status = "expired"
            planned.append(message)
    session.flush()
    return planned


def cancel_visit_messages(session, visit, notify, now=None):
    """Cancel a visit's unsent messages (it was cancelled or missed); with
    ``notify``, plan a "cancelled" notice now if the patient was told of the
    visit. Flushes, the caller commits."""
    now = now or utcnow()
    rows = _visit_rows(session, visit)
    _cancel(session, [row for row in rows if row.kind in VISIT_KINDS and row.status in UNSENT], now)
    told = any(row.kind == "booked" and row.status in TOLD for row in rows)
    if not notify or not told or any(row.kind == "cancelled" for row in rows):
        session.flush()
        return None
    channel, recipient = contact_of(visit.patient)
    notice = None
    if channel is not None:
        send_at = outside_quiet_hours(now, clinic_zone(visit.clinic))
        notice = _message(session, visit, "cancelled", channel, recipient, send_at, visit.starts_at, 1, now)
        if notice is not None and notice.status == "scheduled" and send_at >= visit.starts_at:
            notice.status = "expired"
    session.flush()
    return notice


def plan_patient_messages(session, kind, subjects, now=None):
    """Plan the messages to patients that belong to no visit — recalls, care
    messages, birthday greetings (the task rules plan them with their tasks)
    — one per ``(key, patient, clinic)`` of ``subjects`` whose key is not
    taken yet, at ``now`` moved out of the quiet hours. Patients who agreed
    to no channel get none: the rule's call task reaches them. Returns the
    rows planned; the caller flushes and commits. Keys are looked up and
    templates read once per batch, not once per patient (thousands of
    recalls on a network)."""
    now = now or utcnow()
    taken = existing(session, Message.dedupe_key, [key for key, _patient, _clinic in subjects])
    templates, planned = {}, []
    for key, patient, clinic in subjects:
        channel, recipient = contact_of(patient)
        if channel is None or key in taken:
            continue
        language = patient_language(patient)
        if (channel, language) not in templates:
            templates[channel, language] = template_for(session, TEMPLATE_OF_KIND[kind], channel, language)
        template = templates[channel, language]
        if template is None:
            log.warning("No active %s template %r: patient %s gets no %s message", channel, TEMPLATE_OF_KIND[kind],
                        patient.id, kind)
            continue
        send_at = outside_quiet_hours(now, clinic_zone(clinic) if clinic else timezone.utc)
        message = Message(patient=patient, template=template, kind=kind, language=template.language,
                          channel=channel, recipient=recipient, send_at=send_at,
                          expires_at=send_at + USEFUL_FOR[kind], status="scheduled", attempts=0, version=1,
                          dedupe_key=key)
        _render_into(session, message, template, patient_context(patient, clinic), now)
        planned.append(message)
    return planned


def contact_of(patient):
    """(channel, recipient) the patient agreed to be written to, or (None, None)."""
    if patient.sms_consent and patient.phone:
        return "sms", patient.phone
    if patient.email and patient.email_consent:
        return "email", patient.email
    return None, None


def quiet_hours():
    """(start, end) of QUIET_HOURS ("21:00-09:00") as times, or None when empty."""
    raw = (current_app.config.get("QUIET_HOURS") or "").strip()
    if not raw:
        return None
    try:
        start, end = (datetime.strptime(part.strip(), "%H:%M").time() for part in raw.split("-"))
    except ValueError:
        raise ValueError(f"STOMPRO_QUIET_HOURS must read like 21:00-09:00, not {raw!r}") from None
    return start, end


def outside_quiet_hours(moment, zone, window=None):
    """``moment``, or the end of the quiet hours it falls in (in ``zone``)."""
    window = window or quiet_hours()
    if window is None:
        return moment
    start, end = window
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    quiet = (clock >= start or clock < end) if start > end else start <= clock < end
    if not quiet:
        return moment
    day = local.date() + timedelta(days=1) if start > end and clock >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone).astimezone(timezone.utc)


def patient_context(patient, clinic):
    """The values every template may use: the patient and their branch."""
    return {
        "patient_first_name": patient.first_name,
        "patient_name": patient.full_name,
        "clinic_name": clinic.name if clinic else "",
        "clinic_phone": format_phone(clinic.phone) if clinic and clinic.phone else "",
        "clinic_address": clinic.address if clinic else "",
    }


def visit_context(visit, language):
    """The values a visit's template may use, as the patient reads them."""
    start = visit.starts_at.astimezone(clinic_zone(visit.clinic))
    return patient_context(visit.patient, visit.clinic) | {
        "date": format_date(start.date(), "d MMMM", locale=language),
        "time": f"{start:%H:%M}",
        "doctor_name": visit.doctor.short_name,
    }


def render(text, context):
    """A template's text rendered in the sandbox; TemplateError when it is broken or unsafe."""
    return _compiled(text).render(context).strip()


@lru_cache(maxsize=256)
def _compiled(text):
    """A template's text compiled once (a daily run writes thousands of recalls from one template)."""
    return TEMPLATES.from_string(text)


def template_for(session, code, channel, language):
    """The active template in ``language``, else in the clinic's language, else in any."""
    templates = session.execute(
        select(MessageTemplate).where(MessageTemplate.code == code, MessageTemplate.channel == channel,
                                      MessageTemplate.active.is_(True))
    ).scalars().all()
    preference = [language, current_app.config["DEFAULT_LANGUAGE"]]
    templates.sort(key=lambda t: (preference.index(t.language) if t.language in preference else 2, t.language))
    return templates[0] if templates else None


def patient_language(patient):
    # Patients have no language of their own yet: the clinic's.
    return getattr(patient, "language", None) or current_app.config["DEFAULT_LANGUAGE"]


def failure_task(session, message, now):
    """The administrators' task for a message that cannot be delivered: call the patient instead."""
    visit = message.appointment
    add_task_once(session, f"message:{message.id}:failed", _l("A message to the patient was not delivered: call them"),
                  tab=TASK_TAB, priority=TASK_PRIORITY, patient=message.patient, appointment=visit,
                  clinic_id=visit.clinic_id if visit else message.patient.home_clinic_id, queue=TASK_QUEUE, due_at=now)


def _tell_task(session, visit, now):
    add_task_once(session, f"visit:{visit.id}:tell", _l("Tell the patient about the visit: no consent to SMS or e-mail"),
                  tab=TASK_TAB, priority=TASK_PRIORITY, patient=visit.patient, appointment=visit,
                  clinic_id=visit.clinic_id, queue=TASK_QUEUE, due_at=now)


def _timing(kind, visit, now):
    """(ideal send time, latest useful moment) of a visit's message."""
    start, end = visit.starts_at, visit.ends_at
    return {
        "booked": (now, start),
        "day_before": (start - DAY_BEFORE, start - DAY_BEFORE_LATEST),
        "hours_before": (start - HOURS_BEFORE, start),
        "after_visit": (end + AFTER_VISIT, end + AFTER_VISIT_LATEST),
    }[kind]


def _message(session, visit, kind, channel, recipient, send_at, expires_at, round_, now):
    """One row of the outbox, rendered now; a template that cannot be
    rendered makes a failed row and a task, never a failed booking."""
    language = patient_language(visit.patient)
    template = template_for(session, TEMPLATE_OF_KIND[kind], channel, language)
    if template is None:
        log.warning("No active %s template %r: visit %s gets no %s message", channel, TEMPLATE_OF_KIND[kind],
                    visit.id, kind)
        return None
    message = Message(patient=visit.patient, appointment=visit, template=template, kind=kind,
                      language=template.language, channel=channel, recipient=recipient, send_at=send_at,
                      expires_at=expires_at, status="scheduled", attempts=0, version=1,
                      dedupe_key=f"visit:{visit.id}:{kind}:v{round_}")
    _render_into(session, message, template, visit_context(visit, template.language), now)
    return message


def _render_into(session, message, template, context, now):
    """Write the template's text into the new row and add it; a template
    that cannot be rendered makes a failed row and a task instead."""
    try:
        message.body = render(template.body, context)
        message.subject = render(template.subject, context) if message.channel == "email" and template.subject else None
    except TemplateError as error:
        message.body, message.status = "", "failed"
        message.error = f"Template {template} cannot be rendered: {error}"
    session.add(message)
    if message.status == "failed":
        session.flush()
        failure_task(session, message, now)


def _visit_rows(session, visit):
    session.flush()
    return session.execute(
        select(Message).where(Message.appointment_id == visit.id).order_by(Message.id)
    ).scalars().all()


def _rounds(rows):
    """How many times each kind was planned for the visit (the keys' round)."""
    rounds = dict.fromkeys((*VISIT_KINDS, "cancelled"), 0)
    for row in rows:
        rounds[row.kind] = rounds.get(row.kind, 0) + 1
    return rounds


def _cancel(session, rows, now):
    """Cancel the rows still unsent. Conditional: a row a job has meanwhile
    claimed for sending keeps its status (it counts as told)."""
    if not rows:
        return
    before = {row.id: row.status for row in rows}
    session.execute(
        update(Message).where(Message.id.in_(before), Message.status.in_(UNSENT))
        .values(status="cancelled", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    for row in rows:
        session.refresh(row, ["status", "updated_at"])
        if row.status == "cancelled":  # the UPDATE bypassed the ORM's audit hook
            record_event(session, "message", row.id, "update", {"status": [before[row.id], "cancelled"]})

"""Readable labels for the coded values of enumerated columns."""
from flask_babel import lazy_gettext as _l

from ..catalog.models import TIER_LABELS
from ..org.roles import ROLE_LABELS

VALUE_LABELS = {
    **ROLE_LABELS,
    **TIER_LABELS,
    # people
    "M": _l("Male"), "F": _l("Female"),
    "active": _l("Active"), "inactive": _l("Inactive"), "archived": _l("Archived"),
    "walk_in": _l("Walk-in"), "referral": _l("Referral"), "website": _l("Website"),
    "phone": _l("Phone call"), "insurance": _l("Insurance"), "advertising": _l("Advertising"),
    "other": _l("Other"), "en": "English", "ru": "Русский",
    # rooms, chart
    "chair": _l("Chair"), "cabinet": _l("Cabinet"), "xray": _l("X-ray"),
    "tooth": _l("Tooth"), "surface": _l("Surface"), "mouth": _l("Whole mouth"),
    "photo": _l("Photo"), "scan": _l("Scan"), "document": _l("Document"),
    # catalog, planning
    "treatment": _l("Treatment"), "examination": _l("Examination"), "consultation": _l("Consultation"),
    "hygiene": _l("Hygiene"),
    "draft": _l("Draft"), "presented": _l("Presented"), "accepted": _l("Accepted"),
    "in_progress": _l("In progress"), "completed": _l("Completed"), "declined": _l("Declined"),
    "self": _l("Self-paid"),
    # scheduling
    "booked": _l("Booked"), "confirmed": _l("Confirmed"), "arrived": _l("Arrived"),
    "in_chair": _l("In chair"), "done": _l("Done"), "no_show": _l("No-show"), "cancelled": _l("Cancelled"),
    "vacation": _l("Vacation"), "sick_leave": _l("Sick leave"), "training": _l("Training"),
    # tasks
    "archive": _l("Archive"), "documents": _l("Documents"), "regular_calls": _l("Regular calls"),
    "care_calls": _l("Care calls"), "scheduled_calls": _l("Scheduled calls"), "birthdays": _l("Birthdays"),
    "overdue_visits": _l("Overdue visits"), "open": _l("Open"),
    "reception": _l("Reception"), "coordinators": _l("Coordinators"),
    "reached": _l("Reached"), "no_answer": _l("No answer"), "refused": _l("Refused"), "call_back": _l("Call back"),
    # messaging
    "sms": "SMS", "email": _l("E-mail"), "scheduled": _l("Scheduled"), "sent": _l("Sent"), "failed": _l("Failed"),
    "queued": _l("Queued"), "sending": _l("Sending"), "expired": _l("Expired"),
    # documents
    "contract": _l("Contract"), "consent": _l("Informed consent"), "card_cover": _l("Card cover"),
    "plan_printout": _l("Plan printout"), "signed": _l("Signed"), "personal_data": _l("Consent to personal data"),
    "patient": _l("Patient"), "representative": _l("Legal representative"),
    # a branch's documents gate
    "block": _l("Refuse treatment without the documents"), "warn": _l("Warn, and go ahead with a reason"),
    # billing
    "issued": _l("Issued"), "partly_paid": _l("Partly paid"), "paid": _l("Paid"),
    "cash": _l("Cash"), "card": _l("Card"), "online": _l("Online"), "deposit": _l("Deposit"),
    "credit": _l("Credit note"),
    # access log
    "patient_card": _l("Patient card"), "chart": _l("Dental chart"), "exams": _l("Medical card"),
    "images": _l("X-rays and photos"), "plan": _l("Treatment plan"), "records": _l("Medical record"),
    "panel": _l("Panel"), "api": "API",
    # audit
    "insert": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted"),
    "soft_delete": _l("Moved to the recycle bin"), "restore": _l("Restored"),
}


def labelled(values):
    return [(value, VALUE_LABELS.get(value, value)) for value in values]


def enumerated_columns(model):
    """{column: allowed values} from the model's one_of CHECK constraints."""
    found = {}
    for constraint in model.__table__.constraints:
        rule = constraint.info.get("one_of")
        if rule:
            found[rule[0]] = rule[1]
    return found

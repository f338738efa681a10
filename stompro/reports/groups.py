"""What a report's rows can be grouped by, and how a group's key reads: a
person's name, a branch, a service in the reader's language, a month."""
from datetime import date

from babel.dates import format_date, get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..admin.choices import VALUE_LABELS
from ..catalog.models import Service
from ..i18n import localized
from ..org.models import Clinic, Room, Specialty, Staff

GROUP_LABELS = {
    "day": _l("Day"),
    "month": _l("Month"),
    "weekday": _l("Day of the week"),
    "hour": _l("Hour"),
    "branch": _l("Branch"),
    "chair": _l("Chair"),
    "doctor": _l("Doctor"),
    "coordinator": _l("Coordinator"),
    "person": _l("Person"),
    "cashier": _l("Cashier"),
    "service": _l("Service"),
    "specialty": _l("Specialty"),
    "first_service": _l("First service"),
    "variant": _l("Chosen variant"),
    "stage": _l("Stage where the plan stopped"),
    "source": _l("Where the patient came from"),
    "method": _l("Payment method"),
    "tab": _l("Task book tab"),
}
NOT_SET = _l("Not set")
NONE_LABELS = {  # what a group without a key is
    "doctor": _l("No doctor (advances, invoices without a visit)"),
    "person": _l("Nobody yet (the queue)"),
    "chair": _l("No chair"),
    "variant": _l("No variant chosen yet"),
    "first_service": _l("No invoice yet"),
    "stage": _l("No work left in the chosen variant"),
    "source": _l("Not recorded"),
}
TIME_GROUPS = ("day", "month", "weekday", "hour")
STAFF_GROUPS = ("doctor", "coordinator", "person", "cashier")
CODED_GROUPS = ("variant", "source", "method")


def labels(session, group_by, keys):
    """{key: the text a reader sees} for ``keys`` of ``group_by``."""
    keys = [key for key in keys if key is not None]
    found = {}
    if group_by in STAFF_GROUPS:
        found = {person.id: person.full_name for person in _rows(session, Staff, keys)}
    elif group_by == "branch":
        found = {clinic.id: clinic.name for clinic in _rows(session, Clinic, keys)}
    elif group_by == "chair":
        rooms = _rows(session, Room, keys)
        names = {clinic.id: clinic.name for clinic in _rows(session, Clinic, {room.clinic_id for room in rooms})}
        found = {room.id: f"{room.name} · {names.get(room.clinic_id, '')}" for room in rooms}
    elif group_by in ("service", "first_service"):
        found = {service.id: f"{service.code} {localized(service)}" for service in _rows(session, Service, keys)}
    elif group_by in ("specialty", "stage"):
        found = {specialty.id: localized(specialty) for specialty in _rows(session, Specialty, keys)}
    elif group_by == "day":
        found = {key: format_date(date.fromisoformat(key), "dd.MM.yyyy", locale=get_locale()) for key in keys}
    elif group_by == "month":
        found = {key: format_date(date.fromisoformat(f"{key}-01"), "LLLL yyyy", locale=get_locale()).capitalize()
                 for key in keys}
    elif group_by == "weekday":
        names = get_day_names("wide", locale=get_locale())
        found = {key: names[int(key) - 1].capitalize() for key in keys}
    elif group_by == "hour":
        found = {key: f"{int(key):02d}:00" for key in keys}
    elif group_by == "tab":  # as the task book names its tabs
        from ..tasks.book_views import TAB_LABELS

        found = {key: str(TAB_LABELS.get(key, VALUE_LABELS.get(key, key))) for key in keys}
    elif group_by in CODED_GROUPS:
        found = {key: str(VALUE_LABELS.get(key, key)) for key in keys}
    return found


def label_of(found, key, group_by):
    if key is None:
        return str(NONE_LABELS.get(group_by, NOT_SET))
    return found.get(key, str(key))


def _rows(session, model, ids):
    ids = list(ids)
    if not ids:
        return []
    return session.execute(select(model).where(model.id.in_(ids))).scalars().all()

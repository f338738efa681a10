"""The patients' rules: finding a patient and registering a new one."""
import re
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from .. import bounds
from ..errors import DomainError
from ..records import soft_delete
from .models import SEXES, Patient
from .phones import normalize_phone, phone_search_digits

SEARCH_LIMIT = 50

_PHONE_LIKE = re.compile(r"^[\d\s()+\-.]+$")
_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# Field → longest value the column holds.
NEW_PATIENT_TEXT_FIELDS = {"last_name": 80, "first_name": 80, "middle_name": 80, "email": 120}
NEW_PATIENT_FIELDS = ("last_name", "first_name", "middle_name", "birth_date", "phone", "email", "sex", "sms_consent",
                      "email_consent")
# Consents to be written to (reminders): true or false, false when not given.
CONSENT_FIELDS = ("sms_consent", "email_consent")
REQUIRED_FIELDS = ("last_name", "first_name", "birth_date", "phone")
OLDEST_AGE_YEARS = 130


def search_term_for_database(term):
    """Phones typed in any format and dates typed as dd.mm.yyyy become the
    form they are stored in (digits of the E.164 number, an ISO date), so a
    text search over the stored columns finds them."""
    term = (term or "").strip()
    born = _typed_date(term)
    if born is not None:
        return born.isoformat()
    if _PHONE_LIKE.match(term):
        return phone_search_digits(term) or term
    return term


def search_patients(session, q, limit=SEARCH_LIMIT):
    """Patients (not deleted) found by what a receptionist types: a phone in
    any format, a birth date (dd.mm.yyyy or ISO), or words of the name
    ("Иванов", "Иванов Пётр": every word must appear in the surname, first or
    middle name). Ordered by name; at most ``limit``."""
    query = select(Patient).where(Patient.deleted_at.is_(None))
    condition = search_condition(q)
    if condition is not None:
        query = query.where(condition)
    return session.execute(
        query.order_by(Patient.last_name, Patient.first_name, Patient.id).limit(limit)
    ).scalars().all()


def search_condition(q):
    """The patients a receptionist means by what they typed (see search_patients), or None for nothing typed."""
    typed = (q or "").strip()
    if not typed:
        return None
    born = _typed_date(typed)
    if born is not None:
        return Patient.birth_date == born
    digits = phone_search_digits(typed) if _PHONE_LIKE.match(typed) else None
    if digits:
        return Patient.phone.like(f"%{digits}%")
    return and_(*(_name_contains(word) for word in typed.split()))


def _typed_date(term):
    """The date in "03.04.1985" or "1985-04-03", else None."""
    match = _RU_DATE.match(term)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = _ISO_DATE.match(term)
        if not match:
            return None
        year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _name_contains(word):
    """The word in the surname, first or middle name, ё and е alike (people type е for ё)."""
    plain = _without_yo(word)
    pattern = "%" + plain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(_without_yo(column).ilike(pattern, escape="\\")
                 for column in (Patient.last_name, Patient.first_name, Patient.middle_name)))


def _without_yo(text):
    """ё → е, Ё → Е, in a typed word or in a column (SQL)."""
    if isinstance(text, str):
        return text.replace("ё", "е").replace("Ё", "Е")
    return func.replace(func.replace(text, "ё", "е"), "Ё", "Е")


class PatientRejected(DomainError):
    """The new patient's data has faults; ``errors`` maps each field to its message."""

    def __init__(self, errors):
        super().__init__(_l("The patient's data is not valid; nothing was saved."))
        self.errors = errors


def create_patient(session, data, confirm_duplicate=False):
    """Register a patient from ``data`` (last_name, first_name, middle_name,
    birth_date as an ISO date or a date, phone in any common format, email,
    sex "M"/"F"). Every field is checked before anything is written; faults
    raise PatientRejected naming each field. A patient with the same phone,
    or the same surname, first name and birth date, may be the same person
    registered twice: PossibleDuplicate names them, and the patient is only
    registered with ``confirm_duplicate`` (namesakes and shared family
    phones are common)."""
    errors = {}
    values = {}
    for field in data:
        if field not in NEW_PATIENT_FIELDS:
            errors[field] = str(_l("Unknown field."))
    for field in NEW_PATIENT_FIELDS:
        try:
            values[field] = _clean(field, data.get(field))
        except DomainError as error:
            errors[field] = str(error.message)
    if errors:
        raise PatientRejected(errors)
    patient = Patient(status="active", **values)
    if not confirm_duplicate:
        _refuse_duplicates(session, patient)
    session.add(patient)
    session.flush()
    return patient


class PossibleDuplicate(DomainError):
    """Patients that may be the one being registered; ``patients`` lists them."""

    def __init__(self, patients):
        super().__init__(
            _l("This may be a patient who is already registered. Open their card, or confirm that this is "
               "another person."),
            field="confirm_duplicate",
        )
        self.patients = patients


def possible_duplicates(session, patient):
    """Live patients other than ``patient`` with its phone, or its surname,
    first name (in any letter case) and birth date."""
    same_person = and_(
        func.lower(Patient.last_name) == (patient.last_name or "").strip().lower(),
        func.lower(Patient.first_name) == (patient.first_name or "").strip().lower(),
        Patient.birth_date == patient.birth_date,
    )
    query = select(Patient).where(Patient.deleted_at.is_(None), or_(Patient.phone == patient.phone, same_person))
    if patient.id is not None:
        query = query.where(Patient.id != patient.id)
    with session.no_autoflush:
        return session.execute(query.order_by(Patient.last_name, Patient.id).limit(5)).scalars().all()


def _refuse_duplicates(session, patient):
    found = possible_duplicates(session, patient)
    if found:
        raise PossibleDuplicate(found)


def check_patient(session, actor, patient, is_created, confirm_duplicate=False):
    """What the patient form's save checks beyond each field: a new patient
    who may be registered already is saved only on confirmation."""
    with session.no_autoflush:  # a payer refused is never written, not even by a query's flush
        if patient.deleted_at is not None:
            raise DomainError(_l("This patient's card was deleted."))
        _check_payer(session, patient)
    if patient.email:
        patient.email = _email(patient.email)
    if is_created and not confirm_duplicate:
        _refuse_duplicates(session, patient)
    session.flush()
    return patient


def _check_payer(session, patient):
    """A family has one payer, who pays for others and for nobody else's payer."""
    payer = patient.payer
    if payer is None:
        return
    if payer is patient or (patient.id is not None and payer.id == patient.id):
        raise DomainError(_l("A patient is not their own family's payer: leave it empty."), field="payer")
    if payer.deleted_at is not None:
        raise DomainError(_l("This patient's card was deleted."), field="payer")
    if payer.payer_id is not None:
        raise DomainError(_l("%(name)s is paid for by %(payer)s: choose the family's payer.",
                             name=payer.full_name, payer=payer.payer.full_name), field="payer")
    if patient.id is not None and session.scalar(select(Patient.id).where(
            Patient.payer_id == patient.id, Patient.deleted_at.is_(None)).limit(1)) is not None:
        raise DomainError(_l("This patient pays for their family, so nobody else pays for them."), field="payer")


def require_live_patient(patient, field="patient"):
    """Refuse a write about no patient, or about one whose card was deleted."""
    if patient is None:
        raise DomainError(_l("Choose the patient."), field=field)
    if patient.deleted_at is not None:
        raise DomainError(_l("This patient's card was deleted."), field=field)


def discard_patient(session, actor, patient):
    """Move a patient's card to the recycle bin; everything in it is kept."""
    soft_delete(session, patient)


def check_policy(session, actor, policy, is_created):
    """An insurance policy is the patient's own, of the program's insurer."""
    if policy.patient is None or policy.patient.deleted_at is not None:
        raise DomainError(_l("Choose the patient."), field="patient")
    if policy.program is None:
        raise DomainError(_l("Choose the insurance program."), field="program")
    if policy.company is not None and policy.company is not policy.program.company:
        raise DomainError(_l("This program is of another insurance company."), field="program")
    policy.company = policy.program.company
    if policy.valid_to is not None and policy.valid_from is not None and policy.valid_to < policy.valid_from:
        raise DomainError(_l("The end of validity cannot be before its start."), field="valid_to")
    session.flush()
    return policy


def discard_policy(session, actor, policy):
    soft_delete(session, policy)


def _clean(field, value):
    if field in CONSENT_FIELDS:
        if not isinstance(value, (bool, type(None))):
            raise DomainError(_l("Give true or false."), field=field)
        return bool(value)
    if isinstance(value, str):
        value = value.strip() or None
    if value is None:
        if field in REQUIRED_FIELDS:
            raise DomainError(_l("This field is required."), field=field)
        return None
    if field == "birth_date":
        return _birth_date(value)
    if not isinstance(value, str):
        raise DomainError(_l("This field is text."), field=field)
    if field == "phone":
        return normalize_phone(value)
    if field == "sex":
        if value.upper() not in SEXES:
            raise DomainError(_l("Sex is M or F."), field=field)
        return value.upper()
    bounds.require(bounds.text_problem(value, NEW_PATIENT_TEXT_FIELDS[field], multiline=False), field)
    if field == "email":
        return _email(value)
    return value


def _birth_date(value):
    if isinstance(value, date):
        born = value
    else:
        is_iso = isinstance(value, str) and _ISO_DATE.match(value)
        born = _typed_date(value) if is_iso else None
    if born is None:
        raise DomainError(_l("A date is written as YYYY-MM-DD."), field="birth_date")
    today = date.today()
    if born > today:
        raise DomainError(_l("The birth date cannot be in the future."), field="birth_date")
    if born.year < today.year - OLDEST_AGE_YEARS:
        raise DomainError(_l("This birth date is too long ago."), field="birth_date")
    return born


def _email(value):
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise DomainError(_l("“%(email)s” is not an e-mail address.", email=value), field="email") from None

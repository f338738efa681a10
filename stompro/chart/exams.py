"""The electronic medical card: exams, signing and addenda.

An exam is written by one doctor and stays a draft until that doctor signs
it. A signed exam is a medical record: nothing in it changes again, and a
later correction is an *addendum* — a new exam row pointing at the original
(``amends_id``) with only what it adds or corrects, signed in its turn.

Besides the services, the module installs a ``before_flush`` guard so that
no code path (a generic admin form, a script, a future API) can change or
delete a signed exam behind the services' back."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..errors import DomainError
from ..org.roles import DOCTOR
from ..records import lock_rows
from .models import Exam
from .services import open_exam

# What a doctor writes in an exam (or an addendum); everything else — patient,
# doctor, signing, the amended entry — is set by the services alone.
EXAM_FIELDS = (
    "clinic", "examined_at", "complaints", "anamnesis", "objective_status",
    "diagnosis", "diagnosis_note", "recommendations",
)
TEXT_FIELDS = ("complaints", "anamnesis", "objective_status", "diagnosis_note", "recommendations")

LOCKED = _l("This exam is signed and locked; add an addendum instead.")
# What may still change on a signed exam: bookkeeping only.
UNLOCKED_ATTRIBUTES = frozenset({"updated_at"})


class ExamLocked(DomainError):
    """Someone tried to change or delete a signed exam."""

    def __init__(self):
        super().__init__(LOCKED)


@dataclass
class CardEntry:
    """One exam of the medical card with the addenda that amend it (oldest first)."""

    exam: Exam
    addenda: list = field(default_factory=list)


# -- who may do what ------------------------------------------------------------


def writer_refusal(staff):
    """Why ``staff`` may not write in the medical card at all, or None.

    Only doctors write: a clinic owner who is not a doctor reads the card
    but does not author or sign medical records."""
    if DOCTOR not in staff.roles:
        return _l("Only a doctor can write in the medical card.")
    return None


def edit_refusal(exam, author):
    """Why ``author`` may not change (or sign) ``exam`` now, or None."""
    if exam.signed_at is not None:
        return LOCKED
    if exam.deleted_at is not None:
        return _l("This exam was deleted.")
    if exam.doctor_id != author.id:
        return _l("Only the doctor who wrote this entry can change or sign it.")
    return writer_refusal(author)


def addendum_refusal(exam, doctor):
    """Why ``doctor`` may not add an addendum to ``exam``, or None."""
    original = exam.amends or exam
    if original.signed_at is None:
        return _l("An unsigned exam is still being written; edit it instead of adding an addendum.")
    if original.deleted_at is not None:
        return _l("This exam was deleted.")
    return writer_refusal(doctor)


def _refuse(reason):
    if reason is not None:
        raise DomainError(reason)


# -- services --------------------------------------------------------------------


def start_exam(session, patient, doctor, clinic=None, now=None):
    """Open an exam of ``patient`` by ``doctor`` at ``now`` and return it.

    Refused while the doctor still has an unsigned exam of this patient:
    chart findings attach to the open exam, so two drafts would split them.
    The clinic defaults to the patient's home clinic."""
    _refuse(writer_refusal(doctor))
    if open_exam(session, patient.id, doctor.id) is not None:
        raise DomainError(_l("You already have an unsigned exam of this patient; continue it or sign it first."))
    exam = Exam(
        patient=patient,
        doctor=doctor,
        clinic=clinic or patient.home_clinic,
        examined_at=_to_the_second(now or utcnow()),
    )
    session.add(exam)
    session.flush()
    return exam


def update_exam(session, exam, author, **fields):
    """Change what the doctor wrote in an unsigned exam.

    ``fields`` are among EXAM_FIELDS; text is trimmed and blank text stored
    as empty (None). Refused on a signed exam and for anyone but its doctor."""
    unknown = set(fields) - set(EXAM_FIELDS)
    if unknown:
        raise TypeError(f"not an exam field: {', '.join(sorted(unknown))}")
    _refuse(edit_refusal(exam, author))
    if "examined_at" in fields:
        _check_examined_at(fields["examined_at"])
    for name, value in fields.items():
        setattr(exam, name, _clean_text(value) if name in TEXT_FIELDS else value)
    session.flush()
    return exam


def write_exam(session, doctor, patient=None, clinic=None, **fields):
    """A new exam with what the doctor wrote in it at once (the generic form)."""
    if patient is None:
        raise DomainError(_l("Choose the patient."), field="patient")
    return update_exam(session, start_exam(session, patient, doctor, clinic=clinic), doctor, **fields)


def rewrite_exam(session, author, exam, **fields):
    """update_exam with the arguments in the order the generic forms give them."""
    return update_exam(session, exam, author, **fields)


def sign_exam(session, exam, doctor, now=None):
    """Sign ``exam``: from now on it is locked.

    An exam is a record a clinic must be able to rely on, so it is signed
    only with the objective status and a diagnosis written; an addendum only
    needs to say something."""
    _refuse(edit_refusal(exam, doctor))
    _refuse(_completeness_refusal(exam))
    moment = _to_the_second(now or utcnow())
    if moment < exam.examined_at:
        raise DomainError(_l("An exam cannot be signed before the time it took place."), field="examined_at")
    exam.signed_at = moment
    session.flush()
    return exam


def add_addendum(session, exam, doctor, now=None, **fields):
    """Start an addendum to a signed exam and return it (unsigned).

    An addendum to an addendum amends the same original, so the card shows
    every correction in one list under the entry it corrects."""
    _refuse(addendum_refusal(exam, doctor))
    original = exam.amends or exam
    addendum = Exam(
        patient_id=original.patient_id,
        doctor=doctor,
        clinic=original.clinic,
        amends=original,
        examined_at=_to_the_second(now or utcnow()),
    )
    session.add(addendum)
    session.flush()
    if fields:
        update_exam(session, addendum, doctor, **fields)
    return addendum


def exams_for_patient(session, patient_id):
    """The patient's medical card: exams newest first, each with its addenda.

    One query, doctors, clinics and diagnoses loaded with it."""
    exams = session.execute(
        select(Exam)
        .where(Exam.patient_id == patient_id, Exam.deleted_at.is_(None))
        .order_by(Exam.examined_at.desc(), Exam.id.desc())
        .options(joinedload(Exam.doctor), joinedload(Exam.clinic), joinedload(Exam.diagnosis))
    ).unique().scalars().all()
    entries = {exam.id: CardEntry(exam) for exam in exams if exam.amends_id is None}
    for exam in reversed(exams):
        if exam.amends_id in entries:
            entries[exam.amends_id].addenda.append(exam)
    return list(entries.values())


def _completeness_refusal(exam):
    if exam.amends_id is not None:
        if any(getattr(exam, name) for name in TEXT_FIELDS) or exam.diagnosis is not None:
            return None
        return _l("Write what the addendum adds or corrects before signing it.")
    if not exam.objective_status and exam.diagnosis is None:
        return _l("Write the objective status and choose a diagnosis before signing.")
    if not exam.objective_status:
        return _l("Write the objective status before signing.")
    if exam.diagnosis is None:
        return _l("Choose a diagnosis before signing.")
    return None


def _check_examined_at(moment):
    if moment is None:
        raise DomainError(_l("Give the time of the exam."), field="examined_at")
    if moment > utcnow():
        raise DomainError(_l("An exam cannot take place in the future."), field="examined_at")


def _clean_text(value):
    value = (value or "").strip()
    return value or None


def _to_the_second(moment):
    """Forms show times to the second; a stored fraction would read as a change."""
    return moment.replace(microsecond=0)


# -- the database-level lock -------------------------------------------------------


# Whatever the code path — a generic admin form, a script, a future API — a
# signed exam is neither changed nor deleted.
lock_rows(Exam, Exam.signed_at.is_not(None), ExamLocked, unlocked=UNLOCKED_ATTRIBUTES)

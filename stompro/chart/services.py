"""The chart's rules: recording findings, the current state, a tooth's history.

A finding with no surfaces describes the whole tooth and replaces everything
recorded on it before; a finding on surfaces replaces what was recorded on
those surfaces. The current chart is what remains: per tooth, the latest
whole-tooth finding and any later surface findings, one entry per surface."""
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, true
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..errors import DomainError, NotAllowed
from ..i18n import localized
from ..org.roles import DOCTOR
from ..planning.models import PlanItem, PlanStage
from ..records import lock_rows
from .models import Condition, Exam, ToothFinding
from .teeth import normalize_surfaces, validate_tooth


@dataclass(frozen=True)
class ChartEntry:
    """One line of the current chart: a tooth, or one surface of it."""

    tooth: int
    surfaces: str
    condition: Condition
    note: str | None
    recorded_at: datetime
    finding_id: int


class RecordedFinding(NamedTuple):
    """The columns of a finding the current chart needs, without the ORM row."""

    id: int
    tooth: int
    surfaces: str
    condition: Condition
    note: str | None
    recorded_at: datetime


def current_chart(session, patient_id):
    """The current state of every tooth of the patient, ordered by tooth.

    Reads plain columns (not ORM rows): a long history stays cheap."""
    conditions = {c.id: c for c in session.execute(select(Condition)).scalars()}
    rows = session.execute(
        select(
            ToothFinding.id, ToothFinding.tooth, ToothFinding.surfaces, ToothFinding.condition_id,
            ToothFinding.note, ToothFinding.recorded_at,
        )
        .where(ToothFinding.patient_id == patient_id, ToothFinding.deleted_at.is_(None))
        .order_by(ToothFinding.tooth, ToothFinding.recorded_at, ToothFinding.id)
    ).all()
    return chart_from_findings(
        RecordedFinding(row.id, row.tooth, row.surfaces, conditions[row.condition_id], row.note, row.recorded_at)
        for row in rows
    )


def chart_from_findings(findings):
    """Fold findings (ordered by time) into the current entries."""
    by_tooth = {}
    for finding in sorted(findings, key=lambda f: (f.tooth, f.recorded_at, f.id)):
        state = by_tooth.setdefault(finding.tooth, {})
        entry = ChartEntry(
            finding.tooth, "", finding.condition, finding.note, finding.recorded_at, finding.id
        )
        if not finding.surfaces:
            state.clear()
            state[""] = entry
            continue
        if _whole_tooth_is_surface_level(state):
            del state[""]
        for surface in finding.surfaces:
            state[surface] = ChartEntry(
                finding.tooth, surface, finding.condition, finding.note, finding.recorded_at, finding.id
            )
    return [entry for tooth in sorted(by_tooth) for entry in by_tooth[tooth].values()]


def _whole_tooth_is_surface_level(state):
    """A whole-tooth "healthy" gives way to surface findings; a crown or a
    missing tooth stays and the surface findings are added beside it."""
    whole = state.get("")
    return whole is not None and whole.condition.code == "healthy"


def conditions_by_code(session):
    return {c.code: c for c in session.execute(select(Condition)).scalars()}


def record_findings(session, patient, author, findings, exam=None, now=None):
    """Validate every finding first, then write them all (or nothing).

    ``findings``: dicts with ``tooth``, ``surfaces``, ``condition`` (a code)
    and optional ``note``. Each becomes a new ``tooth_finding`` row; history
    is never overwritten. Only doctors record findings; the author and the
    time are the signed-in doctor and now. Returns the new rows."""
    if DOCTOR not in author.roles:
        raise NotAllowed(_l("Only a doctor records chart findings."))
    if not findings:
        raise DomainError(_l("Nothing to record."), field="findings")
    conditions = conditions_by_code(session)
    cleaned = []
    errors = {}
    for index, raw in enumerate(findings):
        try:
            cleaned.append(_clean_finding(raw, conditions))
        except DomainError as error:
            errors[f"findings[{index}].{error.field or 'finding'}"] = str(error.message)
    if errors:
        raise FindingsRejected(errors)
    if exam is None:
        exam = open_exam(session, patient.id, author.id)
    moment = now or utcnow()
    rows = [
        ToothFinding(
            patient=patient, author=author, exam=exam, recorded_at=moment,
            tooth=tooth, surfaces=surfaces, condition=condition, note=note,
        )
        for tooth, surfaces, condition, note in cleaned
    ]
    session.add_all(rows)
    session.flush()
    return rows


def record_finding(session, author, patient=None, tooth=None, surfaces="", condition=None, note=None):
    """One finding, as a form gives it (the condition as a row); a fault is
    a DomainError naming the field."""
    if patient is None:
        raise DomainError(_l("Choose the patient."), field="patient")
    finding = {"tooth": tooth, "surfaces": surfaces or "", "condition": getattr(condition, "code", None), "note": note}
    try:
        return record_findings(session, patient, author, [finding])[0]
    except FindingsRejected as rejected:
        field, message = next(iter(rejected.errors.items()))
        raise DomainError(message, field=field.rsplit(".", 1)[-1]) from None


class FindingsRejected(DomainError):
    """Several fields at fault; ``errors`` maps each field to its message."""

    def __init__(self, errors):
        super().__init__(_l("Some findings are not valid; nothing was recorded."))
        self.errors = errors


def _clean_finding(raw, conditions):
    if not isinstance(raw, dict):
        raise DomainError(_l("A finding is an object with tooth, surfaces and condition."))
    tooth = validate_tooth(raw.get("tooth"))
    surfaces = normalize_surfaces(raw.get("surfaces"))
    code = raw.get("condition")
    condition = conditions.get(code) if isinstance(code, str) else None
    if condition is None:
        raise DomainError(_l("Unknown condition “%(code)s”.", code=code), field="condition")
    if surfaces and condition.scope == "tooth":
        raise DomainError(
            _l("“%(condition)s” is recorded on the whole tooth: give no surfaces.", condition=localized(condition)),
            field="surfaces",
        )
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        raise DomainError(_l("A note is text."), field="note")
    return tooth, surfaces, condition, (note or None)


def open_exam(session, patient_id, doctor_id):
    """The doctor's latest unsigned exam of the patient (not an addendum), if any:
    what the doctor records now belongs to it."""
    return session.execute(
        select(Exam)
        .where(
            Exam.patient_id == patient_id,
            Exam.doctor_id == doctor_id,
            Exam.amends_id.is_(None),
            Exam.signed_at.is_(None),
            Exam.deleted_at.is_(None),
        )
        .order_by(Exam.examined_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def tooth_history(session, patient_id, tooth):
    """Every finding of one tooth, newest first, with author and exam."""
    tooth = validate_tooth(tooth)
    return session.execute(
        select(ToothFinding)
        .where(
            ToothFinding.patient_id == patient_id,
            ToothFinding.tooth == tooth,
            ToothFinding.deleted_at.is_(None),
        )
        .order_by(ToothFinding.recorded_at.desc(), ToothFinding.id.desc())
    ).scalars().all()


# --- was → became ---------------------------------------------------------------

PLANNED = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Change:
    """Finding-shaped input for chart_from_findings: a current entry carried
    over, or the target condition of a plan item."""

    tooth: int
    surfaces: str
    condition: Condition
    note: str | None
    recorded_at: datetime
    id: int


def target_chart(entries, items):
    """The chart a plan variant leads to ("became").

    The current ``entries`` with each item's target condition recorded on its
    tooth and surfaces, in the order given (stage, then item), by the same
    rule as findings: a whole-tooth target replaces the tooth, a surface
    target replaces that surface. Removed or deleted items, whole-mouth items
    and items without a target change nothing. Entries that come from the
    plan have no ``recorded_at`` and no ``finding_id``."""
    carried = [_Change(e.tooth, e.surfaces, e.condition, e.note, e.recorded_at, e.finding_id) for e in entries]
    planned = [
        _Change(item.tooth, item.surfaces or "", item.target_condition, None, PLANNED, order)
        for order, item in enumerate(items)
        if item.tooth is not None
        and item.target_condition is not None
        and not item.removed
        and item.deleted_at is None
    ]
    return [
        replace(entry, recorded_at=None, finding_id=None) if entry.recorded_at == PLANNED else entry
        for entry in chart_from_findings(carried + planned)
    ]


def variant_charts(session, variant):
    """The "was" (the patient's current chart) and the "became" of a plan
    variant, for the plan screens and the printout."""
    items = session.execute(
        select(PlanItem)
        .join(PlanStage, PlanItem.stage_id == PlanStage.id)
        .where(PlanStage.variant_id == variant.id, PlanStage.deleted_at.is_(None))
        .order_by(PlanStage.position, PlanItem.id)
        .options(joinedload(PlanItem.target_condition))
    ).scalars().all()
    was = current_chart(session, variant.plan.patient_id)
    return was, target_chart(was, items)


# -- the database-level rule ---------------------------------------------------------


class FindingImmutable(DomainError):
    """The chart's history is the findings in their order; a correction is a
    new finding, so a recorded one is never changed or deleted."""

    def __init__(self):
        super().__init__(_l("A chart finding is never changed or deleted; record a new finding to correct it."))


lock_rows(ToothFinding, true(), FindingImmutable)

"""The doctor's day: their visits of one day in order, each with the plan
stage it carries out and what is planned on which teeth."""
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..i18n import localized
from ..planning.models import PlanItem, PlanStage
from ..planning.services import active_items, stage_explanation
from .availability import local_day
from .board import StageMark, local_clock, stage_marks
from .models import Appointment


@dataclass(frozen=True)
class PlannedWork:
    tooth: int | None  # None: the whole mouth
    surfaces: str
    service: str  # in the reader's language


@dataclass(frozen=True)
class DayVisit:
    visit: Appointment
    clock: str  # "09:30–10:15" at the visit's branch
    stage: StageMark | None
    explanation: str
    work: list


def doctor_day(session, doctor, day):
    """The doctor's live visits on ``day`` of each visit's branch calendar,
    with patients, branches, chairs, stages, items and services loaded
    together (never one query per visit)."""
    # Any branch's calendar day lies within the UTC days either side of it.
    around = (datetime.combine(day - timedelta(days=1), time(0), timezone.utc),
              datetime.combine(day + timedelta(days=2), time(0), timezone.utc))
    visits = session.execute(
        select(Appointment)
        .where(
            Appointment.doctor_id == doctor.id, Appointment.deleted_at.is_(None),
            Appointment.starts_at >= around[0], Appointment.starts_at < around[1],
        )
        .options(
            joinedload(Appointment.patient), joinedload(Appointment.clinic), joinedload(Appointment.room),
            joinedload(Appointment.plan_stage).selectinload(PlanStage.items).joinedload(PlanItem.service),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).unique().scalars().all()
    visits = [v for v in visits if local_day(v.clinic, v.starts_at) == day]
    live = {v.id: v.plan_stage for v in visits if v.plan_stage is not None and v.plan_stage.deleted_at is None}
    marks = stage_marks(session, {stage.id for stage in live.values()})
    return [_day_visit(visit, live.get(visit.id), marks) for visit in visits]


def _day_visit(visit, stage, marks):
    return DayVisit(
        visit=visit,
        clock=f"{local_clock(visit.clinic, visit.starts_at)}–{local_clock(visit.clinic, visit.ends_at)}",
        stage=marks.get(stage.id) if stage is not None else None,
        explanation=stage_explanation(stage) if stage is not None else "",
        work=[PlannedWork(item.tooth, item.surfaces, localized(item.service)) for item in active_items(stage)]
        if stage is not None else [],
    )

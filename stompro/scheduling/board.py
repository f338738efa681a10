"""The schedule board's read model: a branch's day as columns, one per doctor
or per chair (or a week of one doctor or chair, a column a day), each with
its working time cut into grid cells and its visits as blocks; and the
waiting room.

Everything the templates print — where a block starts and how long it is,
clock labels, "visit 3 of 7", lateness, overdue, which statuses may follow —
is computed here. The queries are one per kind of thing (the doctors, the
visits with their patients and stages, the stages of those plans, shifts,
closures, absences, the waiting room), never one per block or column, so
that a day of twenty doctors draws as fast as a day of two."""
from dataclasses import dataclass
from datetime import date, time, timedelta

from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..admin.choices import VALUE_LABELS
from ..db import utcnow
from ..documents.gate import missing_for_visits
from ..org.models import Room, Staff, StaffRole, staff_clinic
from ..org.roles import DOCTOR
from ..patients.phones import format_phone
from ..planning.models import PlanStage
from .availability import (
    absences_of, at_local, branch_hours, clinic_zone, closed_days, local_day, working_windows_of,
)
from .models import FREEING_STATUSES, Appointment
from .services import NEXT_STATUSES

STEPS = (5, 10, 15)
DEFAULT_STEP = 15
LAYOUTS = ("doctor", "chair")
VIEWS = ("day", "week")
# Visits still expected: one whose start has passed in these is overdue.
EXPECTED = ("booked", "confirmed")
# Visits whose treatment has not started: the board marks those whose patient has documents to sign.
BEFORE_TREATMENT = ("booked", "confirmed", "arrived")


@dataclass(frozen=True)
class Cell:
    """One step of a column's grid: ``state`` is "off" (outside working
    time), "free" (working time nobody holds) or "busy"; a free cell books
    ``doctor_id`` in ``room_id`` (None: any chair of the branch)."""

    offset: int  # minutes from the top of the grid
    clock: str
    state: str
    doctor_id: int | None
    room_id: int | None


@dataclass(frozen=True)
class StageMark:
    """A plan visit: the ``number``-th of the variant's ``count`` stages,
    run beside another (parallel) or after it (serial)."""

    number: int
    count: int
    parallel: bool


@dataclass(frozen=True)
class Block:
    visit: Appointment
    offset: int  # minutes from the top of the grid
    length: int  # minutes
    start_clock: str  # "09:30"
    clock: str  # "09:30–10:15"
    stage: StageMark | None
    overdue: bool
    faded: bool  # cancelled or missed: its time is free again
    arrived_clock: str | None
    lateness: int | None  # minutes between the start and the arrival (negative: early)
    next_statuses: tuple
    phone: str  # as people read it; visit.patient.phone is the tel: link
    documents_missing: tuple  # documents.gate.Missing: what the patient has still to sign before treatment


@dataclass
class Column:
    key: str
    day: date
    title: str
    subtitle: str
    notes: list
    doctor: Staff | None
    room: Room | None
    cells: list
    blocks: list


@dataclass(frozen=True)
class Waiting:
    """A patient in the waiting room: arrived, not yet in the chair."""

    visit: Appointment
    arrived_clock: str
    minutes: int
    alert: bool


@dataclass
class Board:
    clinic: object
    day: date
    view: str
    layout: str
    step: int
    show_cancelled: bool
    days: list
    focus: int | None  # the week view's doctor or chair
    resources: list  # [(id, name)] of the layout: the week view's choice
    rows: list  # [(offset, clock)] of the time column
    length: int  # minutes from opening to closing
    columns: list
    waiting_room: list | None  # None when the board does not show today
    today: date
    previous_day: date
    next_day: date
    title: str


def build_board(session, clinic, day, view="day", layout="doctor", step=DEFAULT_STEP, focus=None,
                show_cancelled=False, now=None):
    """The board of ``clinic`` on ``day`` (a date of the branch's calendar)
    or, in the week view, in the working days of its week for one doctor or
    chair (``focus``, an id; the first one by default)."""
    now = now or utcnow()
    days = _week_days(clinic, day) if view == "week" else [day]
    doctors = branch_doctors(session, clinic)
    rooms = [room for room in clinic.rooms if room.active]
    resources = [(d.id, d.short_name) for d in doctors] if layout == "doctor" else [(r.id, r.name) for r in rooms]
    if view == "week":
        ids = [rid for rid, _ in resources]
        focus = focus if focus in ids else (ids[0] if ids else None)
    visits = _visits(session, clinic, days[0], days[-1], layout if view == "week" else None, focus, show_cancelled)
    doctors = _with_visiting_doctors(session, doctors, visits)
    stages = stage_marks(session, {v.plan_stage_id for v in visits if v.plan_stage_id})
    unsigned = missing_for_visits(session, [v for v in visits if v.status in BEFORE_TREATMENT], now)
    windows = working_windows_of(session, [d.id for d in doctors], clinic, days[0], days[-1])
    closed = closed_days(session, clinic.id, days[0], days[-1])
    away = absences_of(session, [d.id for d in doctors], days[0], days[-1])
    grid = _Grid(clinic, step)

    if layout == "doctor":
        resource_columns = [(d, None) for d in doctors if view == "day" or d.id == focus]
    else:
        resource_columns = [(None, r) for r in rooms if view == "day" or r.id == focus]
    by_column = {}  # (doctor or room id, day) → visits
    for visit in visits:
        key = visit.doctor_id if layout == "doctor" else visit.room_id
        by_column.setdefault((key, local_day(clinic, visit.starts_at)), []).append(visit)
    columns = []
    for doctor, room in resource_columns:
        for column_day in days:
            column = _column(grid, column_day, doctor, room, view, closed, away)
            if doctor is not None:
                shifts = [(w, doctor.id, w.room_id) for w in windows.get(doctor.id, ())]
            else:
                shifts = [(w, staff_id, room.id) for staff_id, found in windows.items() for w in found
                          if w.room_id == room.id]
            mine = by_column.get(((doctor or room).id, column_day), [])
            column.cells = grid.cells(column_day, shifts, mine)
            column.blocks = [_block(grid, v, stages, now, unsigned) for v in mine]
            columns.append(column)

    today = local_day(clinic, now)
    stride = timedelta(days=7 if view == "week" else 1)
    return Board(
        clinic=clinic, day=day, view=view, layout=layout, step=step, show_cancelled=show_cancelled, days=days,
        focus=focus, resources=resources, rows=grid.rows, length=grid.length, columns=columns,
        waiting_room=waiting_room(session, clinic, now) if today in days else None,  # today's, shown with today
        today=today, previous_day=day - stride,
        next_day=day + stride, title=days_title(days),
    )


def waiting_room(session, clinic, now=None):
    """Today's arrived patients of the branch, longest waiting first, with
    an alert past WAITING_ALERT_MINUTES."""
    now = now or utcnow()
    today = local_day(clinic, now)
    alert_after = int(current_app.config["WAITING_ALERT_MINUTES"])
    arrived = session.execute(
        select(Appointment)
        .where(
            Appointment.clinic_id == clinic.id, Appointment.deleted_at.is_(None), Appointment.status == "arrived",
            Appointment.starts_at >= at_local(clinic, today, time(0)),
            Appointment.starts_at < at_local(clinic, today + timedelta(days=1), time(0)),
        )
        .options(joinedload(Appointment.patient), joinedload(Appointment.doctor))
        .order_by(Appointment.arrived_at)
    ).scalars().all()
    waiting = []
    for visit in arrived:
        since = visit.arrived_at or visit.starts_at
        minutes = max(0, int((now - since).total_seconds() // 60))
        waiting.append(Waiting(visit, local_clock(clinic, since), minutes, minutes >= alert_after))
    return waiting


# -- the parts ---------------------------------------------------------------


class _Grid:
    """The branch's opening hours cut into steps; the clock and UTC moment
    of each step, per day, worked out once for every column."""

    def __init__(self, clinic, step):
        self.clinic, self.step = clinic, step
        self.opens = clinic.opens_at.hour * 60 + clinic.opens_at.minute
        self.length = clinic.closes_at.hour * 60 + clinic.closes_at.minute - self.opens
        self.rows = [(offset, _minutes_clock(self.opens + offset)) for offset in range(0, self.length, step)]
        self._moments = {}

    def moments(self, day):
        """[(offset, clock, UTC start, UTC end)] of the day's steps."""
        if day not in self._moments:
            steps = []
            for offset, clock in self.rows:
                start = at_local(self.clinic, day, _minutes_time(self.opens + offset))
                steps.append((offset, clock, start, start + timedelta(minutes=self.step)))
            self._moments[day] = steps
        return self._moments[day]

    def cells(self, day, windows, visits):
        """The day's cells of a column working in ``windows`` [(Window,
        doctor id, room id)] and holding ``visits``."""
        holding = [v for v in visits if v.status not in FREEING_STATUSES]
        cells = []
        for offset, clock, start, end in self.moments(day):
            window = next((w for w in windows if w[0].start <= start and end <= w[0].end), None)
            if window is None:
                cells.append(Cell(offset, clock, "off", None, None))
                continue
            taken = any(v.starts_at < end and v.ends_at > start for v in holding)
            cells.append(Cell(offset, clock, "busy" if taken else "free", window[1], window[2]))
        return cells

    def place(self, visit):
        """(offset, length) of a visit in minutes, kept inside the grid."""
        local = visit.starts_at.astimezone(clinic_zone(self.clinic))
        offset = local.hour * 60 + local.minute - self.opens
        length = int((visit.ends_at - visit.starts_at).total_seconds() // 60)
        offset = min(max(offset, 0), max(self.length - self.step, 0))
        return offset, max(min(length, self.length - offset), self.step)


def _column(grid, day, doctor, room, view, closed, away):
    notes = []
    if day in closed:
        notes.append(str(_l("Closed: %(reason)s", reason=closed[day])))
    elif branch_hours(grid.clinic, day) is None:
        notes.append(str(_l("The branch does not work")))
    if doctor is not None and day in away.get(doctor.id, {}):
        kind = away[doctor.id][day]
        notes.append(str(VALUE_LABELS.get(kind, kind)))
    if view == "week":
        title = format_date(day, "EEE d MMM")
        subtitle = doctor.short_name if doctor is not None else room.name
    else:
        title = doctor.short_name if doctor is not None else room.name
        subtitle = str(doctor.specialty or "") if doctor is not None else str(VALUE_LABELS.get(room.kind, room.kind))
    key = f"{'d' if doctor is not None else 'r'}{(doctor or room).id}-{day.isoformat()}"
    return Column(key, day, title, subtitle, notes, doctor, room, [], [])


def _block(grid, visit, stages, now, unsigned):
    clinic = grid.clinic
    offset, length = grid.place(visit)
    lateness = None
    if visit.arrived_at is not None:
        lateness = int((visit.arrived_at - visit.starts_at).total_seconds() // 60)
    return Block(
        visit=visit,
        offset=offset,
        length=length,
        start_clock=local_clock(clinic, visit.starts_at),
        clock=f"{local_clock(clinic, visit.starts_at)}–{local_clock(clinic, visit.ends_at)}",
        stage=stages.get(visit.plan_stage_id),
        overdue=visit.status in EXPECTED and (visit.overdue_at is not None or visit.starts_at <= now),
        faded=visit.status in FREEING_STATUSES,
        arrived_clock=local_clock(clinic, visit.arrived_at) if visit.arrived_at else None,
        lateness=lateness,
        next_statuses=NEXT_STATUSES[visit.status],
        phone=format_phone(visit.patient.phone) if visit.patient.phone else "",
        documents_missing=tuple(unsigned.get(visit.id, ())),
    )


def branch_doctors(session, clinic):
    """Active doctors working in the branch, by name."""
    return session.execute(
        select(Staff)
        .where(
            Staff.active.is_(True),
            Staff.id.in_(select(staff_clinic.c.staff_id).where(staff_clinic.c.clinic_id == clinic.id)),
            Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role == DOCTOR)),
        )
        .options(joinedload(Staff.specialty))
        .order_by(Staff.last_name, Staff.first_name, Staff.id)
    ).scalars().all()


def _with_visiting_doctors(session, doctors, visits):
    """The branch's doctors and anyone else who has a visit on the board (a
    doctor who left the branch keeps a column while their visits stand)."""
    known = {d.id for d in doctors}
    others = {v.doctor_id for v in visits} - known
    if not others:
        return list(doctors)
    extra = session.execute(
        select(Staff).where(Staff.id.in_(others)).options(joinedload(Staff.specialty))
        .order_by(Staff.last_name, Staff.first_name)
    ).scalars().all()
    return list(doctors) + list(extra)


def _visits(session, clinic, first, last, layout, focus, show_cancelled):
    query = (
        select(Appointment)
        .where(
            Appointment.clinic_id == clinic.id, Appointment.deleted_at.is_(None),
            Appointment.starts_at >= at_local(clinic, first, time(0)),
            Appointment.starts_at < at_local(clinic, last + timedelta(days=1), time(0)),
        )
        .options(joinedload(Appointment.patient),
                 joinedload(Appointment.plan_stage).joinedload(PlanStage.specialty))  # the documents gate asks it
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if not show_cancelled:
        query = query.where(Appointment.status.not_in(FREEING_STATUSES))
    if layout == "doctor":
        query = query.where(Appointment.doctor_id == focus)
    elif layout == "chair":
        query = query.where(Appointment.room_id == focus)
    return session.execute(query).scalars().all()


def stage_marks(session, stage_ids):
    """{stage id: StageMark} — each stage's place among the live stages of
    its variant, read for all the board's plans in one query."""
    if not stage_ids:
        return {}
    rows = session.execute(
        select(PlanStage.id, PlanStage.variant_id, PlanStage.position, PlanStage.parallel)
        .where(
            PlanStage.deleted_at.is_(None),
            PlanStage.variant_id.in_(select(PlanStage.variant_id).where(PlanStage.id.in_(stage_ids))),
        )
        .order_by(PlanStage.variant_id, PlanStage.position, PlanStage.id)
    ).all()
    by_variant = {}
    for row in rows:
        by_variant.setdefault(row.variant_id, []).append(row)
    marks = {}
    for stages in by_variant.values():
        for number, row in enumerate(stages, 1):
            if row.id in stage_ids:
                marks[row.id] = StageMark(number, len(stages), bool(row.parallel))
    return marks


@dataclass(frozen=True)
class MoveRow:
    """A line of a move's preview: where a visit is and where it goes (or
    why it finds no place)."""

    visit: Appointment
    stage: StageMark | None
    old: str
    new: str | None
    reason: str | None


def reschedule_rows(session, reschedule):
    """The rows of a cascade's preview (scheduling.cascade.Reschedule): each
    moved visit old → new, the moved one first, then those that find no place."""
    stages = stage_marks(session, {m.visit.plan_stage_id for m in reschedule.moves if m.visit.plan_stage_id}
                         | {v.plan_stage_id for v, _ in reschedule.unplaced if v.plan_stage_id})
    rows = [
        MoveRow(move.visit, stages.get(move.visit.plan_stage_id), _placed(move.visit.clinic, move.old_start,
                move.visit.doctor, move.visit.room), _placed(move.visit.clinic, move.new_start, move.doctor, move.room),
                None)
        for move in reschedule.moves
    ]
    rows += [
        MoveRow(visit, stages.get(visit.plan_stage_id), _placed(visit.clinic, visit.starts_at, visit.doctor, visit.room),
                None, str(reason))
        for visit, reason in reschedule.unplaced
    ]
    return rows


def _placed(clinic, moment, doctor, room):
    return f"{moment.astimezone(clinic_zone(clinic)):%d.%m.%Y %H:%M}, {doctor.short_name}, {room.name}"


def _week_days(clinic, day):
    """The branch's working days of the (Monday-first) week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    week = [monday + timedelta(days=n) for n in range(7)]
    working = [d for d in week if str(d.isoweekday()) in (clinic.working_days or "")]
    return working or week


def days_title(days):
    if len(days) == 1:
        return format_date(days[0], "EEEE, d MMMM y")
    return f"{format_date(days[0], 'd MMM')} – {format_date(days[-1], 'd MMM y')}"


def local_clock(clinic, moment):
    return moment.astimezone(clinic_zone(clinic)).strftime("%H:%M")


def _minutes_clock(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes_time(minutes):
    return time(minutes // 60, minutes % 60)

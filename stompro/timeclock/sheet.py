"""The time clock against the shifts: a month's timesheet per person and per
branch, and today's late arrivals.

A day is the branch's calendar day: a shift counts on its ``work_date``, an
entry on the day its clock-in falls on at its branch, so a night shift and
its entry stay on the evening they began. Minutes are counted between UTC
moments, so a day whose clocks jump for daylight saving is as long as it
really was. Per day:

- planned: the minutes of the person's shifts;
- worked: the minutes between clock-in and clock-out (an entry still open
  counts until now; on a past day it is flagged as a forgotten clock-out);
- late: from the first shift's start to the first clock-in, when later
  (a clock-in after the shifts ended is no lateness: the shifts were
  missed);
- early leave: from the last clock-out to the last shift's end, when
  earlier and after the shifts began;
- overtime: worked beyond planned (every minute worked on a day without a
  shift);
- absent: shifts that have ended with no entry within them.

Everything is read in two queries, whatever the number of people."""
import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from io import StringIO

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..org.models import Clinic, Staff
from ..scheduling.availability import clinic_zone
from ..scheduling.models import Shift
from ..timefmt import next_month
from .models import TimeClock

TOTALS = ("planned_minutes", "worked_minutes", "late_minutes", "early_leave_minutes", "overtime_minutes")


@dataclass
class SheetDay:
    date: date
    planned_minutes: int = 0
    worked_minutes: int = 0
    late_minutes: int = 0
    early_leave_minutes: int = 0
    overtime_minutes: int = 0
    absent: bool = False
    still_open: bool = False  # an entry of a past day without a clock-out (forgotten)
    shifts: list = field(default_factory=list)
    entries: list = field(default_factory=list)

    def json(self):
        return {"date": self.date.isoformat(), **{name: getattr(self, name) for name in TOTALS},
                "absent": self.absent, "still_open": self.still_open}


@dataclass
class Sheet:
    staff: Staff
    month: date
    days: list

    @property
    def totals(self):
        sums = {name: sum(getattr(day, name) for day in self.days) for name in TOTALS}
        sums["absences"] = sum(day.absent for day in self.days)
        sums["late_days"] = sum(day.late_minutes > 0 for day in self.days)
        return sums


@dataclass(frozen=True)
class ShiftTime:
    """A shift as the sheet reads it."""

    starts_at: datetime
    ends_at: datetime
    clinic: Clinic


@dataclass(frozen=True)
class ClockTime:
    """A clock-in (and out) as the sheet reads it."""

    clock_in: datetime
    clock_out: datetime | None
    clinic: Clinic


def timesheets(session, month, staff_ids=None, clinic=None, now=None):
    """{staff id: Sheet} of ``month`` for ``staff_ids`` (the people of
    ``clinic``'s shifts and entries when None), counting only ``clinic``'s
    shifts and entries when it is given. Shifts and entries are read as
    plain rows (a year of a network's is tens of thousands of them)."""
    now = now or utcnow()
    first, after = month, next_month(month)
    shift_query = select(Shift.staff_id, Shift.clinic_id, Shift.work_date, Shift.starts_at, Shift.ends_at).where(
        Shift.deleted_at.is_(None), Shift.work_date >= first, Shift.work_date < after)
    # an entry of the month began within a day of it, whatever the branch's zone
    entry_query = select(TimeClock.staff_id, TimeClock.clinic_id, TimeClock.clock_in, TimeClock.clock_out).where(
        TimeClock.deleted_at.is_(None),
        TimeClock.clock_in >= _moment(first - timedelta(days=1)), TimeClock.clock_in < _moment(after + timedelta(days=1)),
    )
    if clinic is not None:
        shift_query = shift_query.where(Shift.clinic_id == clinic.id)
        entry_query = entry_query.where(TimeClock.clinic_id == clinic.id)
    if staff_ids is not None:
        shift_query = shift_query.where(Shift.staff_id.in_(staff_ids))
        entry_query = entry_query.where(TimeClock.staff_id.in_(staff_ids))
    shifts, entries = session.execute(shift_query).all(), session.execute(entry_query).all()
    people_ids = {row.staff_id for row in (*shifts, *entries)} | set(staff_ids or ())
    people = {person.id: person for person in _rows_of(session, Staff, people_ids)}
    clinics = {branch.id: branch for branch in _rows_of(session, Clinic, {row.clinic_id for row in (*shifts, *entries)})}
    days = defaultdict(lambda: defaultdict(list))  # staff id → day → [shifts and entries]
    for shift in shifts:
        days[shift.staff_id][shift.work_date].append(ShiftTime(shift.starts_at, shift.ends_at, clinics[shift.clinic_id]))
    zones = {branch_id: clinic_zone(branch) for branch_id, branch in clinics.items()}
    for entry in entries:
        day = entry.clock_in.astimezone(zones[entry.clinic_id]).date()
        if first <= day < after:
            days[entry.staff_id][day].append(ClockTime(entry.clock_in, entry.clock_out, clinics[entry.clinic_id]))
    return {
        staff_id: Sheet(person, month, [_day(day, days[staff_id].get(day, []), now) for day in _days(first, after)])
        for staff_id, person in people.items()
    }


def staff_sheet(session, staff, month, clinic=None, now=None):
    """The person's month: every branch's shifts and entries, or ``clinic``'s."""
    return timesheets(session, month, staff_ids=[staff.id], clinic=clinic, now=now)[staff.id]


def branch_sheets(session, clinic, month, now=None):
    """The sheets of everyone with a shift or an entry at ``clinic`` in ``month``, by name."""
    sheets = timesheets(session, month, clinic=clinic, now=now).values()
    return sorted(sheets, key=lambda sheet: (sheet.staff.last_name, sheet.staff.first_name, sheet.staff.id))


def late_today(session, clinic_ids, now=None):
    """Today's shifts of ``clinic_ids`` that began, and have not ended, with
    the person not clocked in at that branch on time: [(shift, first
    clock-in or None, minutes late)], the latest first."""
    now = now or utcnow()
    shifts = session.execute(
        select(Shift).where(Shift.deleted_at.is_(None), Shift.clinic_id.in_(clinic_ids),
                            Shift.starts_at <= now, Shift.ends_at > now)
        .options(joinedload(Shift.staff), joinedload(Shift.clinic))
    ).scalars().all()
    today = [shift for shift in shifts if shift.work_date == now.astimezone(clinic_zone(shift.clinic)).date()]
    if not today:
        return []
    first_in = {(staff_id, clinic_id): came for staff_id, clinic_id, came in session.execute(
        select(TimeClock.staff_id, TimeClock.clinic_id, TimeClock.clock_in)
        .where(TimeClock.deleted_at.is_(None), TimeClock.staff_id.in_({s.staff_id for s in today}),
               TimeClock.clock_in >= now - timedelta(hours=24))
        .order_by(TimeClock.clock_in.desc())
    ).all()}  # newest first, so that each person's earliest clock-in at a branch is the one kept
    late = []
    for shift in today:
        came = first_in.get((shift.staff_id, shift.clinic_id))
        came = came if came is not None and came >= shift.starts_at - timedelta(hours=12) else None
        minutes = _minutes((came or now) - shift.starts_at)
        if minutes > 0:
            late.append((shift, came, minutes))
    return sorted(late, key=lambda row: -row[2])


def sheet_csv(sheets):
    """One row per person and day, for payroll (UTF-8 with a BOM, so that spreadsheets read Cyrillic)."""
    out = StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")  # as Russian spreadsheets expect
    writer.writerow(["staff_id", "name", "date", *TOTALS, "absent"])
    for sheet in sheets:
        for day in sheet.days:
            writer.writerow([sheet.staff.id, sheet.staff.full_name, day.date.isoformat(),
                             *(getattr(day, name) for name in TOTALS), int(day.absent)])
    return out.getvalue()


def _rows_of(session, model, ids):
    return session.execute(select(model).where(model.id.in_(ids))).scalars().all() if ids else []


def _day(day, rows, now):
    shifts = sorted((row for row in rows if isinstance(row, ShiftTime)), key=lambda shift: shift.starts_at)
    entries = sorted((row for row in rows if isinstance(row, ClockTime)), key=lambda entry: entry.clock_in)
    sheet_day = SheetDay(day, shifts=shifts, entries=entries)
    sheet_day.planned_minutes = sum(_minutes(shift.ends_at - shift.starts_at) for shift in shifts)
    sheet_day.worked_minutes = sum(_minutes(min(entry.clock_out or now, now) - entry.clock_in) for entry in entries)
    sheet_day.still_open = any(entry.clock_out is None and day < now.astimezone(clinic_zone(entry.clinic)).date()
                               for entry in entries)  # today's open entry is a person at work
    begins, ends = (shifts[0].starts_at, shifts[-1].ends_at) if shifts else (None, None)
    within = [entry for entry in entries if entry.clock_in < ends and (entry.clock_out or now) > begins] \
        if shifts else []
    if within:
        sheet_day.late_minutes = _minutes(within[0].clock_in - begins)
        last_out = within[-1].clock_out
        if last_out is not None:
            sheet_day.early_leave_minutes = _minutes(ends - last_out)
    sheet_day.overtime_minutes = max(sheet_day.worked_minutes - sheet_day.planned_minutes, 0)
    sheet_day.absent = bool(shifts) and not within and ends <= now
    return sheet_day


def _days(first, after):
    return [first + timedelta(days=n) for n in range((after - first).days)]


def _minutes(span):
    return max(int(span.total_seconds() // 60), 0)


def _moment(day):
    return datetime.combine(day, time(0), timezone.utc)

"""Free time for a visit: where a visit of a given length can be booked.

A placement is free when it lies inside a working window of the doctor
(availability.working_windows: shift ∩ branch hours, no closure, no
absence), from now on, with a chair of the branch free all along (the
shift's chair when it names one, else any active chair), and with no live
visit of the doctor, the chair or the patient in the way.

Ranking (find_slots): placements within the patient's preferred days and
hours first, then by date. A placement that would leave the doctor a gap —
to the neighbouring visit or to the edge of the shift — shorter than the
shortest visit anyone books is "awkward" and ranked last: such a gap stays
empty for good, so short visits go around long ones instead of cutting the
day into unusable pieces.

The plan booking and the cascade ask the same FreeTime for the nearest
placement instead, with the time they have already given away (``held``)
and the visits they are moving (``ignoring``) taken into account."""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import accumulate

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..db import utcnow
from ..errors import DomainError
from ..org.models import Clinic, Room, Staff, StaffRole
from ..org.roles import DOCTOR
from .availability import at_local, clinic_zone, working_windows_of
from .models import Appointment
from .services import HOLDING, LONGEST_VISIT, overlapping

STEP = timedelta(minutes=15)
# A gap shorter than this between visits is one nobody can be booked into.
SHORTEST_VISIT = timedelta(minutes=30)
# The days a search reads first; it reads on, twice as many days each time,
# until it has found enough of the best placements.
FIRST_STRETCH_DAYS = 7
# How many days one search may cover.
LONGEST_SEARCH_DAYS = 366


@dataclass(frozen=True)
class Slot:
    """A free placement: [start, end) with this doctor in this chair."""

    start: datetime
    end: datetime
    doctor: Staff
    room: Room
    clinic: Clinic
    preferred: bool = True  # within the patient's preferred days and hours
    awkward: bool = False  # leaves the doctor a gap too short for any visit

    @property
    def rank(self):
        """Sort key, best first."""
        return self.awkward, not self.preferred, self.start, self.doctor.id


@dataclass(frozen=True)
class Hold:
    """Time a preview has already given away but not written: its doctor,
    chair and patient count as taken."""

    start: datetime
    end: datetime
    doctor_id: int
    room_id: int
    patient_id: int | None = None


class _Busy:
    """The taken spans of one doctor, chair or patient, for quick checks."""

    def __init__(self, spans=()):
        self.spans = sorted(spans)
        self.starts = [start for start, _ in self.spans]
        self.latest_end = list(accumulate((end for _, end in self.spans), max))

    def free(self, start, end):
        index = bisect_left(self.starts, end)
        return index == 0 or self.latest_end[index - 1] <= start

    def previous_end(self, start):
        """The end of the last span that began before ``start``, or None."""
        index = bisect_left(self.starts, start)
        return self.latest_end[index - 1] if index else None

    def next_start(self, end):
        """The start of the first span that begins at or after ``end``, or None."""
        index = bisect_left(self.starts, end)
        return self.starts[index] if index < len(self.starts) else None

    def around(self, start, end):
        """The spans that end at or after ``start`` and begin at or before ``end``."""
        return self.spans[bisect_left(self.latest_end, start):bisect_right(self.starts, end)]


def doctor_places(session, doctor=None, specialty=None, clinic=None, clinics=None):
    """(doctor, branch) pairs to search: ``doctor`` or every active doctor
    (of ``specialty`` when given), in each active branch they work in —
    ``clinic`` only when given, and only branches among ``clinics`` when
    that is given."""
    if doctor is not None:
        doctors = [doctor] if doctor.active and DOCTOR in doctor.roles else []
    else:
        query = select(Staff).where(
            Staff.active.is_(True), Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role == DOCTOR))
        )
        if specialty is not None:
            query = query.where(Staff.specialty_id == specialty.id)
        doctors = session.execute(query.order_by(Staff.id)).scalars().all()
    allowed = None if clinics is None else {branch.id for branch in clinics}
    return [
        (person, branch)
        for person in doctors
        for branch in person.clinics
        if branch.active
        and (clinic is None or branch.id == clinic.id)
        and (allowed is None or branch.id in allowed)
    ]


class FreeTime:
    """The working windows and the taken time of some doctors (with their
    branches' chairs and one patient) from ``first_day`` to ``last_day``;
    ``slots`` then walks the free placements of any length. Visits whose
    ids are in ``ignoring`` count as not there.

    The days are read a stretch at a time (a week, then twice as many days
    each time) as ``slots`` walks into them: the nearest free time of a busy
    branch is found without reading its whole year."""

    def __init__(self, session, places, first_day, last_day, patient=None, ignoring=()):
        self.session, self.places, self.patient = session, places, patient
        self.first_day, self.last_day = first_day, last_day
        self.ignoring = [visit_id for visit_id in ignoring if visit_id is not None]
        self.windows = {}  # (doctor id, clinic id) → [Window] in time order, of the days read
        self.read_until = first_day - timedelta(days=1)
        self._stretch_days = FIRST_STRETCH_DAYS
        clinic_ids = {clinic.id for _, clinic in places}
        chairs = session.execute(
            select(Room)
            .where(Room.clinic_id.in_(clinic_ids), Room.active.is_(True), Room.kind == "chair")
            .order_by(Room.name, Room.id)
        ).scalars().all() if clinic_ids else []
        self.chairs = {clinic_id: [room for room in chairs if room.clinic_id == clinic_id] for clinic_id in clinic_ids}
        self.rooms = {room.id: room for room in chairs}
        self._spans = {"doctor": {}, "room": {}, "patient": {}}
        self._seen_visits = set()

    @property
    def read_all(self):
        return self.read_until >= self.last_day

    def read_through(self, day):
        """Read the stretches up to ``day`` (at least the next one)."""
        while not self.read_all and (self.read_until < day or self.read_until < self.first_day):
            first = self.read_until + timedelta(days=1)
            last = min(self.last_day, first + timedelta(days=self._stretch_days - 1))
            self._read_stretch(first, last)
            self.read_until, self._stretch_days = last, self._stretch_days * 2

    def _read_stretch(self, first, last):
        found = []
        for clinic in {clinic for _, clinic in self.places}:
            people = [doctor.id for doctor, branch in self.places if branch is clinic]
            for doctor_id, windows in working_windows_of(self.session, people, clinic, first, last).items():
                self.windows.setdefault((doctor_id, clinic.id), []).extend(windows)
                found.extend(windows)
        if found:
            self._read_taken({doctor.id for doctor, _ in self.places}, min(w.start for w in found),
                             max(w.end for w in found))

    def _read_taken(self, doctor_ids, start, end):
        room_ids = set(self.rooms) | {w.room_id for found in self.windows.values() for w in found if w.room_id}
        taken = [Appointment.doctor_id.in_(doctor_ids), Appointment.room_id.in_(room_ids)]
        if self.patient is not None:
            taken.append(Appointment.patient_id == self.patient.id)
        query = select(
            Appointment.id, Appointment.doctor_id, Appointment.room_id, Appointment.patient_id,
            Appointment.starts_at, Appointment.ends_at,
        ).where(
            Appointment.deleted_at.is_(None), Appointment.status.in_(HOLDING),
            *overlapping(start, end), or_(*taken),
        )
        if self.ignoring:
            query = query.where(Appointment.id.not_in(self.ignoring))
        seen = self._seen_visits
        for visit_id, doctor_id, room_id, patient_id, starts_at, ends_at in self.session.execute(query):
            if visit_id in seen:  # a visit across the edge of two stretches
                continue
            seen.add(visit_id)
            self._spans["doctor"].setdefault(doctor_id, []).append((starts_at, ends_at))
            self._spans["room"].setdefault(room_id, []).append((starts_at, ends_at))
            if self.patient is not None and patient_id == self.patient.id:
                self._spans["patient"].setdefault(patient_id, []).append((starts_at, ends_at))

    def _busy(self, kind, key, held):
        extra = [(h.start, h.end) for h in held if getattr(h, f"{kind}_id") == key]
        return _Busy(self._spans[kind].get(key, []) + extra)

    def slots(self, doctor, clinic, duration, *, not_before=None, step=STEP, room=None, held=(),
              shortest_visit=SHORTEST_VISIT, read_on=True):
        """Free placements of ``duration`` with ``doctor`` in ``clinic``, in
        time order, none before now (or ``not_before``). ``room`` is the chair
        tried first where the shift names none; ``held`` (Holds) are taken.
        Without ``read_on``, only the days read so far are walked."""
        floor = max(utcnow(), not_before) if not_before is not None else utcnow()
        zone = clinic_zone(clinic)
        chairs = self.chairs.get(clinic.id, [])
        if room is not None and room in chairs:
            chairs = [room] + [chair for chair in chairs if chair is not room]
        self.read_through(floor.astimezone(zone).date())
        done = 0  # windows of this doctor walked so far
        while True:
            windows = self.windows.get((doctor.id, clinic.id), [])
            doctor_busy = self._busy("doctor", doctor.id, held)
            patient_busy = self._busy("patient", self.patient.id, held) if self.patient is not None else _Busy()
            room_busy = {}
            for window in windows[done:]:
                if window.end - duration < floor:
                    continue
                rooms = [self.rooms[window.room_id]] if window.room_id in self.rooms else chairs
                for start in _starts(window, duration, floor, step, doctor_busy, zone):
                    end = start + duration
                    if not doctor_busy.free(start, end) or not patient_busy.free(start, end):
                        continue
                    for chair in rooms:
                        if chair.id not in room_busy:
                            room_busy[chair.id] = self._busy("room", chair.id, held)
                        if room_busy[chair.id].free(start, end):
                            yield Slot(start, end, doctor, chair, clinic,
                                       preferred=within_preferences(self.patient, zone, start, end),
                                       awkward=_leaves_a_useless_gap(window, doctor_busy, start, end, shortest_visit))
                            break
            done = len(windows)
            if self.read_all or not read_on:
                return
            self.read_through(self.read_until + timedelta(days=1))


def _starts(window, duration, floor, step, doctor_busy, zone):
    """Start times worth trying in a window, in order: the branch's clock
    grid (every ``step`` from midnight) and the edges that put a visit flush
    against the window's start or a neighbouring visit."""
    first = max(window.start, floor)
    last = window.end - duration
    local = first.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = -(-(local - midnight) // step)  # round up to the grid
    grid, moment = [], (midnight + steps * step).astimezone(first.tzinfo)
    while moment <= last:
        grid.append(moment)
        moment += step
    edges = {window.start} | {
        edge for start, end in doctor_busy.around(window.start, window.end) for edge in (end, start - duration)
    }
    return sorted({*grid, *(edge for edge in edges if first <= edge <= last)})


def _leaves_a_useless_gap(window, doctor_busy, start, end, shortest_visit):
    before = max(window.start, doctor_busy.previous_end(start) or window.start)
    after = min(window.end, doctor_busy.next_start(end) or window.end)
    return any(timedelta(0) < gap < shortest_visit for gap in (start - before, after - end))


def within_preferences(patient, zone, start, end):
    """Does [start, end) lie within the patient's preferred days and hours
    (in the branch's time)? Without preferences, any time does."""
    if patient is None:
        return True
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if patient.preferred_days and str(local_start.isoweekday()) not in patient.preferred_days:
        return False
    if patient.preferred_time_from is not None and local_start.time() < patient.preferred_time_from:
        return False
    if patient.preferred_time_to is not None and (
        local_end.date() > local_start.date() or local_end.time() > patient.preferred_time_to
    ):
        return False
    return True


def find_slots(session, *, duration, first_day, last_day, doctor=None, specialty=None, clinic=None, patient=None,
               limit=20, step=STEP, clinics=None):
    """Free placements of a visit of ``duration`` from ``first_day`` to
    ``last_day`` (the branches' days) with ``doctor``, or any doctor of
    ``specialty`` (or any doctor), in ``clinic`` (or any branch among
    ``clinics``, or any), for ``patient``: best first (module docstring),
    at most ``limit``."""
    _require_search(duration, first_day, last_day, step)
    places = doctor_places(session, doctor=doctor, specialty=specialty, clinic=clinic, clinics=clinics)
    free = FreeTime(session, places, first_day, last_day, patient)
    found = []
    while not free.read_all:
        fresh = free.read_until + timedelta(days=1)  # the first day of the stretch read next
        free.read_through(fresh)
        for person, branch in places:
            found.extend(free.slots(person, branch, duration, step=step, read_on=False,
                                    not_before=at_local(branch, fresh, time(0))))
        if sum(1 for slot in found if not slot.awkward and slot.preferred) >= limit:
            break  # nothing later can rank above these
    found.sort(key=lambda slot: slot.rank)
    return found[:limit]


def _require_search(duration, first_day, last_day, step):
    if not timedelta(0) < duration <= LONGEST_VISIT:
        raise DomainError(_l("A visit lasts from 1 minute to 12 hours."), field="duration")
    if step < timedelta(minutes=1):
        raise DomainError(_l("The grid step is at least a minute."), field="step")
    if first_day is None or last_day is None:
        raise DomainError(_l("Give the first and the last day."), field="from" if first_day is None else "to")
    if last_day < first_day:
        raise DomainError(_l("The last day cannot be before the first."), field="to")
    if (last_day - first_day).days > LONGEST_SEARCH_DAYS:
        raise DomainError(_l("Search at most a year at a time."), field="to")

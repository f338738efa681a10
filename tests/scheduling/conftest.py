"""A branch of the scheduling tests' own (no demo visits in the way): two
chairs, open 08:00–20:00 every day, and doctors, shifts, patients, visits and
plans made on demand. Days are weeks ahead, so nothing is in the past."""
from datetime import date, datetime, time, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Clinic, Room, Specialty, Staff, StaffRole
from stompro.patients.models import Patient
from stompro.planning.models import PlanStage, PlanVariant, TreatmentPlan
from stompro.scheduling.availability import at_local
from stompro.scheduling.models import Shift
from stompro.scheduling.services import book_visit

_serial = count(1)


def first_monday_after(days):
    day = date.today() + timedelta(days=days)
    return day + timedelta(days=(7 - day.weekday()) % 7)


class Schedule:
    """Builds the rows of one test in one branch; ``owner`` books."""

    def __init__(self, owner, zone="Europe/Moscow"):
        self.owner = owner
        number = next(_serial)
        self.clinic = Clinic(name=f"Test branch {number}-{id(self)}", address="Test street 1", time_zone=zone,
                             opens_at=time(8), closes_at=time(20), working_days="1234567")
        self.chairs = [Room(clinic=self.clinic, name=name, kind="chair") for name in ("Chair A", "Chair B")]
        db.session.add_all([self.clinic, *self.chairs])
        db.session.flush()
        self.monday = first_monday_after(14)

    def day(self, offset):
        """The day ``offset`` days after the first test Monday."""
        return self.monday + timedelta(days=offset)

    def at(self, day, clock):
        """The UTC moment of a clock time ("10:30") on a day in the branch."""
        hours, minutes = (int(part) for part in clock.split(":"))
        return at_local(self.clinic, day, time(hours, minutes))

    def doctor(self, specialty="therapy", name="Doctor"):
        number = next(_serial)
        person = Staff(login=f"test-doctor-{number}-{id(self)}", password_hash="-", last_name=f"{name}{number}",
                       first_name="Test", specialty=specialty_by_code(specialty), clinics=[self.clinic])
        person.role_rows.append(StaffRole(role="doctor"))
        db.session.add(person)
        db.session.flush()
        return person

    def works(self, person, day, hours=("09:00", "18:00"), room=None):
        shift = Shift(staff=person, clinic=self.clinic, room=room, work_date=day,
                      starts_at=self.at(day, hours[0]), ends_at=self.at(day, hours[1]))
        db.session.add(shift)
        db.session.flush()
        return shift

    def works_days(self, person, days, hours=("09:00", "18:00"), room=None):
        for day in days:
            self.works(person, day, hours, room)

    def patient(self, **preferences):
        number = next(_serial)
        person = Patient(last_name=f"Patient{number}", first_name="Test", birth_date=date(1980, 1, 1),
                         phone=f"+7916{number:07d}", **preferences)
        db.session.add(person)
        db.session.flush()
        return person

    def visit(self, person, patient, day, clock, minutes, room=None, stage=None):
        starts_at = self.at(day, clock)
        return book_visit(db.session, self.owner, clinic=self.clinic, room=room or self.chairs[0], doctor=person,
                          patient=patient, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                          plan_stage=stage)

    def plan(self, patient, stages):
        """A plan being carried out whose chosen variant has ``stages``:
        dicts of minutes, specialty, after (index of the stage waited
        for), parallel, gap (days)."""
        plan = TreatmentPlan(patient=patient, author=self.owner, clinic=self.clinic, status="accepted")
        variant = PlanVariant(plan=plan, tier="optimal", chosen=True)
        db.session.add_all([plan, variant])
        made = []
        for position, spec in enumerate(stages, start=1):
            after = spec.get("after", position - 2 if position > 1 else None)
            stage = PlanStage(
                variant=variant, position=position, kind=spec.get("kind", "treatment"),
                specialty=specialty_by_code(spec.get("specialty", "therapy")),
                depends_on=made[after] if after is not None else None, parallel=spec.get("parallel", False),
                min_gap_days=spec.get("gap", 0), duration_min=spec.get("minutes", 30),
            )
            db.session.add(stage)
            made.append(stage)
        db.session.flush()
        return plan, made


def specialty_by_code(code):
    return db.session.execute(select(Specialty).where(Specialty.code == code)).scalar_one()


def local(schedule, moment):
    """A UTC moment as the branch's naive wall time."""
    from stompro.scheduling.availability import clinic_zone

    return moment.astimezone(clinic_zone(schedule.clinic)).replace(tzinfo=None)


def wall(day, clock):
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes))


@pytest.fixture
def schedule(owner):
    return Schedule(owner)

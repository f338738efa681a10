"""The time clock's rules, called directly (any path obeys them): people clock
themselves in and out; the owner corrects, saying why."""
from datetime import datetime, timedelta, timezone

import pytest

from stompro.errors import DomainError, NotAllowed
from stompro.extensions import db
from stompro.timeclock.models import TimeClock
from stompro.timeclock.services import add_entry, clock_in, clock_out, delete_entry, open_entry, update_entry

from ..conftest import staff_by_login

WHY = "Забыла отметиться на киоске"


def refused(field):
    class Check:
        def __enter__(self):
            self.raises = pytest.raises(DomainError)
            self.info = self.raises.__enter__()

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            assert self.info.value.field == field, f"{self.info.value.message} ({self.info.value.field})"
            return handled

    return Check()


def test_an_entry_of_a_person_in_their_branch(admin, owner, nurse, center, hours_ago):
    entry = add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(8), clock_out=hours_ago(1),
                      note=" Пробки ")
    assert (entry.staff_id, entry.clinic_id, entry.note) == (nurse.id, center.id, "Пробки")


def test_a_person_clocks_in_and_out(admin, owner, nurse, center):
    entry = clock_in(db.session, nurse, nurse, center)
    assert open_entry(db.session, nurse) is entry and entry.correction_reason is None
    with refused("staff"):
        clock_out(db.session, admin, staff_by_login("doctor"))  # not clocked in (nor in this test)
    closed = clock_out(db.session, nurse, nurse, now=entry.clock_in + timedelta(hours=8))
    assert closed is entry and entry.clock_out - entry.clock_in == timedelta(hours=8)
    assert open_entry(db.session, nurse) is None


@pytest.mark.parametrize(
    "values, field",
    [
        ({"staff": None}, "staff"),
        ({"clinic": None}, "clinic"),
        ({"clock_in": None}, "clock_in"),
        ({"clock_in": "future"}, "clock_in"),
        ({"clock_in": datetime(2999, 1, 1, tzinfo=timezone.utc)}, "clock_in"),
        ({"clock_out": "before"}, "clock_out"),
        ({"clock_out": "future"}, "clock_out"),
        ({"clock_in": "long ago"}, "clock_out"),
        ({"note": "a\x00b"}, "note"),
        ({"note": "x" * 20_000}, "note"),
    ],
)
def test_an_entry_is_checked(admin, owner, nurse, center, hours_ago, values, field):
    moments = {"future": hours_ago(-2), "before": hours_ago(9), "long ago": hours_ago(30)}
    values = {name: moments.get(value, value) if isinstance(value, str) and name != "note" else value
              for name, value in values.items()}
    before = db.session.query(TimeClock).count()
    with refused(field):
        add_entry(db.session, owner, correction_reason=WHY, **{"staff": nurse, "clinic": center, "clock_in": hours_ago(8),
                                        "clock_out": hours_ago(1), **values})
    assert db.session.query(TimeClock).count() == before


def test_a_person_works_in_the_branch_and_still_works_here(admin, owner, nurse, center, south, hours_ago):
    with refused("staff"):
        add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=south, clock_in=hours_ago(3))
    nurse.active = False
    with refused("staff"):
        add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(3))


def test_one_open_entry_per_person_and_no_overlap(admin, owner, nurse, center, hours_ago):
    add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(30), clock_out=hours_ago(24))
    with refused("clock_in"):  # overlaps the closed one
        add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(26), clock_out=hours_ago(20))
    add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(24), clock_out=hours_ago(20))  # touches
    add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(5))
    with refused("clock_out"):  # a second open entry
        add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(2))
    with refused("clock_in"):  # the open entry runs until it is closed
        add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(3), clock_out=hours_ago(1))


def test_an_entry_is_corrected_within_the_same_rules(admin, owner, nurse, center, hours_ago):
    entry = add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(8) + timedelta(seconds=42))
    update_entry(db.session, owner, entry, correction_reason=WHY, clock_in=hours_ago(8), clock_out=hours_ago(1))
    assert entry.clock_in.second == 42  # the same minute as the form shows it keeps the seconds
    other = add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(20), clock_out=hours_ago(12))
    with refused("clock_in"):
        update_entry(db.session, owner, other, correction_reason=WHY, clock_out=hours_ago(7))
    with refused("clock_out"):
        update_entry(db.session, owner, other, correction_reason=WHY, clock_out=hours_ago(21))


def test_only_the_owner_corrects_and_says_why(admin, owner, nurse, center, hours_ago):
    with pytest.raises(NotAllowed):
        add_entry(db.session, admin, staff=nurse, clinic=center, clock_in=hours_ago(3), correction_reason=WHY)
    with refused("correction_reason"):
        add_entry(db.session, owner, staff=nurse, clinic=center, clock_in=hours_ago(3), correction_reason="  ")
    entry = clock_in(db.session, nurse, nurse, center, now=hours_ago(3))
    update_entry(db.session, admin, entry, clock_in=entry.clock_in, note=None)  # saved as it is: nothing to refuse
    with pytest.raises(NotAllowed):
        update_entry(db.session, admin, entry, clock_in=hours_ago(4), correction_reason=WHY)
    with refused("correction_reason"):
        update_entry(db.session, owner, entry, clock_in=hours_ago(4))
    update_entry(db.session, owner, entry, clock_in=hours_ago(4), correction_reason="Пришла в 8, киоск не работал")
    assert (entry.clock_in, entry.correction_reason) == (hours_ago(4), "Пришла в 8, киоск не работал")


def test_nobody_clocks_in_at_another_branch(nurse, south):
    with pytest.raises(NotAllowed):
        clock_in(db.session, nurse, nurse, south)


def test_only_the_owner_moves_an_entry_to_the_recycle_bin(admin, owner, nurse, center, hours_ago):
    entry = add_entry(db.session, owner, correction_reason=WHY, staff=nurse, clinic=center, clock_in=hours_ago(3))
    with pytest.raises(NotAllowed):
        delete_entry(db.session, admin, entry)
    delete_entry(db.session, owner, entry)
    assert db.session.get(TimeClock, entry.id).deleted_at is not None
    clock_in(db.session, nurse, nurse, center)  # no longer open

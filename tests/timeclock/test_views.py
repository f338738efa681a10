"""The time clock through the real generic forms: the owner's corrections
written through timeclock.services with a reason, bad ones refused under
their field; the reception reads its own branch's clock."""
import lxml.html
import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.timeclock.models import TimeClock
from stompro.timeclock.services import add_entry

from ..billing.forms import audit_rows, count, field_errors, form_values, lookup, post, typed
from ..conftest import staff_by_login


def entry_form(person, branch, clock_in, clock_out=None, **values):
    return {"staff": person.id, "clinic": branch.id, "clock_in": typed(clock_in),
            "clock_out": typed(clock_out) if clock_out else "", "note": "",
            "correction_reason": "Забыла отметиться", **values}


def cells(page):
    return [cell.text_content().strip() for cell in lxml.html.fromstring(page).xpath("//table//td")]


def test_the_owner_adds_an_entry_saying_why(client, auth, owner, nurse, center, hours_ago):
    auth.as_role("owner")
    response = post(client, auth, "/admin/time_clock/new/", entry_form(nurse, center, hours_ago(8), hours_ago(1)))
    assert response.status_code == 302, response.get_data(as_text=True)
    entry = db.session.execute(select(TimeClock).where(TimeClock.staff_id == nurse.id)).scalar_one()
    assert (entry.clock_in, entry.clock_out, entry.correction_reason) == (
        hours_ago(8), hours_ago(1), "Забыла отметиться")
    assert audit_rows("time_clock", entry.id)[0].actor_id == owner.id


def test_a_correction_without_a_reason_is_refused_and_the_original_is_audited(client, auth, nurse, center,
                                                                             hours_ago):
    from stompro.timeclock.services import clock_in

    entry = clock_in(db.session, nurse, nurse, center, now=hours_ago(3))
    db.session.commit()
    auth.as_role("owner")
    url = f"/admin/time_clock/edit/?id={entry.id}"
    values = {**form_values(client.get(url).get_data(as_text=True)), "clock_in": typed(hours_ago(4))}
    response = post(client, auth, url, {**values, "correction_reason": ""})
    assert "Write why the entry is corrected." in field_errors(response.get_data(as_text=True), "correction_reason")
    assert post(client, auth, url, {**values, "correction_reason": "Киоск не работал"}).status_code == 302
    db.session.expire_all()
    assert entry.clock_in == hours_ago(4)
    owner = staff_by_login("owner")
    correction = next(row for row in audit_rows("time_clock", entry.id, action="update")
                      if "clock_in" in row.changes)
    assert correction.actor_id == owner.id
    assert correction.changes["clock_in"] == [hours_ago(3).isoformat(), hours_ago(4).isoformat()]  # was → became


def test_the_reception_reads_but_does_not_correct(client, auth, nurse, center, hours_ago):
    auth.as_role("administrator")
    assert client.get("/admin/time_clock/").status_code == 200
    assert post(client, auth, "/admin/time_clock/new/",
                entry_form(nurse, center, hours_ago(8), hours_ago(1))).status_code == 403


def test_a_demo_entry_submitted_unchanged_is_saved(client, auth, center):
    entry = db.session.execute(
        select(TimeClock).where(TimeClock.clinic_id == center.id).order_by(TimeClock.id).limit(1)
    ).scalar_one()
    before = (entry.clock_in, entry.clock_out, entry.note)
    auth.as_role("owner")
    url = f"/admin/time_clock/edit/?id={entry.id}"
    response = post(client, auth, url, form_values(client.get(url).get_data(as_text=True)))
    assert response.status_code == 302
    db.session.expire_all()
    assert (entry.clock_in, entry.clock_out, entry.note) == before


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"clock_out": 9}, "clock_out", "after clock-in"),
        ({"clock_in": -2, "clock_out": None}, "clock_in", "in the future"),
        ({"clock_out": -2}, "clock_out", "in the future"),
        ({"clock_in": "01.01.2999 09:00"}, "clock_in", "Enter a date from"),
        ({"note": "a\x00b"}, "note", "control characters"),
        ({"note": "x" * 20_000}, "note", "At most 10000 characters"),
    ],
)
def test_a_bad_entry_is_refused_under_its_field(client, auth, nurse, center, hours_ago, change, field, message):
    data = entry_form(nurse, center, hours_ago(8), hours_ago(1))
    for name, value in change.items():
        data[name] = typed(hours_ago(value)) if isinstance(value, int) else ("" if value is None else value)
    auth.as_role("owner")
    before = count(TimeClock)
    response = post(client, auth, "/admin/time_clock/new/", data)
    assert response.status_code == 200
    assert message in " ".join(field_errors(response.get_data(as_text=True), field))
    assert count(TimeClock) == before


def test_an_overlapping_entry_is_refused(client, auth, owner, nurse, center, hours_ago):
    add_entry(db.session, owner, staff=nurse, clinic=center, clock_in=hours_ago(5), correction_reason="Забыла")
    db.session.commit()
    auth.as_role("owner")
    response = post(client, auth, "/admin/time_clock/new/", entry_form(nurse, center, hours_ago(3), hours_ago(1)))
    assert "already has an entry" in " ".join(field_errors(response.get_data(as_text=True), "clock_in"))
    response = post(client, auth, "/admin/time_clock/new/", entry_form(nurse, center, hours_ago(2)))
    assert "still clocked in" in " ".join(field_errors(response.get_data(as_text=True), "clock_out"))


def test_only_the_owner_moves_an_entry_to_the_recycle_bin(client, auth, owner, nurse, center, hours_ago):
    entry = add_entry(db.session, owner, staff=nurse, clinic=center, clock_in=hours_ago(5), correction_reason="Забыла")
    db.session.commit()
    auth.as_role("administrator")
    assert post(client, auth, "/admin/time_clock/delete/", {"id": entry.id}).status_code == 403
    auth.as_role("owner")
    assert post(client, auth, "/admin/time_clock/delete/", {"id": entry.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(TimeClock, entry.id).deleted_at is not None


def test_an_administrator_sees_only_the_own_branchs_clock(client, auth, center, south, hours_ago):
    frolova = staff_by_login("frolova.ys")  # works in the south branch only
    theirs = db.session.execute(
        select(TimeClock).where(TimeClock.staff_id == frolova.id).order_by(TimeClock.id).limit(1)
    ).scalar_one()
    auth.as_role("owner")
    assert south.name in cells(client.get("/admin/time_clock/?page_size=100").get_data(as_text=True))

    auth.as_role("administrator")
    shown = cells(client.get("/admin/time_clock/?page_size=100").get_data(as_text=True))
    assert center.name in shown and south.name not in shown
    assert client.get(f"/admin/time_clock/details/?id={theirs.id}").status_code == 404
    assert post(client, auth, f"/admin/time_clock/edit/?id={theirs.id}", {"note": "x"}).status_code in (403, 404)


def test_the_person_picker_finds_in_cyrillic_and_latin(client, auth, nurse):
    auth.as_role("owner")
    assert nurse.id in [row[0] for row in lookup(client, "time_clock", "staff", "сестрова")]
    assert nurse.id in [row[0] for row in lookup(client, "time_clock", "staff", "NURSE")]

"""The owner's staff screen, through its real forms: create, edit, save
unchanged, deactivate (with a confirmation), reactivate, reset a password;
the database and the audit log afterwards; no deletion; no secrets."""
import pytest
from sqlalchemy import func, select

from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.org.passwords import verify_password

from ..conftest import staff_by_login
from .helpers import audit_rows, form_fields


@pytest.fixture
def owner(auth):
    return auth.as_role("owner")


def count_staff():
    return db.session.scalar(select(func.count()).select_from(Staff))


def a_clinic():
    return db.session.execute(select(Clinic).order_by(Clinic.name).limit(1)).scalar_one()


def new_person(**changes):
    data = {
        "login": "n.ivanova", "last_name": "Иванова", "first_name": "Нина", "middle_name": "",
        "email": "", "phone": "", "color": "#123456", "language": "ru",
        "roles": ["doctor", "coordinator"], "new_password": "temporary-pass-1", "note": "",
        "clinics": [str(a_clinic().id)],
    }
    data.update(changes)
    return data


def post(client, auth, url, data):
    return client.post(url, data={**data, "csrf_token": auth.csrf_token()})


def edit_page_fields(client, staff):
    page = client.get(f"/admin/staff/edit/?id={staff.id}")
    assert page.status_code == 200
    fields = form_fields(page.get_data(as_text=True), "login")
    assert "new_password" not in fields  # a password is reset on its own page
    return fields


def test_the_owner_creates_a_person_who_must_choose_a_password(client, auth, owner):
    before = count_staff()
    response = post(client, auth, "/admin/staff/new/", new_person(login="N.Ivanova"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert count_staff() == before + 1
    staff = staff_by_login("n.ivanova")  # logins are stored in lower case
    assert staff.roles == {"doctor", "coordinator"}
    assert [c.id for c in staff.clinics] == [a_clinic().id]
    assert staff.active and staff.must_change_password
    assert verify_password(staff.password_hash, "temporary-pass-1")
    inserted = audit_rows("staff", staff.id)[0]
    assert inserted.action == "insert" and inserted.actor_login == "owner"
    assert inserted.changes["password_hash"] == "***"
    assert "temporary-pass-1" not in str(inserted.changes)
    roles_audited = db.session.execute(
        select(func.count()).select_from(type(inserted)).where(type(inserted).table_name == "staff_role")
    ).scalar()
    assert roles_audited >= 2


@pytest.mark.parametrize(
    "changes, field_message",
    [
        ({"new_password": "short-1"}, "A password needs at least 10 characters."),
        ({"new_password": "n.ivanova"}, "A password needs at least 10 characters."),
        ({"login": "n.ivanova.long", "new_password": "N.Ivanova.Long"}, "The password must not be the login."),
        ({"new_password": ""}, "A password needs at least 10 characters."),
        ({"roles": []}, "Give the person at least one role."),
        ({"login": "Doctor"}, "The login “doctor” is taken."),
        ({"login": "иванова"}, "A login may use Latin letters"),
        ({"color": "red"}, "A colour looks like #4a90d9."),
    ],
)
def test_a_person_breaking_a_rule_is_not_created(client, auth, owner, changes, field_message):
    before = count_staff()
    response = post(client, auth, "/admin/staff/new/", new_person(**changes))
    assert response.status_code == 200
    assert field_message in response.get_data(as_text=True)
    assert count_staff() == before


def test_saving_a_person_unchanged_works_and_changes_nothing(client, auth, owner):
    doctor = staff_by_login("doctor")
    epoch, audited = doctor.session_epoch, len(audit_rows("staff", doctor.id))
    fields = edit_page_fields(client, doctor)
    assert fields["roles"] == ["doctor"]
    response = post(client, auth, f"/admin/staff/edit/?id={doctor.id}", fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    doctor = staff_by_login("doctor")
    assert doctor.session_epoch == epoch
    assert len(audit_rows("staff", doctor.id)) == audited


def test_the_owner_edits_names_roles_and_branches(client, auth, owner):
    doctor = staff_by_login("doctor")
    epoch = doctor.session_epoch
    fields = edit_page_fields(client, doctor)
    every_branch = [str(c.id) for c in db.session.execute(select(Clinic)).scalars()]
    fields.update(first_name=["Мария"], roles=["doctor", "coordinator"], clinics=every_branch)
    response = post(client, auth, f"/admin/staff/edit/?id={doctor.id}", fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    doctor = staff_by_login("doctor")
    assert doctor.first_name == "Мария"
    assert doctor.roles == {"doctor", "coordinator"}
    assert {str(c.id) for c in doctor.clinics} == set(every_branch)
    assert doctor.session_epoch > epoch  # other roles: the doctor signs in again
    update = [row for row in audit_rows("staff", doctor.id) if "first_name" in row.changes][-1]
    assert update.actor_login == "owner"
    assert update.changes["first_name"][1] == "Мария"


def test_the_owner_cannot_remove_their_own_owner_role(client, auth, owner):
    fields = edit_page_fields(client, owner)
    fields["roles"] = ["doctor"]
    response = post(client, auth, f"/admin/staff/edit/?id={owner.id}", fields)
    assert response.status_code == 200
    assert "You cannot remove your own owner role" in response.get_data(as_text=True)
    db.session.expire_all()
    assert "owner" in staff_by_login("owner").roles


def test_the_owner_adding_a_role_to_themselves_stays_signed_in(client, auth, owner):
    fields = edit_page_fields(client, owner)
    fields["roles"] = ["owner", "doctor"]
    response = post(client, auth, f"/admin/staff/edit/?id={owner.id}", fields)
    assert response.status_code == 302
    assert client.get("/admin/staff/").status_code == 200
    assert staff_by_login("owner").roles == {"owner", "doctor"}


def test_deactivation_asks_for_confirmation_then_closes_the_account(client, auth, owner):
    doctor = staff_by_login("doctor")
    page = client.get(f"/admin/staff/deactivate/?id={doctor.id}&url=/admin/staff/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Deactivate Ковалёва Марина Сергеевна?" in html
    db.session.expire_all()
    assert staff_by_login("doctor").active  # asking changed nothing
    fields = form_fields(html, "id")
    fields.pop("csrf_token", None)
    response = post(client, auth, "/admin/staff/deactivate/", fields)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/staff/")
    db.session.expire_all()
    doctor = staff_by_login("doctor")
    assert not doctor.active
    entry = audit_rows("staff", doctor.id)[-1]
    assert entry.actor_login == "owner" and entry.changes["active"] == [True, False]


def test_the_owner_reactivates_a_person(client, auth, owner):
    cashier = staff_by_login("cashier")
    post(client, auth, "/admin/staff/deactivate/", {"id": cashier.id})
    response = post(client, auth, "/admin/staff/reactivate/", {"id": cashier.id, "url": "/admin/staff/"})
    assert response.status_code == 302
    db.session.expire_all()
    cashier = staff_by_login("cashier")
    assert cashier.active
    assert audit_rows("staff", cashier.id)[-1].changes["active"] == [False, True]


def test_list_actions_deactivate_and_reactivate_several_people(client, auth, owner):
    ids = [staff_by_login(login).id for login in ("cashier", "callcenter")]
    response = post(client, auth, "/admin/staff/action/", {"action": "deactivate", "rowid": ids, "url": "/admin/staff/"})
    assert response.status_code == 302
    db.session.expire_all()
    assert not staff_by_login("cashier").active and not staff_by_login("callcenter").active
    post(client, auth, "/admin/staff/action/", {"action": "reactivate", "rowid": ids})
    db.session.expire_all()
    assert staff_by_login("cashier").active and staff_by_login("callcenter").active


def test_the_owner_cannot_deactivate_themselves(client, auth, owner):
    response = post(client, auth, "/admin/staff/deactivate/", {"id": owner.id})
    assert response.status_code == 302
    assert "You cannot deactivate yourself." in client.get("/admin/staff/").get_data(as_text=True)
    db.session.expire_all()
    assert staff_by_login("owner").active
    # nor as one of several selected rows: nothing is deactivated then
    cashier = staff_by_login("cashier")
    post(client, auth, "/admin/staff/action/", {"action": "deactivate", "rowid": [cashier.id, owner.id]})
    db.session.expire_all()
    assert staff_by_login("cashier").active and staff_by_login("owner").active


def test_the_owner_resets_a_password_to_a_temporary_one(client, auth, owner):
    doctor = staff_by_login("doctor")
    page = client.get(f"/admin/staff/password/?id={doctor.id}")
    assert page.status_code == 200 and 'name="new_password"' in page.get_data(as_text=True)
    response = post(client, auth, f"/admin/staff/password/?id={doctor.id}", {"new_password": "temporary-pass-2"})
    assert response.status_code == 302
    db.session.expire_all()
    doctor = staff_by_login("doctor")
    assert doctor.must_change_password
    assert verify_password(doctor.password_hash, "temporary-pass-2")
    entry = audit_rows("staff", doctor.id)[-1]
    assert entry.actor_login == "owner"
    assert entry.changes["password_hash"] == ["***", "***"]
    assert entry.changes["must_change_password"] == [False, True]


def test_a_short_temporary_password_is_refused(client, auth, owner):
    doctor = staff_by_login("doctor")
    response = post(client, auth, f"/admin/staff/password/?id={doctor.id}", {"new_password": "short"})
    assert response.status_code == 200
    assert "A password needs at least 10 characters." in response.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(staff_by_login("doctor").password_hash, "demo")


def test_nobody_is_ever_deleted(client, auth, owner):
    doctor = staff_by_login("doctor")
    listing = client.get("/admin/staff/").get_data(as_text=True)
    assert "/admin/staff/delete/" not in listing
    response = post(client, auth, "/admin/staff/delete/", {"id": doctor.id})
    assert response.status_code == 403
    post(client, auth, "/admin/staff/action/", {"action": "delete", "rowid": [doctor.id]})
    assert db.session.get(Staff, doctor.id) is not None


@pytest.mark.parametrize(
    "url",
    [
        "/admin/staff/new/",
        "/admin/staff/password/?id={id}",
        "/admin/staff/deactivate/?id={id}",
    ],
)
def test_the_administrator_reads_the_list_but_changes_nothing(client, auth, url):
    auth.as_role("administrator")
    doctor = staff_by_login("doctor")
    assert client.get("/admin/staff/").status_code == 200
    assert client.get(url.format(id=doctor.id)).status_code == 403
    for target in ("/admin/staff/deactivate/", "/admin/staff/reactivate/", f"/admin/staff/password/?id={doctor.id}"):
        assert post(client, auth, target, {"id": doctor.id, "new_password": "temporary-pass-3"}).status_code == 403
    post(client, auth, "/admin/staff/action/", {"action": "deactivate", "rowid": [doctor.id]})
    db.session.expire_all()
    doctor = staff_by_login("doctor")
    assert doctor.active and verify_password(doctor.password_hash, "demo")


def test_no_secret_is_shown_searched_filtered_or_exported(client, auth, owner):
    doctor = staff_by_login("doctor")
    hash_prefix = doctor.password_hash[:30]
    pages = {
        "list": client.get("/admin/staff/").get_data(as_text=True),
        "details": client.get(f"/admin/staff/details/?id={doctor.id}").get_data(as_text=True),
        "edit": client.get(f"/admin/staff/edit/?id={doctor.id}").get_data(as_text=True),
        "export": client.get("/admin/staff/export/csv/").get_data(as_text=True),
    }
    for name, page in pages.items():
        assert "$argon2" not in page and hash_prefix not in page, name
        assert "password_hash" not in page and "session_epoch" not in page, name
    assert "Password hash" not in pages["list"] and "Session epoch" not in pages["list"]
    assert "doctor" in pages["export"]
    # searching for a piece of a hash finds nobody
    found = client.get("/admin/staff/", query_string={"search": "argon2id"}).get_data(as_text=True)
    assert "Ковалёва" not in found


def test_the_list_filters_by_role_and_branch_one_row_per_person(client, auth, owner):
    view = next(v for v in client.application.extensions["stompro_admin"]._views if v.endpoint == "staff")
    index = {str(f.name): i for i, f in enumerate(view._filters)}
    cashier, doctor, coordinator = (staff_by_login(login) for login in ("cashier", "doctor", "coordinator"))
    page = client.get("/admin/staff/", query_string={f"flt0_{index['Role']}": "cashier"}).get_data(as_text=True)
    assert cashier.last_name in page and doctor.last_name not in page
    both = sorted(coordinator.clinics, key=lambda c: c.id)
    assert len(both) == 2
    page = client.get("/admin/staff/", query_string={f"flt0_{index['Branch']}": both[1].id}).get_data(as_text=True)
    assert page.count(f">{coordinator.login}<") <= 1 and coordinator.last_name in page

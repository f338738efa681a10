"""The account rules in org.services, called directly as the views, the API
and the CLI call them."""
import pytest
from sqlalchemy import select

from stompro.errors import DomainError
from stompro.extensions import db
from stompro.org.models import Clinic, Staff
from stompro.org.services import (
    MIN_PASSWORD_LENGTH,
    change_own_password,
    create_staff,
    deactivate_staff,
    reactivate_staff,
    reset_password,
    set_clinics,
    set_password,
    set_roles,
    update_staff,
)

from ..conftest import staff_by_login


def person(**changes):
    values = dict(
        login="t.testova", password="a-long-password", last_name="Тестова", first_name="Тамара", roles=["doctor"]
    )
    values.update(changes)
    return create_staff(db.session, **values)


def test_create_staff_writes_an_active_person_with_roles_and_branches(app):
    clinic = db.session.execute(select(Clinic).limit(1)).scalar_one()
    staff = person(login="  T.Testova ", clinics=[clinic], phone="8 (916) 123-45-67", color="#ABCDEF", language="en")
    db.session.commit()
    assert staff.login == "t.testova"
    assert staff.active and staff.session_epoch == 0 and not staff.must_change_password
    assert staff.roles == {"doctor"} and staff.clinics == [clinic]
    assert staff.phone == "+79161234567" and staff.color == "#abcdef" and staff.language == "en"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"login": "OWNER"}, "login"),
        ({"login": ""}, "login"),
        ({"login": "two words"}, "login"),
        ({"login": "x" * 65}, "login"),
        ({"last_name": "  "}, "last_name"),
        ({"first_name": ""}, "first_name"),
        ({"password": "x" * (MIN_PASSWORD_LENGTH - 1)}, "new_password"),
        ({"password": "T.Testova"}, "new_password"),
        ({"login": "long.enough", "password": "LONG.ENOUGH"}, "new_password"),
        ({"roles": []}, "roles"),
        ({"roles": ["janitor"]}, "roles"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"color": "blue"}, "color"),
        ({"language": "de"}, "language"),
    ],
)
def test_create_staff_refuses_what_breaks_a_rule(app, changes, field):
    with pytest.raises(DomainError) as error:
        person(**changes)
    assert error.value.field == field
    db.session.rollback()


def test_a_password_of_ten_characters_is_enough(app):
    assert MIN_PASSWORD_LENGTH == 10
    person(password="x" * 10)


def test_update_staff_changes_details_and_keeps_an_old_login_s_case(app):
    doctor = staff_by_login("doctor")
    assert not update_staff(db.session, doctor, login="Doctor", last_name=doctor.last_name, color=doctor.color)
    assert doctor.login == "doctor"
    assert update_staff(db.session, doctor, login="m.kovaleva", middle_name="", note="  ")
    assert doctor.login == "m.kovaleva" and doctor.middle_name is None and doctor.note is None
    with pytest.raises(DomainError) as error:
        update_staff(db.session, doctor, login="Owner")
    assert error.value.field == "login"


def test_the_last_active_owner_stays(app):
    owner = staff_by_login("owner")
    with pytest.raises(DomainError, match="At least one active owner must remain"):
        deactivate_staff(db.session, owner)
    with pytest.raises(DomainError, match="At least one active owner must remain"):
        set_roles(db.session, owner, ["doctor"])
    db.session.rollback()
    # an inactive second owner does not count
    second = person(login="second.owner", roles=["owner"])
    deactivate_staff(db.session, second, actor=staff_by_login("owner"))
    with pytest.raises(DomainError, match="At least one active owner must remain"):
        deactivate_staff(db.session, staff_by_login("owner"))
    # an active one does
    reactivate_staff(db.session, second)
    assert set_roles(db.session, staff_by_login("owner"), ["doctor"], actor=second)
    assert deactivate_staff(db.session, staff_by_login("owner"), actor=second)


def test_an_owner_cannot_demote_or_deactivate_themselves_even_with_other_owners(app):
    owner = staff_by_login("owner")
    person(login="second.owner", roles=["owner"])
    with pytest.raises(DomainError, match="You cannot remove your own owner role"):
        set_roles(db.session, owner, ["doctor"], actor=owner)
    with pytest.raises(DomainError, match="You cannot deactivate yourself."):
        deactivate_staff(db.session, owner, actor=owner)
    assert set_roles(db.session, owner, ["owner", "doctor"], actor=owner)  # adding a role is fine


def test_deactivating_twice_and_reactivating_twice_are_harmless(app):
    cashier = staff_by_login("cashier")
    assert deactivate_staff(db.session, cashier)
    epoch = cashier.session_epoch
    assert not deactivate_staff(db.session, cashier)
    assert cashier.session_epoch == epoch
    assert reactivate_staff(db.session, cashier)
    assert not reactivate_staff(db.session, cashier)


def test_each_change_that_ends_sessions_bumps_the_epoch_once(app):
    doctor = staff_by_login("doctor")
    clinics = db.session.execute(select(Clinic)).scalars().all()
    epoch = doctor.session_epoch
    for change in (
        lambda: set_password(doctor, "a-new-password"),
        lambda: reset_password(db.session, doctor, "a-temporary-pw"),
        lambda: change_own_password(db.session, doctor, "a-temporary-pw", "my-own-password"),
        lambda: set_roles(db.session, doctor, ["doctor", "cashier"]),
        lambda: set_clinics(db.session, doctor, clinics),
        lambda: deactivate_staff(db.session, doctor),
    ):
        change()
        epoch += 1
        assert doctor.session_epoch == epoch
    assert not doctor.must_change_password  # cleared by the person's own change


def test_reset_password_is_not_for_oneself(app):
    owner = staff_by_login("owner")
    with pytest.raises(DomainError, match="Change your own password on your account page."):
        reset_password(db.session, owner, "a-temporary-pw", actor=owner)


def test_logins_are_unique_whatever_the_case(app):
    person(login="unique.one")
    with pytest.raises(DomainError) as error:
        person(login="UNIQUE.ONE")
    assert str(error.value.message) == "The login “unique.one” is taken."
    assert db.session.execute(select(Staff).filter_by(login="unique.one")).scalar_one()

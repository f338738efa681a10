"""``flask staff …`` through Flask's CLI runner: the same services, one
commit, a clear message, a non-zero exit on a broken rule."""
import pytest

from stompro.audit.models import AuditLog
from stompro.extensions import db
from stompro.org.models import Clinic
from stompro.org.passwords import verify_password

from ..conftest import staff_by_login
from .helpers import audit_rows


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args, input=None):
        result = runner.invoke(args=["staff", *args], input=input)
        db.session.expire_all()
        return result

    return run


def a_clinic():
    return db.session.execute(db.select(Clinic).order_by(Clinic.name)).scalars().first()


def test_create_the_first_owner_with_the_password_on_stdin(cli):
    clinic = a_clinic()
    result = cli(
        "create", "Chief", "--role", "owner", "--role", "doctor", "--name", "Главный Иван Петрович",
        "--clinic", clinic.name, "--password-stdin",
        input="a-long-password-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created chief (Главный Иван Петрович)" in result.output
    staff = staff_by_login("chief")
    assert (staff.last_name, staff.first_name, staff.middle_name) == ("Главный", "Иван", "Петрович")
    assert staff.roles == {"owner", "doctor"}
    assert [c.name for c in staff.clinics] == [clinic.name]
    assert staff.active and not staff.must_change_password
    assert verify_password(staff.password_hash, "a-long-password-1")
    entry = audit_rows("staff", staff.id)[0]
    assert entry.action == "insert" and entry.actor_login == "cli" and entry.actor_id is None


def test_create_asks_for_the_password_twice(cli):
    result = cli("create", "reception2", "--role", "administrator", "--name", "Приёмова Анна",
                 input="another-password\nanother-password\n")
    assert result.exit_code == 0, result.output
    assert verify_password(staff_by_login("reception2").password_hash, "another-password")
    assert "another-password" not in result.output


def test_create_asks_again_after_a_mistyped_confirmation(cli):
    result = cli("create", "reception3", "--role", "administrator", "--name", "Приёмова Анна",
                 input="another-password\nanother-passwort\nanother-password\nanother-password\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert verify_password(staff_by_login("reception3").password_hash, "another-password")


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (("doctor", "--role", "doctor", "--name", "Двойников Пётр"), "a-long-password-1\n", "The login “doctor” is taken."),
        (("newbie", "--role", "doctor", "--name", "Новиков Пётр"), "short\n", "A password needs at least 10 characters."),
        (("newbie", "--role", "doctor", "--name", "Новиков"), "a-long-password-1\n", "Give the name as"),
        (("newbie", "--role", "doctor", "--name", "Новиков Пётр", "--clinic", "Nowhere"), "a-long-password-1\n",
         "There is no branch named “Nowhere”"),
        (("newbie.login", "--role", "doctor", "--name", "Новиков Пётр"), "Newbie.Login\n", "The password must not be the login."),
    ],
)
def test_create_exits_non_zero_with_the_message(cli, args, stdin, message):
    result = cli("create", *args, "--password-stdin", input=stdin)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unknown_role_is_refused_by_the_option(cli):
    result = cli("create", "newbie", "--role", "janitor", "--name", "Новиков Пётр", "--password-stdin", input="a-long-password-1\n")
    assert result.exit_code == 2
    assert "janitor" in result.output


def test_set_password(cli, app):
    doctor = staff_by_login("doctor")
    epoch = doctor.session_epoch
    result = cli("set-password", "DOCTOR", input="a-new-password-9\na-new-password-9\n")
    assert result.exit_code == 0, result.output
    assert "A new password is set for doctor." in result.output
    doctor = staff_by_login("doctor")
    assert verify_password(doctor.password_hash, "a-new-password-9")
    assert doctor.session_epoch == epoch + 1 and not doctor.must_change_password


def test_set_a_temporary_password(cli):
    result = cli("set-password", "doctor", "--temporary", "--password-stdin", input="a-new-password-9\n")
    assert result.exit_code == 0, result.output
    assert staff_by_login("doctor").must_change_password


def test_set_password_of_nobody(cli):
    result = cli("set-password", "nobody", "--password-stdin", input="a-new-password-9\n")
    assert result.exit_code == 1
    assert "There is no account with the login “nobody”." in result.output


def test_deactivate(cli):
    result = cli("deactivate", "cashier")
    assert result.exit_code == 0, result.output
    assert "cashier is deactivated" in result.output
    assert not staff_by_login("cashier").active
    assert cli("deactivate", "cashier").output.strip() == "cashier was already inactive."
    assert cli("reactivate", "cashier").exit_code == 0
    assert staff_by_login("cashier").active


def test_the_last_owner_cannot_be_deactivated(cli):
    before = db.session.scalar(db.select(db.func.count()).select_from(AuditLog))
    result = cli("deactivate", "owner")
    assert result.exit_code == 1
    assert "At least one active owner must remain" in result.output
    assert staff_by_login("owner").active
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == before  # nothing written
    # with a second owner it can
    assert cli("create", "owner2", "--role", "owner", "--name", "Второй Владелец", "--password-stdin",
               input="a-long-password-1\n").exit_code == 0
    assert cli("deactivate", "owner").exit_code == 0


def test_list_shows_people_never_hashes(cli):
    cli("deactivate", "cashier")
    result = cli("list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Login", "Name", "Roles", "Branches", "Active"]
    owner_line = next(line for line in lines if line.startswith("owner "))
    assert "Смирнов Андрей Викторович" in owner_line and "Owner" in owner_line and owner_line.rstrip().endswith("Yes")
    cashier_line = next(line for line in lines if line.startswith("cashier "))
    assert cashier_line.rstrip().endswith("No")
    assert "$argon2" not in result.output


def test_the_existing_groups_stay(app):
    commands = app.cli.list_commands(None)
    assert {"seed", "schema", "staff"} <= set(commands)

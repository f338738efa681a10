"""``flask staff …``: accounts from the command line, e.g. the first owner of
a fresh PostgreSQL database (``flask db upgrade`` then ``flask staff create``).

The commands call the same services as the owner's screen, commit once, and
on a broken rule print its message and exit with status 1. They speak the
clinic's DEFAULT_LANGUAGE. Passwords are
typed at a prompt (twice) or read from the first line of standard input
with --password-stdin; never given as an argument, so they stay out of the
shell's history and the process list."""
import sys

import click
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..errors import DomainError
from ..extensions import db
from .models import LANGUAGES, Clinic, Staff
from .roles import ROLE_LABELS, ROLES


def _fail(message):
    click.echo(_("Error: %(message)s", message=message), err=True)
    raise SystemExit(1)


def _read_password(password_stdin, prompt):
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            _fail(_("There is no password on standard input."))
        return password
    return click.prompt(
        prompt, hide_input=True, confirmation_prompt=_("Repeat for confirmation"), prompt_suffix=": "
    )


def _staff(login):
    from .services import find_staff_by_login

    staff = find_staff_by_login(db.session, login)
    if staff is None:
        _fail(_("There is no account with the login “%(login)s”.", login=login))
    return staff


def _clinics(names):
    clinics = []
    for name in names:
        clinic = db.session.execute(
            select(Clinic).where(func.lower(Clinic.name) == name.strip().lower())
        ).scalar_one_or_none()
        if clinic is None:
            known = ", ".join(db.session.execute(select(Clinic.name).order_by(Clinic.name)).scalars()) or "-"
            _fail(_("There is no branch named “%(name)s” (branches: %(known)s).", name=name, known=known))
        clinics.append(clinic)
    return clinics


def _split_name(name):
    parts = (name or "").split()
    if len(parts) < 2:
        _fail(_("Give the name as “Last First [Middle]”, e.g. --name \"Иванов Иван Иванович\"."))
    return parts[0], parts[1], " ".join(parts[2:]) or None


def _commit(work):
    """Run ``work`` as the CLI in the audit log and commit once; a DomainError
    rolls everything back and exits with its message."""
    from ..audit.recorder import acting_as

    with acting_as("cli"):
        try:
            result = work()
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            _fail(str(error.message))
    return result


def _roles(staff):
    return ", ".join(str(ROLE_LABELS[role]) for role in ROLES if role in staff.roles)


@click.group("staff", help="Staff accounts: create, set a password, deactivate, list.")
def staff_group():
    pass


@staff_group.command("create", help="Create an account, e.g. the first owner of a new database.")
@click.argument("login")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for several roles.")
@click.option("--name", required=True, help='"Last First [Middle]"')
@click.option("--clinic", "clinic_names", multiple=True, help="A branch the person works in (its name); repeat for several.")
@click.option("--language", type=click.Choice(LANGUAGES), default="ru", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--must-change", is_flag=True, help="The person chooses their own password at the first sign-in.")
def staff_create(login, roles, name, clinic_names, language, password_stdin, must_change):
    from .services import create_staff

    last_name, first_name, middle_name = _split_name(name)
    clinics = _clinics(clinic_names)
    password = _read_password(password_stdin, _("Password"))
    staff = _commit(
        lambda: create_staff(
            db.session,
            login=login,
            password=password,
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
            language=language,
            roles=roles,
            clinics=clinics,
            must_change_password=must_change,
        )
    )
    click.echo(
        _("Created %(login)s (%(name)s): %(roles)s.", login=staff.login, name=staff.full_name, roles=_roles(staff))
    )


@staff_group.command("set-password", help="Give an account a new password; its sessions and API tokens end.")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--temporary", is_flag=True, help="The person must choose their own password at the next sign-in.")
def staff_set_password(login, password_stdin, temporary):
    from .services import reset_password

    staff = _staff(login)
    password = _read_password(password_stdin, _("New password"))
    _commit(lambda: reset_password(db.session, staff, password, temporary=temporary))
    if temporary:
        click.echo(_("A temporary password is set for %(login)s: they choose their own at the next sign-in.", login=staff.login))
    else:
        click.echo(_("A new password is set for %(login)s.", login=staff.login))
    click.echo(_("Every session and API token of theirs has ended."))


@staff_group.command("deactivate", help="Close an account: no more sign-in; its sessions and API tokens end.")
@click.argument("login")
def staff_deactivate(login):
    from .services import deactivate_staff

    staff = _staff(login)
    changed = _commit(lambda: deactivate_staff(db.session, staff))
    if changed:
        click.echo(_("%(login)s is deactivated; every session and API token of theirs has ended.", login=staff.login))
    else:
        click.echo(_("%(login)s was already inactive.", login=staff.login))


@staff_group.command("reactivate", help="Open a closed account again.")
@click.argument("login")
def staff_reactivate(login):
    from .services import reactivate_staff

    staff = _staff(login)
    changed = _commit(lambda: reactivate_staff(db.session, staff))
    click.echo(
        _("%(login)s is active again.", login=staff.login)
        if changed
        else _("%(login)s was already active.", login=staff.login)
    )


@staff_group.command("list", help="Every account: login, name, roles, branches, active.")
def staff_list():
    people = db.session.execute(
        select(Staff).options(selectinload(Staff.clinics)).order_by(Staff.active.desc(), Staff.login)
    ).scalars().all()
    rows = [
        (
            staff.login,
            staff.full_name,
            _roles(staff),
            ", ".join(c.name for c in staff.clinics) or "-",
            _("Yes") if staff.active else _("No"),
        )
        for staff in people
    ]
    header = (_("Login"), _("Name"), _("Roles"), _("Branches"), _("Active"))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())
    if not rows:
        click.echo(_("No accounts yet: create the first owner with “flask staff create LOGIN --role owner --name …”."))

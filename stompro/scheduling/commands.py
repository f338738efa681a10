"""``flask schedule …``: the schedule's periodic work, run by hand or by
cron until the jobs run it. The commands speak the clinic's
DEFAULT_LANGUAGE and are written to the audit log as the CLI."""
import click
from flask_babel import gettext as _

from ..audit.recorder import acting_as
from ..extensions import db


@click.group("schedule", help="The schedule's periodic work: overdue visits.")
def schedule_group():
    pass


@schedule_group.command("mark-overdue", help="Mark visits whose start passed without arrival; make rebooking tasks.")
def mark_overdue_command():
    from .overdue import mark_overdue

    with acting_as("cli"):
        marked = mark_overdue(db.session)
        db.session.commit()
    click.echo(_("Visits marked overdue: %(count)s.", count=len(marked)))

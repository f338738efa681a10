"""``flask tasks …``: the task book's daily work, run by hand or by cron
until the periodic job runs it; written to the audit log as the CLI."""
import click
from flask_babel import gettext as _

from ..audit.recorder import acting_as
from ..extensions import db


@click.group("tasks", help="The task book's daily work: tasks made by its rules.")
def tasks_group():
    pass


@tasks_group.command("generate", help="Run every active task rule once; each task is made at most once.")
def generate_command():
    from .models import TaskRule
    from .rules import generate_tasks

    with acting_as("cli"):
        made = generate_tasks(db.session)
        db.session.commit()
    names = {rule.code: rule.name for rule in db.session.execute(db.select(TaskRule)).scalars()}
    for code, count in made.items():
        click.echo(f"{names.get(code, code)}: {count}")
    click.echo(_("Tasks made: %(count)s.", count=sum(made.values())))

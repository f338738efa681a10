"""flask commands: seed, schema, staff, schedule, tasks, reminders."""
import time
from pathlib import Path

import click

from .messaging.commands import reminders_group
from .org.commands import staff_group
from .scheduling.commands import schedule_group
from .tasks.commands import tasks_group
from .settings import PROJECT_ROOT


def register(app):
    app.cli.add_command(seed_group)
    app.cli.add_command(schema_group)
    app.cli.add_command(staff_group)
    app.cli.add_command(schedule_group)
    app.cli.add_command(tasks_group)
    app.cli.add_command(reminders_group)


@click.group("seed", help="Load reference data or the demo clinic (idempotent).")
def seed_group():
    pass


@seed_group.command("reference", help="Conditions, specialties, ICD-10, price list, protocols, templates.")
def seed_reference():
    from .seeding.loader import seed

    _report(seed, "reference")


@seed_group.command("demo", help="Reference data plus the demo clinic network.")
def seed_demo_command():
    from .seeding.loader import print_demo_logins, seed

    _report(seed, "demo")
    print_demo_logins()


def _report(seed, kind):
    started = time.perf_counter()
    counts = seed(kind)
    for table, count in counts.items():
        click.echo(f"  {table:<24} {count}")
    click.echo(f"Seeded {kind} in {time.perf_counter() - started:.1f} s")


@click.group("schema", help="The database schema as SQL.")
def schema_group():
    pass


@schema_group.command("dump", help="Write the PostgreSQL DDL of the models to schema.sql (or '-' for stdout).")
@click.argument("target", default=str(PROJECT_ROOT / "schema.sql"))
def schema_dump(target):
    from .schema import schema_ddl

    ddl = schema_ddl()
    if target == "-":
        click.echo(ddl, nl=False)
    else:
        Path(target).write_text(ddl, encoding="utf-8")
        click.echo(f"Wrote {target}")

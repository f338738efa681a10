"""flask commands: seed, schema, staff, schedule, tasks, reminders, bench-data."""
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
    app.cli.add_command(bench_data)


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


@click.command("bench-data", help="Generate a large clinic network next to the data, for benchmarks of the "
                                  "owner's reports.")
@click.option("--branches", type=click.IntRange(1), default=5, show_default=True)
@click.option("--doctors", type=click.IntRange(1), default=60, show_default=True)
@click.option("--patients", type=click.IntRange(0), default=100_000, show_default=True)
@click.option("--visits", type=click.IntRange(0), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed (and day) makes the same data.")
@click.option("--months", type=click.IntRange(1), default=24, show_default=True, help="The period, ending today.")
@click.option("--force", is_flag=True, help="Add it although the database already holds patients.")
def bench_data(branches, doctors, patients, visits, seed, months, force):
    import resource

    from .errors import DomainError
    from .extensions import db
    from .reports.bench_data import generate

    started = time.perf_counter()
    progress = _Progress()
    try:
        counts = generate(db.session, branches, doctors, patients, visits, seed=seed, months=months,
                          progress=progress, force=force)
        progress.close()
        db.session.commit()
    except DomainError as error:
        progress.close()
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    for table, count in counts.items():
        click.echo(f"  {table:<24} {count}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    click.echo(f"Generated {sum(counts.values())} rows in {time.perf_counter() - started:.1f} s, "
               f"peak memory {peak / 1024:.0f} MiB")


class _Progress:
    """A click progress bar per step of the generator, advanced by each chunk written."""

    def __init__(self):
        self.step = self.bar = None

    def __call__(self, step, rows, total):
        if step != self.step:
            self.close()
            self.step = step
            self.bar = click.progressbar(length=total, label=f"{step:<9}")
            self.bar.__enter__()
        self.bar.update(rows)

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

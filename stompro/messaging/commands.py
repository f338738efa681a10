"""``flask reminders …``: the outbox's dispatcher, run by cron, `rq cron` or
in a loop; written to the audit log as the CLI."""
import time

import click
from flask import current_app
from flask_babel import gettext as _

from ..audit.recorder import acting_as
from ..extensions import db

LOOP_SECONDS = 60


@click.group("reminders", help="Reminders and other messages to patients: the outbox's dispatcher.")
def reminders_group():
    pass


@reminders_group.command("dispatch", help="Send the due messages once (through RQ when REDIS_URL is set).")
@click.option("--loop", is_flag=True, help="Run again every minute until interrupted.")
def dispatch_command(loop):
    from .dispatch import dispatch

    while True:
        try:
            with acting_as("cli"):
                result = dispatch(db.session, current_app.config)
        finally:
            db.session.remove()
        if result.redis_down:
            click.echo(_("Redis is unreachable: the due messages wait for the next run."), err=True)
        elif current_app.config.get("REDIS_URL"):
            click.echo(_("Messages queued: %(claimed)s in %(jobs)s jobs; stuck ones returned: %(reaped)s.",
                         claimed=result.claimed, jobs=result.jobs, reaped=result.reaped))
        else:
            click.echo(_("Messages sent: %(sent)s, failed: %(failed)s; stuck ones returned: %(reaped)s.",
                         sent=result.sent, failed=result.failed, reaped=result.reaped))
        if not loop:
            return
        try:
            time.sleep(LOOP_SECONDS)
        except KeyboardInterrupt:
            return

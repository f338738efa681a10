"""``flask reminders …``: the outbox's dispatcher, run by cron, `rq cron` or
in a loop; written to the audit log as the CLI."""
import time

import click
from flask import current_app

from ..audit.recorder import system_actor
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
        token = system_actor.set("cli")
        try:
            result = dispatch(db.session, current_app.config)
        finally:
            system_actor.reset(token)
            db.session.remove()
        if result.redis_down:
            click.echo("Redis is unreachable: the due messages wait for the next run.", err=True)
        elif current_app.config.get("REDIS_URL"):
            click.echo(f"Claimed {result.claimed} messages in {result.jobs} jobs; returned {result.reaped} stuck.")
        else:
            click.echo(f"Sent {result.sent} messages, {result.failed} failed; returned {result.reaped} stuck.")
        if not loop:
            return
        try:
            time.sleep(LOOP_SECONDS)
        except KeyboardInterrupt:
            return

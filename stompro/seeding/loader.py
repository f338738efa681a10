"""Seeding entry points used by the CLI and the embedded first start."""
import os
import time

import click
from flask import current_app
from flask_migrate import stamp

from ..audit.recorder import system_actor
from ..extensions import db
from .demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_PIN, seed_demo
from .reference import load_reference


def seed(kind):
    """Load ``reference`` or ``demo`` (demo loads reference first) and commit."""
    token = system_actor.set("seed")
    try:
        counts = load_reference(db.session)
        if kind == "demo":
            counts.update(seed_demo(db.session))
        db.session.commit()
        return counts
    except Exception:
        db.session.rollback()
        raise
    finally:
        system_actor.reset(token)


def create_schema_and_seed_demo():
    """The embedded database's first start: tables, reference data, demo clinic."""
    started = time.perf_counter()
    db.create_all()
    stamp(directory=current_app.extensions["migrate"].directory)
    if current_app.config["SEED_DEMO_ON_FIRST_START"]:
        seed("demo")
        print_demo_logins()
    click.echo(f"StomPRO: database ready in {time.perf_counter() - started:.1f} s")


def print_demo_logins():
    port = os.environ.get("FLASK_RUN_PORT", "5000")
    click.echo(f"StomPRO demo clinic loaded. Sign in at http://127.0.0.1:{port}/login as:")
    for login in DEMO_LOGINS:
        click.echo(f"  {login:<12} password: {DEMO_PASSWORD}")
    click.echo(f"Everyone's PIN at the time-clock kiosk (/admin/kiosk/): {DEMO_PIN}")

"""Alembic environment for StomPRO, run by Flask-Migrate (`flask --app app db …`).

The database URL and the metadata come from the running app (DATABASE_URL /
instance/stompro.cfg / create_app overrides). Autogenerate options live in
autogen_options.py so tests/test_migrations.py compares with the same rules.
"""
import importlib.util
import logging
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from flask import current_app

config = context.config

# Logging from alembic.ini for the command line (`flask db …` prints the
# alembic INFO lines through it). When the root logger is configured already
# (pytest's log capture, a host program) leave logging alone: fileConfig would
# replace the root handlers and level for the rest of the process.
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def _load_autogen_options():
    path = Path(__file__).with_name("autogen_options.py")
    spec = importlib.util.spec_from_file_location("stompro_migrations_autogen_options", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CONFIGURE_OPTIONS


AUTOGEN_OPTIONS = _load_autogen_options()


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    # '%' must be doubled for the ConfigParser behind alembic's Config.
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db


def get_metadata():
    return target_db.metadata


def run_migrations_offline():
    """`flask db upgrade --sql`: emit the SQL instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=get_metadata(),
        literal_binds=True,
        # psql runs this output: don't double '%' as the psycopg paramstyle would.
        dialect_opts={"paramstyle": "named"},
        **AUTOGEN_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations on a connection of the app's engine."""

    def process_revision_directives(context, revision, directives):
        # `flask db migrate` with nothing to do writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    # Flask-Migrate's own defaults first; ours (the ones the tests use) win.
    conf_args = {**current_app.extensions["migrate"].configure_args, **AUTOGEN_OPTIONS}
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The Alembic migrations (migrations/) build exactly the schema of the models.

Each PostgreSQL test runs on its own scratch database (see tests/pg.py) and is
skipped when no server is reachable. The SQLite test always runs.
"""
import importlib.util
import pprint

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from stompro import create_app
from stompro.extensions import db
from stompro.settings import PROJECT_ROOT

from . import pg

MIGRATIONS = PROJECT_ROOT / "migrations"


def autogen_options():
    """The options env.py hands to Alembic (migrations/autogen_options.py)."""
    spec = importlib.util.spec_from_file_location("stompro_migrations_autogen_options", MIGRATIONS / "autogen_options.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CONFIGURE_OPTIONS


def make_app(url):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "test"})


def schema_diff(app):
    """What `flask db migrate` would generate now: [] when the database matches the models."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={**autogen_options(), "target_metadata": db.metadata})
        return compare_metadata(context, db.metadata)


def assert_no_diff(app, when):
    diff = schema_diff(app)
    assert not diff, (
        f"{when}, the database differs from the models; add a migration "
        f"(`flask --app app db migrate -m ...`) and review it:\n{pprint.pformat(diff, width=120)}"
    )


def public_tables(app):
    with app.app_context(), db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


@pytest.fixture
def pg_app():
    """An app bound to an empty scratch PostgreSQL database."""
    server = pg.require_server()
    with pg.scratch_database(server, prefix="stompro_mig") as url:
        app = make_app(url)
        yield app
        with app.app_context():
            db.engine.dispose()


def test_one_linear_history():
    script = ScriptDirectory(str(MIGRATIONS))
    heads = script.get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: run `flask --app app db merge heads`"
    assert script.get_bases() == ["0001"]


def test_upgrade_to_head_matches_the_models(pg_app):
    with pg_app.app_context():
        flask_migrate.upgrade(revision="head")
    assert_no_diff(pg_app, "After `flask db upgrade`")


def test_upgrade_gives_the_same_constraints_and_indexes_as_create_all(pg_app):
    """Autogenerate does not compare CHECK constraints (nor index or constraint
    definitions in detail): compare what PostgreSQL prints for both databases."""
    with pg_app.app_context():
        flask_migrate.upgrade(revision="head")
        with db.engine.connect() as connection:
            migrated = pg.schema_snapshot(connection)
    with pg.scratch_database(pg.require_server(), prefix="stompro_mig_ref") as url:
        engine = create_engine(url, poolclass=NullPool)
        try:
            db.metadata.create_all(engine)
            with engine.connect() as connection:
                reference = pg.schema_snapshot(connection)
        finally:
            engine.dispose()
    differences = pg.snapshot_differences(migrated, reference, "migrations", "models (create_all)")
    assert not differences, "the migrations do not build the models' schema:\n" + "\n".join(differences)


def test_downgrade_to_base_and_upgrade_again(pg_app):
    with pg_app.app_context():
        flask_migrate.upgrade(revision="head")
        flask_migrate.downgrade(revision="base")
    assert public_tables(pg_app) == {"alembic_version"}, "downgrade to base left tables behind"
    with pg_app.app_context():
        flask_migrate.upgrade(revision="head")
    assert_no_diff(pg_app, "After downgrade to base and upgrade again")


def test_upgrade_on_sqlite_matches_the_models(tmp_path):
    """The embedded database: batch mode must work there too."""
    app = make_app(f"sqlite:///{tmp_path / 'migrated.db'}")
    with app.app_context():
        flask_migrate.upgrade(revision="head")
    assert_no_diff(app, "On SQLite, after `flask db upgrade`")
    with app.app_context():
        flask_migrate.downgrade(revision="base")
    assert public_tables(app) == {"alembic_version"}
    with app.app_context():
        db.engine.dispose()

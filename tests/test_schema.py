"""schema.sql (the PostgreSQL DDL of the models, checked in) stays in step with
stompro/*/models.py, and is valid PostgreSQL."""
import difflib

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from stompro import create_app
from stompro.extensions import db
from stompro.schema import schema_ddl
from stompro.settings import PROJECT_ROOT

from . import pg

SCHEMA_SQL = PROJECT_ROOT / "schema.sql"
REGENERATE = "run `flask --app app schema dump` and commit schema.sql"


@pytest.fixture(scope="module")
def ddl_app():
    """A bare app (in-memory SQLite, nothing seeded): only its metadata is used."""
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "test"}
    )


def test_schema_sql_matches_the_models(ddl_app):
    assert SCHEMA_SQL.exists(), f"{SCHEMA_SQL} is missing: {REGENERATE}"
    with ddl_app.app_context():
        expected = schema_ddl()
    actual = SCHEMA_SQL.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile="schema.sql (checked in)",
                tofile="schema.sql (from the models)",
            )
        )
        pytest.fail(f"schema.sql is out of date with stompro/*/models.py: {REGENERATE}.\n\n{diff}", pytrace=False)


def test_schema_sql_loads_into_an_empty_postgresql_database(ddl_app):
    server = pg.require_server()
    script = SCHEMA_SQL.read_text(encoding="utf-8")
    with pg.scratch_database(server, prefix="stompro_schema") as url:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                # The whole file in one go through psycopg (no parameters, so it
                # is sent as-is: several statements, '%' untouched), like psql -1 -f.
                connection.connection.driver_connection.execute(script)
            with engine.connect() as connection:
                tables = set(inspect(connection).get_table_names())
        finally:
            engine.dispose()
    with ddl_app.app_context():
        expected = set(db.metadata.tables)
    assert tables == expected, (
        f"schema.sql created {sorted(tables - expected)} extra and missed {sorted(expected - tables)}"
    )


def test_schema_sql_builds_the_same_schema_as_the_models(ddl_app):
    """Loaded by psql, schema.sql must give what the app's create_all() gives."""
    server = pg.require_server()
    script = SCHEMA_SQL.read_text(encoding="utf-8")
    snapshots = {}
    for source in ("schema.sql", "create_all"):
        with pg.scratch_database(server, prefix="stompro_schema") as url:
            engine = create_engine(url, poolclass=NullPool)
            try:
                if source == "schema.sql":
                    with engine.begin() as connection:
                        connection.connection.driver_connection.execute(script)
                else:
                    db.metadata.create_all(engine)
                with engine.connect() as connection:
                    snapshots[source] = pg.schema_snapshot(connection)
            finally:
                engine.dispose()
    differences = pg.snapshot_differences(snapshots["schema.sql"], snapshots["create_all"], "schema.sql", "models")
    assert not differences, "schema.sql does not build the models' schema:\n" + "\n".join(differences)

"""Scratch PostgreSQL databases for tests.

    from tests import pg

    server = pg.require_server()                     # or pytest.skip("PostgreSQL not reachable at …")
    with pg.scratch_database(server, prefix="stompro_mig") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, ...})

The server comes from STOMPRO_TEST_POSTGRES_URL, else STOMPRO_TEST_DATABASE_URL,
else postgresql://postgres@127.0.0.1:5432/postgres. Its database part only
says where to connect to run CREATE/DROP DATABASE; each scratch database gets a
unique name (<prefix>_<random hex>) and is dropped WITH (FORCE) afterwards.
URLs are driven with psycopg 3 (postgresql+psycopg://).
"""
import functools
import os
import secrets
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_SECONDS = 3


def server_url():
    """The PostgreSQL server URL the tests should use (see the module docstring)."""
    return (
        os.environ.get("STOMPRO_TEST_POSTGRES_URL")
        or os.environ.get("STOMPRO_TEST_DATABASE_URL")
        or DEFAULT_SERVER_URL
    )


def driver_url(url):
    """``url`` as a SQLAlchemy URL driven by psycopg 3 (``postgres://`` accepted)."""
    raw = str(url) if not hasattr(url, "render_as_string") else url.render_as_string(hide_password=False)
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    return make_url(raw).set(drivername="postgresql+psycopg")


def _admin_engine(url):
    return create_engine(
        driver_url(url),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        poolclass=NullPool,
    )


@functools.lru_cache(maxsize=None)
def unreachable_reason(url=None):
    """None when the server answers, else a skip reason ("PostgreSQL not reachable at …")."""
    url = url or server_url()
    shown = driver_url(url).render_as_string(hide_password=True)
    try:
        engine = _admin_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure means: cannot use it for these tests
        error = getattr(error, "orig", None) or error  # the driver's message, not SQLAlchemy's wrapper
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"PostgreSQL not reachable at {shown} ({first_line}); set STOMPRO_TEST_POSTGRES_URL"
    return None


def require_server(url=None):
    """The server URL, or skip the calling test with the reason it is unusable."""
    url = url or server_url()
    reason = unreachable_reason(url)
    if reason:
        pytest.skip(reason)
    return url


@contextmanager
def scratch_database(server=None, prefix="stompro_scratch"):
    """Create an empty database on ``server``, yield its URL (a string, password
    kept, postgresql+psycopg://), and drop it WITH (FORCE) on the way out."""
    server = server or server_url()
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = _admin_engine(server)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield driver_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def schema_snapshot(connection):
    """Columns, constraints and indexes of the public schema as PostgreSQL
    itself prints them (format_type, pg_get_constraintdef, pg_get_indexdef),
    keyed by name, so two databases can be compared for exact equality.
    alembic_version is left out."""
    queries = {
        "column": """
            SELECT c.relname || '.' || a.attname,
                   format_type(a.atttypid, a.atttypmod)
                   || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                   || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'alembic_version'""",
        "constraint": """
            SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'alembic_version'""",
        "index": """
            SELECT indexname, indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename <> 'alembic_version'""",
    }
    return {
        (kind, name): definition
        for kind, query in queries.items()
        for name, definition in connection.execute(text(query))
    }


def snapshot_differences(left, right, left_name="left", right_name="right"):
    """Human-readable lines for every entry of two schema_snapshot()s that differs."""
    lines = []
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key), right.get(key)
        if a != b:
            lines.append(f"{key[0]} {key[1]}:\n    {left_name}: {a}\n    {right_name}: {b}")
    return lines

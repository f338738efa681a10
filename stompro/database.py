"""Engine set-up per dialect and the embedded database's first start."""
from pathlib import Path

from sqlalchemy import DDL, event
from sqlalchemy.engine import Engine

from .extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Foreign keys, WAL and a busy timeout on every SQLite connection; and
    let SQLAlchemy (not pysqlite) decide when a transaction begins."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; searches must find "Иванов" by "иванов".
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    """SQLite takes its one write lock at BEGIN IMMEDIATE: a transaction that
    checks a doctor's free time and then books it cannot interleave with
    another doing the same (a plain BEGIN would let both read "free" and both
    book). The embedded database serves one clinic; PostgreSQL serves the
    network, with exclusion constraints as the last word."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def embedded_database_is_new(app):
    """True when the embedded SQLite file does not exist yet."""
    if not app.config["EMBEDDED_DATABASE"]:
        return False
    return not (Path(app.instance_path) / "stompro.db").exists()


# btree_gist for the appointments' exclusion constraints, pg_trgm for the
# patients' search indexes: created with the tables on PostgreSQL (both are
# trusted extensions a database's owner may create).
POSTGRESQL_EXTENSIONS = ("btree_gist", "pg_trgm")
for _extension in POSTGRESQL_EXTENSIONS:
    event.listen(
        db.metadata, "before_create",
        DDL(f"CREATE EXTENSION IF NOT EXISTS {_extension}").execute_if(dialect="postgresql"),
    )

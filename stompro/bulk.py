"""Many new rows in one go, for the few places that write hundreds at once
(a treatment plan of three variants is ~600 rows).

The ORM's unit of work spends about a fifth of a millisecond of Python per
new row, and PostgreSQL answers multi-row INSERTs no faster than ~75 µs a
row; COPY writes the same rows in a fraction of that. So rows are plain dicts
whose ids are drawn in advance — which also lets a row point at another row
of the same batch — and go in with COPY on PostgreSQL, ``executemany``
elsewhere. Audit rows go the same way (``audit.recorder.insert_audited``
writes a batch together with its audit rows).
"""
from sqlalchemy import func, select, text


def reserve_ids(session, table, count):
    """``count`` new primary keys of ``table``.

    PostgreSQL draws them from the table's sequence. SQLite has no sequences:
    its rowids follow the largest one, and only one transaction at a time may
    write, so once this transaction has written anything (the caller's job)
    the ids after the largest are this transaction's."""
    if count == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        drawn = connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": table.name, "count": count},
        ).scalars()
        return sorted(drawn)
    largest = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(largest + 1, largest + 1 + count))


def write_rows(connection, table, rows):
    """Insert ``rows`` (dicts with the same keys) into ``table``; columns left
    out get their Python-side defaults, filled into the dicts. Not audited:
    callers other than the audit itself use ``insert_audited``."""
    if not rows:
        return rows
    _fill_defaults(table, rows)
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
    else:
        connection.execute(table.insert(), rows)
    return rows


def _fill_defaults(table, rows):
    keys = rows[0].keys()
    for column in table.columns:
        default = column.default
        if column.key in keys or default is None or not (default.is_scalar or default.is_callable):
            continue
        for row in rows:
            row[column.key] = default.arg if default.is_scalar else default.arg(None)


def _copy(connection, table, rows):
    """COPY … FROM STDIN through the driver, with each column's bind
    processing (time zones, JSON) applied as an INSERT would."""
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    columns = [table.c[key] for key in rows[0]]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    statement = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.format_column(column) for column in columns)
    )
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None or value is None else process(value)
                    for value, process in zip(row.values(), processors)
                ]
            )

"""Invoice and receipt numbers: per branch and year, in order, without gaps.

A number is the branch's last one of the year plus one, taken inside the
transaction that writes its row. On PostgreSQL that transaction first takes
an advisory lock of the series, branch and year, held until it ends: a
second cashier waits for the first to commit and then reads its number.
SQLite writes one transaction at a time. A transaction that rolls back
takes its number with it, so no number is ever skipped; nobody types one."""
from sqlalchemy import func, select

from ..timefmt import to_local
from .models import Invoice, Payment

SERIES = {
    # series: (its advisory lock's first key, the numbered column, the letters before the branch)
    "invoice": (1, Invoice.number, "INV"),
    "receipt": (2, Payment.receipt_number, "R"),
    "credit": (3, Payment.receipt_number, "CN"),  # credit notes share the receipts' column, not their sequence
}


def next_number(session, series, clinic, moment):
    """The branch's next number of ``series`` in the local year of
    ``moment``: INV1-2026-000042, R1-2026-000007, CN1-2026-000001."""
    lock_key, column, letters = SERIES[series]
    year = to_local(moment).year
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(lock_key, clinic.id * 10000 + year)))
    prefix = f"{letters}{clinic.id}-{year}-"
    last = session.scalar(
        select(column).where(column.like(f"{prefix}%"))
        .order_by(func.length(column).desc(), column.desc())
        .limit(1)
    )
    tail = last[len(prefix):] if last else ""
    sequence = int(tail) + 1 if tail.isdigit() else 1
    return f"{prefix}{sequence:06d}"

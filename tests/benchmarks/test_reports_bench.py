"""The owner's figures on a generated clinic network, printed for the issue
note (not timed assertions): the owner's home page (target ≤ 300 ms) and
every report for one month (≤ 1 s) and for a year (≤ 3 s) of the network,
each beside its SQL run bare (the statements the report ran, captured and
re-run through the driver), and ``bench-data``'s own time and memory.

    pytest tests/benchmarks/test_reports_bench.py -s        # a small network on SQLite

    # the network of the issue, on PostgreSQL (generates it: minutes)
    STOMPRO_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/postgres \\
    STOMPRO_BENCH_NETWORK=5,60,100000,1000000 pytest tests/benchmarks/test_reports_bench.py -s

    # a network generated before (flask bench-data) in its own database
    STOMPRO_BENCH_NETWORK_URL=postgresql+psycopg://postgres@127.0.0.1/stompro_benchgen \\
        pytest tests/benchmarks/test_reports_bench.py -s
"""
import os
import resource
import time as clock
from contextlib import contextmanager
from datetime import timedelta

from flask_babel import force_locale
from sqlalchemy import event

from stompro import create_app
from stompro.extensions import db
from stompro.org.models import Clinic
from stompro.reports.bench_data import generate
from stompro.reports.home import compute_figures
from stompro.reports.registry import REPORTS
from stompro.reports.scope import Scope, add_months, this_month, today

from .common import p50, seeded_app, signed_in_client, timings_ms

SMALL = "2,10,5000,50000"  # branches, doctors, patients, visits


@contextmanager
def network_app(tmp_path):
    """(app, dialect, what generating took) on the network asked for."""
    given = os.environ.get("STOMPRO_BENCH_NETWORK_URL")
    if given:
        app = create_app({"SQLALCHEMY_DATABASE_URI": given, "SEED_DEMO_ON_FIRST_START": False, "SECRET_KEY": "bench"})
        yield app, given.split(":", 1)[0], "generated before (flask bench-data)"
        return
    branches, doctors, patients, visits = (int(n) for n in os.environ.get("STOMPRO_BENCH_NETWORK", SMALL).split(","))
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.app_context():
            started = clock.perf_counter()
            counts = generate(db.session, branches=branches, doctors=doctors, patients=patients, visits=visits,
                              seed=1, force=True)
            db.session.commit()
            took = clock.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            db.session.remove()
        rows = ", ".join(f"{table} {count:,}" for table, count in counts.items())
        yield app, dialect, f"bench-data {branches}/{doctors}/{patients:,}/{visits:,} in {took:.1f} s, " \
                            f"peak memory of the process {peak:.0f} MB ({rows})"


@contextmanager
def captured(engine):
    """The statements (with their parameters) run on ``engine`` meanwhile."""
    statements = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bare_ms(engine, statements, runs):
    """p50 of running ``statements`` through the driver and fetching every row."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        times = []
        for _ in range(runs):
            started = clock.perf_counter()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            times.append((clock.perf_counter() - started) * 1000)
        raw.rollback()
        return p50(times)
    finally:
        raw.close()


def _sql_of(app, call):
    with app.app_context(), app.test_request_context(), force_locale("ru"):
        with captured(db.engine) as statements:
            call()
        return [(s, p) for s, p in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]


def test_the_owners_figures_on_a_network(tmp_path):
    with network_app(tmp_path) as (app, dialect, generated):
        print(f"\n[{dialect}] {generated}")
        owner = signed_in_client(app, "owner")
        app.config["HOME_FIGURES_SECONDS"] = 0  # every load computes its figures
        cold, cold_cpu = timings_ms(lambda run: owner.get("/admin/"), 10)
        app.config["HOME_FIGURES_SECONDS"] = 300
        owner.get("/admin/")
        wall, cpu = timings_ms(lambda run: owner.get("/admin/"), 10)
        with app.app_context():
            clinics = db.session.execute(db.select(Clinic).order_by(Clinic.name)).scalars().all()
            engine = db.engine
        statements = _sql_of(app, lambda: compute_figures(db.session, clinics))
        print(f"[{dialect}] the owner's home page ({len(clinics)} branches): computing its figures p50 "
              f"{p50(cold):.0f} ms (CPU {p50(cold_cpu):.0f} ms), their {len(statements)} statements bare "
              f"{bare_ms(engine, statements, 5):.0f} ms; with the figures kept (HOME_FIGURES_SECONDS) "
              f"p50 {p50(wall):.0f} ms (CPU {p50(cpu):.0f} ms)")

        with app.app_context():
            day = today()
        last_month = this_month(add_months(day.replace(day=1), -1))
        ranges = {"month": last_month, "year": (day - timedelta(days=364), day)}
        print(f"[{dialect}] report (grouping) | range | the page, p50 | the definition alone | its SQL bare | rows")
        for name, definition in REPORTS.items():
            for label, (first, last) in ranges.items():
                query = f"from={first.isoformat()}&to={last.isoformat()}"
                runs = 3 if label == "month" else 2
                page, _ = timings_ms(lambda run: owner.get(f"/admin/reports/{name}?{query}"), runs)
                scope = Scope(first, last, tuple(clinics), True)
                statements = _sql_of(app, lambda: definition.compute(db.session, scope, definition.default_group))
                with app.app_context(), app.test_request_context(), force_locale("ru"):
                    started = clock.perf_counter()
                    report = definition.compute(db.session, scope, definition.default_group)
                    alone = (clock.perf_counter() - started) * 1000
                print(f"[{dialect}] {name} ({definition.default_group}) | {label} | {p50(page):.0f} ms | "
                      f"{alone:.0f} ms | {bare_ms(engine, statements, runs):.0f} ms | {len(report.rows)}")

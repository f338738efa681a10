"""Plan printout figures, printed for the issue note (not timed assertions).

    pytest tests/benchmarks/test_printout_bench.py -s                     # SQLite
    STOMPRO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        pytest tests/benchmarks/test_printout_bench.py -s

A fresh demo database; the demo plan whose three variants hold closest to 60
items in all, printed whole (HTML + PDF) as the printout view does. Wall time
over a few runs, then one run under tracemalloc for the peak of Python
allocations and the process's peak RSS growth. Targets: ≤ 3 s, ≤ 300 MB."""
import resource
import time
import tracemalloc

from sqlalchemy import select

from stompro.extensions import db
from stompro.planning.models import TreatmentPlan
from stompro.planning.printout import printout_pdf
from stompro.planning.services import active_items

from .common import p50, seeded_app

ITEMS = 60
RUNS = 3


def item_count(plan):
    return sum(len(active_items(stage)) for variant in plan.variants for stage in variant.stages)


def test_printout_of_three_variants(tmp_path):
    with seeded_app(tmp_path) as (app, dialect, _):
        with app.test_request_context():
            plans = db.session.execute(select(TreatmentPlan)).scalars().all()
            plan_id = min(plans, key=lambda p: abs(item_count(p) - ITEMS)).id
            db.session.remove()

        def print_once():
            with app.test_request_context():
                plan = db.session.get(TreatmentPlan, plan_id)
                pdf = printout_pdf(db.session, plan, "all")
                db.session.remove()
                return plan, pdf

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        wall = []
        for _ in range(RUNS):
            started = time.perf_counter()
            _, pdf = print_once()
            wall.append(time.perf_counter() - started)
        rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024

        tracemalloc.start()
        print_once()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        with app.test_request_context():
            plan = db.session.get(TreatmentPlan, plan_id)
            items, stages = item_count(plan), sum(len(v.stages) for v in plan.variants)
        assert pdf.startswith(b"%PDF")
        print(f"\n[{dialect}] printout of plan {plan_id}: 3 variants, {stages} stages, {items} items, "
              f"{len(pdf) // 1024} KB PDF — wall p50 {p50(wall):.2f} s (first {wall[0]:.2f} s, runs {RUNS}); "
              f"peak Python allocations {peak / 2**20:.1f} MB, peak RSS growth {rss_growth_mb:.1f} MB "
              f"(process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")

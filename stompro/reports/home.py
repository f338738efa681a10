"""The owner's home page: today and this month at a glance, each figure
read from its report's definition (so it matches the report it links to).

On a large network the figures take the better part of a second to
compute (benchmarks: tests/benchmarks/test_reports_bench.py), so they are
kept for HOME_FIGURES_SECONDS per process, branches and language, and the
page says as of when they are."""
import time as clock
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from ..bounds import EARLIEST_DATE
from ..db import utcnow
from ..i18n import current_language

from .money import collections, production
from .people import tasks
from .plans import conversion, lost_patients
from .scope import Scope, today
from .table import compare, display
from .visits import load


@dataclass
class Figure:
    label: object
    value: str  # as shown
    report: str  # the report's name
    url: str  # where the figure is read in full
    before: str = ""  # the same days of last month, as shown
    change: str = ""
    direction: str = ""  # the news: "good", "bad", ""
    detail: list = None  # [(label, value as shown)]


THIS_MONTH = {"production": _l("Production this month"), "collections": _l("Collections this month")}
_kept = {}  # (branch ids, language) → (monotonic time, as of, [Figure])


def owner_figures(session, clinics):
    """(as of when, [Figure]) for the owner's branches ``clinics``, computed
    at most every HOME_FIGURES_SECONDS."""
    key = (tuple(sorted(clinic.id for clinic in clinics)), current_language())
    kept = _kept.get(key)
    if kept is not None and clock.monotonic() - kept[0] < current_app.config["HOME_FIGURES_SECONDS"]:
        return kept[1:]
    as_of = utcnow()
    figures = compute_figures(session, clinics)
    _kept[key] = (clock.monotonic(), as_of, figures)
    return as_of, figures


def compute_figures(session, clinics):
    """[Figure] for the owner's branches ``clinics``: production and
    collections of this month so far against the same days of last month;
    visits today and the chair hours still free; plans presented and
    accepted this month; lost patients (of every running plan — the task
    book's count — linked to their list, where they are called back); tasks
    overdue per tab (of those due in the last 90 days)."""
    day = today()
    month = Scope(day.replace(day=1), day, tuple(clinics), True)
    last_month = month.previous()  # the same days of last month, as the report the card opens compares
    figures = []
    for definition, key in ((production, "amount"), (collections, "total")):
        now_report = definition(session, month, None)
        before = definition(session, last_month, None).totals
        column, shown, before_shown, change, direction = next(
            line for line in compare(now_report, before) if line[0].key == key)
        figures.append(Figure(THIS_MONTH[now_report.name], shown, now_report.name, _report_url(now_report.name, month, "day"),
                              before_shown, change, direction))
    today_scope = Scope(day, day, month.clinics, True)
    chairs = load(session, today_scope, None).totals
    free = max(chairs["available"] - chairs["booked"], 0)
    figures.append(Figure(_l("Visits today"), display(chairs["visits"], "count"), "load",
                          _report_url("load", today_scope, "chair")))
    figures.append(Figure(_l("Free chair time today, h:mm"), display(free, "minutes"), "load",
                          _report_url("load", today_scope, "chair")))
    plans = conversion(session, month, None).totals
    figures.append(Figure(_l("Plans presented / accepted this month"),
                          f"{display(plans['presented'], 'count')} / {display(plans['accepted'], 'count')}",
                          "conversion", _report_url("conversion", month, "coordinator")))
    ever = Scope(EARLIEST_DATE, day, month.clinics, True)
    lost = lost_patients(session, ever, None).totals
    figures.append(Figure(_l("Lost patients"), display(lost["lost_patients"], "count"), "lost_patients",
                          url_for("lost_patients.index"),
                          detail=[(_l("Money left in their plans"), display(lost["money"], "money"))]))
    recent = Scope(day - timedelta(days=89), day, month.clinics, True)
    by_tab = tasks(session, recent, "tab")
    figures.append(Figure(_l("Overdue tasks (due in the last 90 days)"), display(by_tab.totals["overdue"], "count"), "tasks",
                          _report_url("tasks", recent, "tab"),
                          detail=[(row["label"], display(row["overdue"], "count"))
                                  for row in by_tab.rows if row["overdue"]]))
    return figures


def _report_url(name, scope, group_by):
    query = {"from": scope.first.isoformat(), "to": scope.last.isoformat(), "group_by": group_by}
    return url_for("reports.report", report_name=name, **query)

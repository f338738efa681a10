"""The owner's home page: today and this month at a glance, each figure
read from its report's definition (so it matches the report it links to)."""
from dataclasses import dataclass
from datetime import timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..bounds import EARLIEST_DATE

from .money import collections, production
from .people import tasks
from .plans import conversion, lost_patients
from .scope import Scope, add_months, today
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
    direction: str = ""  # "up", "down", ""
    detail: list = None  # [(label, value as shown)]


def owner_figures(session, clinics, now=None):
    """[Figure] for the owner's branches ``clinics``: production and
    collections of this month so far against the same days of last month;
    visits today and the chair hours still free; plans presented and
    accepted this month; lost patients (of every running plan — the task
    book's count — linked to their list, where they are called back); tasks
    overdue per tab (of those due in the last 90 days)."""
    day = today()
    month = Scope(day.replace(day=1), day, tuple(clinics), True)
    last_month = Scope(add_months(month.first, -1), min(add_months(month.first, -1) + (day - month.first),
                                                         month.first - timedelta(days=1)), month.clinics, True)
    figures = []
    for definition, key in ((production, "amount"), (collections, "total")):
        now_report = definition(session, month, "month")
        before = definition(session, last_month, "month").totals
        column, shown, before_shown, change, direction = next(
            line for line in compare(now_report, before) if line[0].key == key)
        figures.append(Figure(now_report.title, shown, now_report.name, _report_url(now_report.name, month, "day"),
                              before_shown, change, direction))
    today_scope = Scope(day, day, month.clinics, True)
    chairs = load(session, today_scope, "branch").totals
    free = max(chairs["available"] - chairs["booked"], 0)
    figures.append(Figure(_l("Visits today"), display(chairs["visits"], "count"), "load",
                          _report_url("load", today_scope, "chair")))
    figures.append(Figure(_l("Free chair hours today"), display(free, "minutes"), "load",
                          _report_url("load", today_scope, "chair")))
    plans = conversion(session, month, "coordinator").totals
    figures.append(Figure(_l("Plans presented / accepted this month"),
                          f"{display(plans['presented'], 'count')} / {display(plans['accepted'], 'count')}",
                          "conversion", _report_url("conversion", month, "coordinator")))
    ever = Scope(EARLIEST_DATE, day, month.clinics, True)
    lost = lost_patients(session, ever, "stage").totals
    figures.append(Figure(_l("Lost patients"), display(lost["lost_patients"], "count"), "lost_patients",
                          url_for("lost_patients.index"),
                          detail=[(_l("Money left in their plans"), display(lost["money"], "money"))]))
    recent = Scope(day - timedelta(days=89), day, month.clinics, True)
    by_tab = tasks(session, recent, "tab")
    figures.append(Figure(_l("Overdue tasks"), display(by_tab.totals["overdue"], "count"), "tasks",
                          _report_url("tasks", recent, "tab"),
                          detail=[(row["label"], display(row["overdue"], "count"))
                                  for row in by_tab.rows if row["overdue"]]))
    return figures


def _report_url(name, scope, group_by):
    query = {"from": scope.first.isoformat(), "to": scope.last.isoformat(), "group_by": group_by}
    return url_for("reports.report", report_name=name, **query)

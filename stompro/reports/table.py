"""A report as every reader gets it: columns with a kind, rows, totals and
the chart to draw. Screens, exports and the API format the same values by
the column's kind, so a figure reads the same everywhere."""
from dataclasses import dataclass, field
from decimal import Decimal

from ..timefmt import format_money

KINDS = ("text", "count", "money", "percent", "minutes", "days")


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # a lazy string
    kind: str = "count"
    better: str = "up"  # which way is good news: "up", "down", or "" (neither)


@dataclass(frozen=True)
class Chart:
    """What to draw: ``series`` (column keys) over the rows' labels, as bars
    (stacked or side by side) or lines."""

    series: tuple
    kind: str = "bar"  # bar | line
    stacked: bool = False


@dataclass
class Report:
    name: str
    title: object
    group_by: str
    columns: list  # [Column]; the first is the row's label
    rows: list  # [dict]: column key → value
    totals: dict  # column key → value (the label column holds "Total")
    chart: Chart | None = None
    notes: list = field(default_factory=list)  # lazy strings shown under the table

    def column(self, key):
        return next(column for column in self.columns if column.key == key)


def ratio(part, whole):
    """``part`` ÷ ``whole`` as a percentage with one decimal, or None without a whole."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def money(value):
    return Decimal(value or 0).quantize(Decimal("0.01"))


def display(value, kind):
    """The value as the screen and the PDF show it."""
    if value is None:
        return "—"
    if kind == "money":
        return format_money(value)
    if kind == "percent":
        return f"{value}".replace(".", ",") + " %"
    if kind == "minutes":
        value = int(value)
        return f"{'-' if value < 0 else ''}{abs(value) // 60}:{abs(value) % 60:02d}"
    if kind == "days":
        return f"{value}".replace(".", ",")
    if kind == "count":
        return f"{value:,}".replace(",", " ")
    return str(value)


def plain(value, kind):
    """The value as the API and the CSV carry it: money as a string with two
    decimals, percentages and days as numbers, counts as integers."""
    if value is None:
        return None
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if kind in ("percent", "days"):
        return float(value)
    if kind in ("count", "minutes"):
        return int(value)
    return str(value)


def assemble(session, name, title, group_by, columns, values, totals, chart=None, sort_by=None, notes=()):
    """A Report from ``values`` ({group key: {column key: value}}): rows
    labelled for the reader, in time order for a time grouping, else by
    ``sort_by`` (largest first). Without a grouping, the totals alone (the
    home page's figures)."""
    from flask_babel import lazy_gettext as _l

    from .groups import GROUP_LABELS, TIME_GROUPS, label_of, labels

    if group_by is None:
        values = {}
    found = labels(session, group_by, values.keys())
    rows = [{"key": key, "label": label_of(found, key, group_by), **measures} for key, measures in values.items()]
    if group_by in TIME_GROUPS:
        rows.sort(key=lambda row: (row["key"] is None, str(row["key"]).zfill(10)))
    else:
        rows.sort(key=lambda row: (-(row.get(sort_by) or 0) if sort_by else 0, row["label"]))
    return Report(
        name=name, title=title, group_by=group_by,
        columns=[Column("label", GROUP_LABELS.get(group_by, _l("Total")), "text"), *columns],
        rows=rows, totals={"label": _l("Total"), **totals}, chart=chart, notes=list(notes),
    )


def compare(report, previous):
    """[(column, now as shown, before as shown, change as shown, news)]
    of the report's figures against ``previous`` (the totals of the period
    before): a percentage changes by points, anything else by per cent of
    what it was; news ("good", "bad", "") colours the change, after which
    way is good for the column."""
    from flask_babel import gettext as _

    lines = []
    for column in report.columns[1:]:
        now, before = report.totals.get(column.key), previous.get(column.key)
        change, direction = "", ""
        if now is not None and before is not None:
            delta = Decimal(now) - Decimal(before)
            if column.kind == "percent":
                change = _("%(sign)s%(points)s pp", sign="+" if delta > 0 else "", points=display(delta, "days"))
            elif before:
                share = (delta * 100 / abs(Decimal(before))).quantize(Decimal("0.1"))
                change = f"{'+' if share > 0 else ''}{display(share, 'days')} %"
            direction = "" if not delta or not column.better else (
                "good" if (delta > 0) == (column.better == "up") else "bad")
        lines.append((column, display(now, column.kind), display(before, column.kind), change, direction))
    return lines

"""A report's chart, drawn once for every reader: SVG for the screen
(``<img src="data:image/svg+xml;base64,...">``) and PNG for the PDF
(xhtml2pdf embeds it the same way).

matplotlib's object API only (``Figure``, no pyplot): nothing global is
created or kept, so web server threads may draw at the same time. The one
global setting is the SVG id salt, a constant, so that the same data gives
the same bytes. Text is set in DejaVu Sans (matplotlib ships it; it has
Cyrillic) and drawn as paths, so the SVG reads the same without the font.

What is drawn: ``report.chart.series`` (column keys) over the rows' labels
(the first column), as bars side by side, stacked bars or lines, the value
axis formatted by the first series' kind. A sequence in time (days,
months, hours…) keeps its order and stands upright, its labels turned when
they crowd; anything else (doctors, branches, services…) lies on its side
when it has many rows or long names, and only its largest rows are drawn,
with a note saying so.

The margins are measured here rather than by matplotlib's layout engines,
which draw the whole figure once more to find them: a chart renders in a
few tens of milliseconds."""
import base64
import math
from io import BytesIO

import matplotlib
from flask_babel import gettext as _
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.transforms import ScaledTranslation
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from PIL import Image

# The same data, the same SVG: ids (clip paths, glyphs) are hashed with this
# salt instead of a random one. A constant, so setting it globally is safe.
matplotlib.rcParams["svg.hashsalt"] = "stompro-report-chart"

FAMILY = "DejaVu Sans"
FONT = FontProperties(family=FAMILY, size=9)
SMALL = FontProperties(family=FAMILY, size=8)

# Bootstrap 4's colours: primary, secondary, info, success, warning, orange, purple, pink.
PALETTE = ("#007bff", "#6c757d", "#17a2b8", "#28a745", "#ffc107", "#fd7e14", "#6f42c1", "#e83e8c")
TEXT = "#212529"
MUTED = "#6c757d"
GRID = "#dee2e6"
AXIS = "#adb5bd"

# Row labels that follow one another in time: kept in order, drawn upright, never cut.
SEQUENCES = {"day", "week", "month", "quarter", "year", "weekday", "hour"}
MAX_BARS = 30  # a bar chart of anything else shows at most this many of its largest rows
MAX_UPRIGHT = 12  # more rows than this (of anything else) lie on their side…
LONG_LABEL = 14  # … as do labels longer than this
MAX_LABEL = 40  # a longer label is cut with "…"
MAX_TICKS = {"upright": 32, "lying": 40}  # more rows than this: every second (third…) one is labelled
LEGEND_COLUMNS = 6

WIDTH = 8.0  # inches: the screen scales the SVG to its card; the PDF prints it at this size
HEIGHT = 3.4
MAX_HEIGHT = 6.0  # a landscape A4 page holds the chart and the table's first rows
ROW_HEIGHT = 0.18  # inches a lying row takes
DPI = {"svg": 72, "png": 150}  # an SVG is drawn at 72 (its units are points)

# Margins, in points: around the figure, between a tick label and the axis, of a line of text.
EDGE = 6
TICK = 3 + 3.5 + 1
LABEL_GAP = 5
LINE = 12
THIN = "\u2009"  # the thousands separator on the axis
MINUS = "\u2212"


def render(report, fmt):
    """The chart of ``report`` as ``fmt`` ("svg" or "png") bytes; None when
    the report has no chart, or nothing but zeros to draw."""
    if fmt not in DPI:
        raise ValueError(f"unknown chart format {fmt!r}")
    chart = report.chart
    if chart is None or not chart.series or not any(row.get(key) for row in report.rows for key in chart.series):
        return None
    figure = _draw(report, chart)
    out = BytesIO()
    if fmt == "svg":
        figure.savefig(out, format="svg", metadata={"Date": None}, facecolor="white")
    else:  # drawn by Agg and saved by Pillow as RGB: a third quicker than savefig's RGBA
        canvas = FigureCanvasAgg(figure)
        figure.set_dpi(DPI["png"])
        canvas.draw()
        image = Image.frombuffer("RGBA", canvas.get_width_height(physical=True), canvas.buffer_rgba(),
                                 "raw", "RGBA", 0, 1)
        image.convert("RGB").save(out, format="png", compress_level=3)
    return out.getvalue()


def data_uri(report, fmt):
    """``render(report, fmt)`` as a ``data:`` URI for an ``<img src>``, or None."""
    image = render(report, fmt)
    return None if image is None else as_data_uri(image, fmt)


def as_data_uri(image, fmt):
    """Rendered ``image`` bytes of ``fmt`` as a ``data:`` URI."""
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def _draw(report, chart):
    series = [report.column(key) for key in chart.series]
    kind = series[0].kind
    line = chart.kind == "line"
    rows, note = list(report.rows), None
    if not line and report.group_by not in SEQUENCES and len(rows) > MAX_BARS:
        rows = _largest(rows, series, kind)
        note = _("The chart shows the %(shown)s largest of %(count)s rows.", shown=MAX_BARS, count=len(report.rows))
    label_key = report.columns[0].key
    labels = [_label(row.get(label_key)) for row in rows]
    lying = not line and report.group_by not in SEQUENCES and (
        len(rows) > MAX_UPRIGHT or max(map(len, labels)) > LONG_LABEL)
    values = [[_number(row.get(column.key), kind, gap=line) for row in rows] for column in series]

    height = min(max(HEIGHT, ROW_HEIGHT * len(rows) + 1.2), MAX_HEIGHT) if lying else HEIGHT
    figure = Figure(figsize=(WIDTH, height), facecolor="white")
    axes = figure.add_subplot()
    positions = range(len(rows))
    if line:
        for index, (column, points) in enumerate(zip(series, values)):
            axes.plot(positions, points, color=_colour(index), linewidth=1.6, label=str(column.label),
                      marker="o" if len(rows) <= 31 else None, markersize=3)
    else:
        _bars(axes, series, values, chart.stacked, lying)
    _style(axes, lying)

    value_axis, label_axis = (axes.xaxis, axes.yaxis) if lying else (axes.yaxis, axes.xaxis)
    low, high = _value_limits(values, chart.stacked and not line)
    value_ticks = [tick for tick in _locator(kind).tick_values(low, high) if low <= tick <= high]
    value_axis.set_major_locator(FixedLocator(value_ticks))
    value_axis.set_major_formatter(FuncFormatter(_formatter(kind)))
    (axes.set_xlim if lying else axes.set_ylim)(low, high)
    if low < 0:  # the zero line between gains and losses
        (axes.axvline if lying else axes.axhline)(0, color=AXIS, linewidth=0.8)
    if lying:
        axes.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top, as in the table
    else:
        axes.set_xlim(-0.5, len(rows) - 0.5)
    label_axis.set_ticks([])
    step = max(1, math.ceil(len(labels) / MAX_TICKS["lying" if lying else "upright"]))  # every one while they fit
    ticks = list(range(0, len(labels), step))

    legend = figure.legend(loc="upper left", bbox_to_anchor=(EDGE / 72 / WIDTH, 1 - EDGE / 72 / height),
                           ncols=min(len(series), LEGEND_COLUMNS), frameon=False, prop=FONT, borderaxespad=0,
                           borderpad=0, handlelength=1.2, labelcolor=TEXT)
    for text in legend.get_texts():
        text.set_parse_math(False)
    if note:
        figure.text(1 - EDGE / 72 / WIDTH, 1 - EDGE / 72 / height, note, ha="right", va="top",
                    fontproperties=SMALL, color=MUTED, parse_math=False)
    angle = _margins(figure, height, lying, [labels[i] for i in ticks],
                     [_formatter(kind)(tick, None) for tick in value_ticks], math.ceil(len(series) / LEGEND_COLUMNS))
    _row_labels(figure, axes, ticks, labels, lying, angle)
    return figure


def _largest(rows, series, kind):
    """The MAX_BARS rows with the largest figures, in the report's order."""
    size = {id(row): sum(abs(_number(row.get(column.key), kind)) for column in series) for row in rows}
    keep = {id(row) for row in sorted(rows, key=lambda row: -size[id(row)])[:MAX_BARS]}
    return [row for row in rows if id(row) in keep]


def _bars(axes, series, values, stacked, lying):
    """Bars as one collection per series (far quicker than a patch per bar)."""
    count = len(series)
    above = [0.0] * len(values[0])  # stacked: positive and negative parts pile up apart
    below = [0.0] * len(values[0])
    for index, (column, points) in enumerate(zip(series, values)):
        boxes = []
        for position, value in enumerate(points):
            if stacked:
                base = above[position] if value >= 0 else below[position]
                if value >= 0:
                    above[position] += value
                else:
                    below[position] += value
                start, thickness = position - 0.35, 0.7
            else:
                base, width = 0.0, 0.8 / count
                start, thickness = position - 0.4 + index * width + width * 0.04, width * 0.92
            box = ((start, base), (start, base + value), (start + thickness, base + value), (start + thickness, base))
            boxes.append([(y, x) for x, y in box] if lying else box)
        axes.add_collection(PolyCollection(boxes, facecolors=_colour(index), edgecolors="none", linewidths=0,
                                           label=str(column.label)), autolim=False)


def _style(axes, lying):
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(AXIS)
    axes.tick_params(colors=AXIS, labelcolor=TEXT, labelsize=FONT.get_size(), labelfontfamily=FAMILY, length=3)
    axes.set_axisbelow(True)
    axes.grid(True, axis="x" if lying else "y", color=GRID, linewidth=0.8)


def _row_labels(figure, axes, ticks, labels, lying, angle):
    """The rows' labels beside the axis: texts rather than ticks (a tick is
    five artists, and thirty of them take longer than the rest of the chart)."""
    if lying:
        transform = axes.get_yaxis_transform() + ScaledTranslation(-LABEL_GAP / 72, 0, figure.dpi_scale_trans)
        place = {"ha": "right", "va": "center"}
    else:
        transform = axes.get_xaxis_transform() + ScaledTranslation(0, -LABEL_GAP / 72, figure.dpi_scale_trans)
        place = {"ha": "center", "va": "top"} if not angle else \
            {"ha": "right", "va": "top" if angle == 45 else "center", "rotation": angle, "rotation_mode": "anchor"}
    for index in ticks:
        at = (0, index) if lying else (index, 0)
        axes.text(*at, labels[index], transform=transform, fontproperties=FONT, color=TEXT, parse_math=False,
                  **place)  # parse_math: a "$" in a name is a dollar, not TeX


def _margins(figure, height, lying, labels, value_labels, legend_rows):
    """Room for the labels and the legend, measured in points; the angle the
    rows' labels are turned by (0, 45 or 90) so that they do not run into each other."""
    width_pt, height_pt = WIDTH * 72, height * 72
    top = EDGE + legend_rows * LINE + 6
    label_width = _widest(labels)
    value_width = _widest(value_labels)
    angle = 0
    if lying:
        left = EDGE + LABEL_GAP + min(label_width, width_pt * 0.4)
        bottom = EDGE + TICK + LINE
        right = EDGE + value_width / 2
    else:
        left = EDGE + TICK + value_width
        right = EDGE + 4
        room = (width_pt - left - right) / max(len(labels), 1)  # for each label
        angle = 0 if label_width + 4 <= room else 45 if LINE * 1.5 <= room else 90
        turned = {0: LINE, 45: (label_width + LINE) * 0.71, 90: label_width + 2}[angle]
        bottom = EDGE + LABEL_GAP + min(turned, height_pt * 0.45)
    figure.subplots_adjust(left=left / width_pt, right=1 - right / width_pt,
                           bottom=bottom / height_pt, top=1 - top / height_pt)
    return angle


def _widest(texts):
    """The width in points of the widest of ``texts`` (the longest few are measured)."""
    longest = sorted(set(texts), key=len, reverse=True)[:5]
    return max((text_to_path.get_text_width_height_descent(text, FONT, ismath=False)[0] for text in longest),
               default=0.0)


def _value_limits(values, stacked):
    """The value axis's range: from zero (or below it) to a little above the largest figure."""
    if stacked:
        columns = list(zip(*values))
        numbers = [sum(v for v in column if v > 0) for column in columns] + \
                  [sum(v for v in column if v < 0) for column in columns]
    else:
        numbers = [value for points in values for value in points if not math.isnan(value)]
    low, high = min([0.0, *numbers]), max([0.0, *numbers])
    if low == high:
        high = 1.0
    room = (high - low) * 0.05
    return (low - room if low < 0 else low), (high + room if high > 0 else high)


def _locator(kind):
    if kind == "minutes":  # drawn in hours: ticks on whole hours, halves, quarters…
        return MaxNLocator(nbins=6, steps=[1, 2, 2.5, 3, 5, 6, 10], min_n_ticks=2)
    return MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=kind == "count", min_n_ticks=2)


def _formatter(kind):
    def money(value, _position):
        return _grouped(value, 2)

    def percent(value, _position):
        return _decimal(value, 1) + " %"

    def minutes(hours, _position):
        total = round(hours * 60)
        return f"{MINUS if total < 0 else ''}{abs(total) // 60}:{abs(total) % 60:02d}"

    def count(value, _position):
        return _grouped(value, 0)

    def days(value, _position):
        return _decimal(value, 1)

    return {"money": money, "percent": percent, "minutes": minutes, "count": count}.get(kind, days)


def _grouped(value, places):
    """12345.0 → "12 345" (a thin space); a fractional tick keeps its decimals, after a comma."""
    whole = abs(value - round(value)) < 1e-9
    text = f"{value:,.0f}" if whole else f"{value:,.{places}f}"
    return text.replace(",", THIN).replace(".", ",").replace("-", MINUS)


def _decimal(value, places):
    whole = abs(value - round(value)) < 1e-9
    text = f"{value:.0f}" if whole else f"{value:.{places}f}"
    return text.replace(".", ",").replace("-", MINUS)


def _number(value, kind, gap=False):
    """A figure as the axis draws it: minutes in hours, nothing as zero (or a gap in a line)."""
    if value is None:
        return math.nan if gap else 0.0
    number = float(value)
    return number / 60 if kind == "minutes" else number


def _label(value):
    text = "—" if value is None else " ".join(str(value).split())
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _colour(index):
    return PALETTE[index % len(PALETTE)]

"""A report as a file: CSV and XLSX for a spreadsheet, PDF for paper.

Every file carries the report's columns, its rows and its totals row. The
CSV follows the project's CSVs (``timeclock.sheet.sheet_csv``): UTF-8 with a
BOM, so that a spreadsheet reads Cyrillic, and ``;`` between cells, as
Russian spreadsheets expect; values as the API carries them
(``table.plain``). The XLSX keeps numbers as numbers, with a format by the
column's kind. The PDF prints the chart (the one the screen shows, as PNG)
over the table, values as the screen shows them (``table.display``).

A text cell of a spreadsheet that begins like a formula (= + - @, a tab, a
carriage return) is a name someone typed, not a formula: the CSV puts an
apostrophe in front of it; the XLSX stores it as a string (never a
formula), marked to stay text when edited."""
import csv
import re
import struct
from decimal import Decimal
from io import BytesIO, StringIO

from flask import render_template
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from ..db import utcnow
from ..pdf import render_pdf
from ..timefmt import to_local
from . import charts
from .table import compare, display, plain

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {"money": "#,##0.00", "percent": "0.0", "minutes": "[h]:mm", "count": "#,##0", "days": "0.0"}
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

# The chart on the page: at its own size (see charts.WIDTH), but never
# wider or taller than this, so that the table starts on the first page.
CHART_MAX_CM = (25.0, 12.0)


def csv_bytes(report):
    """The report as CSV bytes: the header (column labels), the rows and the totals row."""
    out = StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")  # as Russian spreadsheets expect
    writer.writerow([neutral(str(column.label)) for column in report.columns])
    for row in [*report.rows, report.totals]:
        writer.writerow([_csv_cell(row.get(column.key), column.kind) for column in report.columns])
    return out.getvalue().encode("utf-8")


def xlsx_bytes(report, scope_text=None):
    """The report as an .xlsx workbook: a title row (and ``scope_text`` when
    given), the header, the rows with native numbers and a bold totals row,
    then the report's notes."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(report))
    sheet.column_dimensions["A"].width = min(max([len(_text(row.get(report.columns[0].key)))
                                                  for row in report.rows] + [12]) + 2, 60)
    for index in range(2, len(report.columns) + 1):
        sheet.column_dimensions[_letter(index)].width = max(14, len(str(report.columns[index - 1].label)) + 2)
    sheet.freeze_panes = "B4" if scope_text else "B3"

    bold = Font(bold=True)
    sheet.append([_string_cell(sheet, str(report.title), font=Font(bold=True, size=13))])
    if scope_text:
        sheet.append([_string_cell(sheet, str(scope_text))])
    sheet.append([_string_cell(sheet, str(column.label), font=bold,
                               alignment=None if column.kind == "text" else Alignment(horizontal="right"))
                  for column in report.columns])
    for row in report.rows:
        sheet.append([_xlsx_cell(sheet, row.get(column.key), column.kind) for column in report.columns])
    sheet.append([_xlsx_cell(sheet, report.totals.get(column.key), column.kind, font=bold)
                  for column in report.columns])
    if report.notes:
        sheet.append([])
        for note in report.notes:
            sheet.append([_string_cell(sheet, str(note), font=Font(italic=True, color="6C757D"))])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def pdf_bytes(report, scope_text, previous=None):
    """The report on A4 landscape: the title, ``scope_text`` (the range and
    the branches), the comparison with ``previous`` (the previous period's
    totals) when given, the chart and the table with its totals row. In the
    current locale: a caller wanting the clinic's language forces it."""
    chart = charts.render(report, "png")
    return render_pdf(render_template(
        "reports/print.html", report=report, scope_text=scope_text,
        columns=report.columns,
        rows=[[display(row.get(column.key), column.kind) for column in report.columns] for row in report.rows],
        totals=[display(report.totals.get(column.key), column.kind) for column in report.columns],
        chart=charts.as_data_uri(chart, "png") if chart else None, chart_size=_chart_size(chart),
        previous=_previous_figures(report, previous) if previous is not None else None,
        printed=to_local(utcnow()).strftime("%d.%m.%Y %H:%M"),
    ))


def filename(report, scope, ext):
    """``production-by-month-2026-03-01-2026-03-31.csv`` (ASCII; a branch's
    id when one branch was chosen: ``…-2026-03-31-branch-2.csv``)."""
    name = re.sub(r"[^A-Za-z0-9_]+", "-", f"{report.name}-by-{report.group_by}" if report.group_by else report.name)
    name = name.strip("-") or "report"
    branches = "" if scope.network else "-branch-" + "-".join(str(clinic_id) for clinic_id in scope.clinic_ids)
    extension = re.sub(r"[^A-Za-z0-9]+", "", str(ext)).lower()
    return f"{name}-{scope.first.isoformat()}-{scope.last.isoformat()}{branches}.{extension}"


def neutral(text):
    """A text cell that a spreadsheet would take for a formula, with an apostrophe in front."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def sheet_title(report):
    """The report's title as a sheet's name: at most 31 characters, none of []:*?/\\."""
    title = SHEET_TITLE_FORBIDDEN.sub(" ", str(report.title))
    title = " ".join(title.split())[:31].strip().strip("'").strip()
    return title or report.name[:31] or "Sheet1"


def _csv_cell(value, kind):
    """As a spreadsheet set to Russian reads a ``;``-separated file: a
    decimal comma, no thousands separator; time as h:mm, as on the screen."""
    if kind == "minutes" and value is not None:
        return display(value, kind)
    value = plain(value, kind)
    if value is None:
        return ""
    if kind == "text":
        return neutral(value)
    return str(value).replace(".", ",")


def _xlsx_cell(sheet, value, kind, font=None):
    if kind == "text" and value is not None:
        return _string_cell(sheet, _text(value), font=font)
    cell = WriteOnlyCell(sheet, value=None if value is None else _native(value, kind))
    if value is not None:
        cell.number_format = NUMBER_FORMATS.get(kind, "General")
    if font is not None:
        cell.font = font
    return cell


def _native(value, kind):
    """Money stays a Decimal (openpyxl writes it exactly); time is a
    spreadsheet duration (days), shown as h:mm; the rest as the API carries it."""
    if kind == "minutes":
        return int(value) / 1440
    return Decimal(value) if kind == "money" else plain(value, kind)


def _string_cell(sheet, text, font=None, alignment=None):
    """A cell holding ``text`` as a string, whatever it begins with: openpyxl
    would store "=…" as a formula; ``quotePrefix`` keeps it text when edited."""
    cell = WriteOnlyCell(sheet, value=text)
    if cell.data_type != "s":
        cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _text(value):
    return "" if value is None else str(value)


def _letter(index):
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _chart_size(png):
    """(width, height) in cm of the chart on the page: its own size
    (charts.DPI["png"] pixels an inch), scaled down to fit CHART_MAX_CM."""
    if not png:
        return None
    width, height = struct.unpack(">II", png[16:24])  # the PNG's IHDR
    dpi = charts.DPI["png"]
    width_cm, height_cm = width / dpi * 2.54, height / dpi * 2.54
    scale = min(1.0, CHART_MAX_CM[0] / width_cm, CHART_MAX_CM[1] / height_cm)
    return round(width_cm * scale, 2), round(height_cm * scale, 2)


def _previous_figures(report, previous):
    """"Visits 120 (+5,3 %) · Amount 1 234,50 (−2,0 %)": the previous
    period's figures and how this period's differ from them."""
    figures = []
    for column, _now, before, change, _direction in compare(report, previous):
        if previous.get(column.key) is None:
            continue
        now = _("now %(change)s", change=change) if change else ""
        figures.append(f"{column.label} {before} ({now})" if now else f"{column.label} {before}")
    return " · ".join(figures)

"""A report as files: the CSV and the XLSX read back with the same numbers
and the formula-looking name kept as text, the PDF's text with the figures
as the screen shows them (in the reader's language), and the chart drawn as
SVG and PNG, the same bytes for the same data."""
import csv
import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pypdf
import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from stompro.reports import charts, exports
from stompro.reports.scope import Scope
from stompro.reports.table import Chart, Column, Report

FORMULA = "=SUM(A1)"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def build_report(rows=None, chart=Chart(("amount", "visits")), group_by="doctor"):
    columns = [
        Column("doctor", _l("Doctor"), "text"),
        Column("visits", _l("Visits"), "count"),
        Column("amount", _l("Amount"), "money"),
        Column("share", "Share", "percent"),
        Column("minutes", _l("Duration"), "minutes"),
    ]
    if rows is None:
        rows = [
            {"doctor": FORMULA, "visits": 12, "amount": Decimal("1234.50"), "share": Decimal("12.5"), "minutes": 95},
            {"doctor": "Петрова Анна", "visits": 3, "amount": Decimal("-250.00"), "share": None, "minutes": 30},
        ]
    totals = {"doctor": _l("Total"), "visits": 15, "amount": Decimal("984.50"), "share": Decimal("10.0"),
              "minutes": 125}
    return Report("doctor-visits", _l("Visits"), group_by, columns, rows, totals, chart)


@pytest.fixture
def en(app):
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def ru(app):
    with app.test_request_context(), force_locale("ru"):
        yield


def pdf_text(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\xa0", " ").split())


def test_the_csv_reads_back_with_the_same_figures_and_the_formula_as_text(en):
    body = exports.csv_bytes(build_report())
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM, so that a spreadsheet reads UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Doctor", "Visits", "Amount", "Share", "Duration"],
        ["'=SUM(A1)", "12", "1234,50", "12,5", "1:35"],  # a decimal comma; time as h:mm, as on screen
        ["Петрова Анна", "3", "-250,00", "", "0:30"],  # a negative amount stays a number
        ["Total", "15", "984,50", "10,0", "2:05"],
    ]


def test_the_csv_header_is_in_the_readers_language(ru):
    body = exports.csv_bytes(build_report()).decode("utf-8-sig")
    header, *_rows, totals = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert header[:3] == ["Врач", "Визиты", "Сумма"] and totals[0] == "Итого"


@pytest.mark.parametrize("text", ["=1+1", "+7 916", "-Ivanov", "@cmd", "\tname", "\rname"])
def test_a_text_cell_that_begins_like_a_formula_is_neutralised(en, text):
    rows = [{"doctor": text, "visits": -1, "amount": Decimal("-1.00"), "share": None, "minutes": None}]
    body = exports.csv_bytes(build_report(rows)).decode("utf-8-sig")
    row = list(csv.reader(io.StringIO(body), delimiter=";"))[1]
    assert row[:3] == ["'" + text, "-1", "-1,00"]
    assert exports.neutral("Иванов") == "Иванов"


def test_the_xlsx_keeps_numbers_as_numbers_and_the_formula_as_a_string(en):
    body = exports.xlsx_bytes(build_report())
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet.title == "Visits"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Visits"
    assert values[1] == ["Doctor", "Visits", "Amount", "Share", "Duration"]
    first, second, totals = (list(row) for row in sheet.iter_rows(min_row=3, max_row=5))
    assert first[0].value == FORMULA and first[0].data_type == "s"  # not a formula
    assert [cell.value for cell in first[1:]] == [12, 1234.5, 12.5, timedelta(minutes=95)]  # a duration, read back as one
    assert all(cell.data_type == "n" for cell in first[1:4])
    assert [cell.number_format for cell in first[1:]] == ["#,##0", "#,##0.00", "0.0", "[h]:mm"]
    assert second[2].value == -250 and second[2].data_type == "n" and second[3].value is None
    assert [cell.value for cell in totals] == ["Total", 15, 984.5, 10.0, timedelta(minutes=125)]
    assert all(cell.font.b for cell in totals)
    raw = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in raw and "<f " not in raw


def test_the_sheet_is_named_by_the_title_within_excels_rules(en):
    report = build_report()
    report.title = "Выручка: врачи/услуги [март] * итоги? и ещё очень длинный хвост"
    title = exports.sheet_title(report)
    assert len(title) <= 31 and not set(title) & set("[]:*?/\\")
    sheet = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(report))).active
    assert sheet.title == title


def test_the_pdf_prints_the_title_the_scope_and_the_figures_as_on_screen(en):
    previous = {"doctor": "Total", "visits": 10, "amount": Decimal("1000.00"), "share": Decimal("8.0"),
                "minutes": None}
    pdf = exports.pdf_bytes(build_report(), "1–31 March 2026 · all branches", previous)
    assert pdf.startswith(b"%PDF")
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # the chart
    text = pdf_text(pdf)
    assert "Visits" in text and "1–31 March 2026 · all branches" in text
    for figure in ("1 234,50", "-250,00", "12,5 %", "1:35", "984,50", "2:05", "Total", FORMULA, "Петрова Анна"):
        assert figure in text, figure
    assert "Previous period: Visits 10" in text and "Amount 1 000,00" in text


def test_the_pdf_is_in_the_readers_language(ru):
    text = pdf_text(exports.pdf_bytes(build_report(), "01.03.2026–31.03.2026 · все филиалы"))
    assert "Визиты" in text and "Итого" in text and "Врач" in text and "все филиалы" in text
    assert "1 234,50" in text


def test_a_report_with_many_rows_prints_on_several_pages(en):
    rows = [{"doctor": f"Врач {n}", "visits": n, "amount": Decimal(n * 100), "share": None, "minutes": n}
            for n in range(60)]
    reader = pypdf.PdfReader(io.BytesIO(exports.pdf_bytes(build_report(rows), "scope")))
    assert len(reader.pages) >= 2
    assert "Врач 59" in pdf_text(exports.pdf_bytes(build_report(rows), "scope"))


def test_the_chart_renders_as_svg_and_png_the_same_for_the_same_data(en):
    report = build_report()
    svg, png = charts.render(report, "svg"), charts.render(report, "png")
    assert b"<svg" in svg and png.startswith(PNG_SIGNATURE)
    assert charts.render(build_report(), "svg") == svg and charts.render(build_report(), "png") == png
    assert charts.data_uri(report, "svg").startswith("data:image/svg+xml;base64,")
    assert charts.data_uri(report, "png").startswith("data:image/png;base64,")


@pytest.mark.parametrize("chart, group_by, count", [
    (Chart(("amount",), "line"), "day", 31),
    (Chart(("visits", "minutes"), "bar", stacked=True), "doctor", 60),
    (Chart(("share",)), "weekday", 7),
])
def test_charts_of_many_kinds_and_sizes_render(en, chart, group_by, count):
    rows = [{"doctor": f"Doctor with a long name $5 {n}", "visits": n % 7, "amount": Decimal(n * 1000 - 5000),
             "share": Decimal(n % 10), "minutes": n * 13 if n % 5 else None} for n in range(count)]
    report = build_report(rows, chart, group_by)
    assert b"<svg" in charts.render(report, "svg")
    assert charts.render(report, "png").startswith(PNG_SIGNATURE)


def test_there_is_no_chart_without_rows_or_without_a_chart(en):
    assert charts.render(build_report(rows=[]), "svg") is None
    assert charts.data_uri(build_report(rows=[]), "png") is None
    assert charts.render(build_report(chart=None), "png") is None
    empty = pypdf.PdfReader(io.BytesIO(exports.pdf_bytes(build_report(rows=[]), "scope")))
    assert not empty.pages[0].images
    assert "Nothing in this range." in empty.pages[0].extract_text()


def test_the_file_name_is_ascii_and_names_the_range():
    network = Scope(date(2026, 3, 1), date(2026, 3, 31))
    report = SimpleNamespace(name="production", group_by="month")
    assert exports.filename(report, network, "csv") == "production-by-month-2026-03-01-2026-03-31.csv"
    branch = Scope(date(2026, 3, 1), date(2026, 3, 31), (SimpleNamespace(id=2),), network=False)
    assert exports.filename(report, branch, "pdf") == "production-by-month-2026-03-01-2026-03-31-branch-2.pdf"
    assert exports.filename(SimpleNamespace(name="выручка/врачи", group_by="врач"), network, ".xlsx").isascii()

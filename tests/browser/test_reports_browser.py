"""The owner's figures in a real headless Chromium, in Russian and then in
English: the figure cards on the home page, the production card opens its
report with its chart, a range, a branch and a grouping chosen in the form
change the table, and the CSV export downloads the same figures. In
Russian, the words the owner reads are the catalog's Russian ones."""
import csv
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.models import Clinic
from stompro.reports.registry import REPORTS
from stompro.reports.scope import add_months, make_scope, this_month, today
from stompro.reports.table import display, plain

from .conftest import sign_in

pytestmark = pytest.mark.browser

PO = Path(__file__).resolve().parents[2] / "stompro" / "translations" / "ru" / "LC_MESSAGES" / "messages.po"
FIGURES = ("production", "collections", "load", "conversion", "lost_patients", "tasks")
CENTER, SOUTH = "StomPRO Центр", "StomPRO Юг"
# What the owner reads on the home page and the production report, by where it is.
HOME_WORDS = ("Production this month", "Collections this month", "Visits today", "Free chair time today, h:mm",
              "Plans presented / accepted this month", "Lost patients", "Overdue tasks (due in the last 90 days)",
              "All reports")
FORM_WORDS = ("From", "To", "Branch", "Group by")
TABLE_WORDS = ("Branch", "Production", "Services", "Invoices", "Average invoice", "Total")
PAGE_WORDS = ("Show", "All branches", "All reports", "This month", "Last month", "This period", "Period before",
              "Change")


@pytest.fixture(scope="module")
def russian():
    """{English msgid: its Russian} of the catalog the other screens are translated with."""
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="ru")
    return {message.id: message.string for message in catalog
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy}


def words(texts, language, russian, missing):
    """``texts`` as the page should show them in ``language``; a msgid without
    its Russian is noted in ``missing`` (and expected in Russian all the same)."""
    if language == "en":
        return list(texts)
    for text in texts:
        if text not in russian:
            missing.add(text)
    return [russian.get(text, f"<no Russian for {text!r}>") for text in texts]


def demo_range(app):
    """Six months to the end of this month: the demo's history."""
    with app.app_context():
        first, last = this_month(today())
    return add_months(first, -5), last


def computed(app, name, first, last, group_by, clinic_id, language):
    """[[cell as shown]] of the rows and the totals, and [[cell as the CSV has it]]."""
    with app.app_context(), force_locale(language):
        scope = make_scope(db.session, first, last, clinic_id)
        report = REPORTS[name].compute(db.session, scope, group_by)
        columns = report.columns
        shown = [[display(row[column.key], column.kind) for column in columns] for row in report.rows]
        totals = [display(report.totals[column.key], column.kind) for column in columns]
        as_csv = [["" if plain(row.get(column.key), column.kind) is None
                   else str(plain(row.get(column.key), column.kind)).replace(".", ",")  # a decimal comma
                   for column in columns] for row in [*report.rows, report.totals]]
        return shown, totals, as_csv


def table(page):
    """(header, rows, totals) of #report-table as shown."""
    cells = lambda row: [cell.strip() for cell in row.locator("th, td").all_inner_texts()]  # noqa: E731
    header = cells(page.locator("#report-table thead tr"))
    rows = [cells(row) for row in page.locator("#report-table tbody tr").all()]
    totals = cells(page.locator("#report-table tfoot tr"))
    return header, rows, totals


def chart_is_drawn(page):
    page.wait_for_function(
        "() => { const img = document.querySelector('img[data-chart]');"
        " return img && img.complete && img.naturalWidth > 0; }")
    chart = page.locator("img[data-chart]")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 0


def show(page, first, last, clinic_id, group_by):
    """Choose in the report's form as a person does, and press Show."""
    page.fill("#from", first.isoformat())
    page.fill("#to", last.isoformat())
    page.select_option("#clinic_id", str(clinic_id or ""))
    page.select_option("#group_by", group_by)
    with page.expect_navigation():
        page.locator("#report-form button[type=submit]").click()
    expect(page.locator("#report-table")).to_be_visible()
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_owner_reads_production_by_branch_and_exports_it(app, page, live_server, screenshot, russian, language):
    missing = set()
    with app.app_context():
        south_id = db.session.execute(select(Clinic.id).filter_by(name=SOUTH)).scalar_one()
    sign_in(page, live_server, "owner", language=language)

    # the home page: the figure cards
    page.goto(f"{live_server}/admin/")
    for figure in FIGURES:
        expect(page.locator(f'[data-figure="{figure}"]').first).to_be_visible()
    cards = " ".join(page.locator("[data-owner-figures]").all_inner_texts()) + page.inner_text("body")
    home_expected = words(HOME_WORDS, language, russian, missing)
    screenshot("home")

    # the production card: this month so far by day, with its chart
    with page.expect_navigation():
        page.locator('[data-figure="production"]').click()
    assert page.url.startswith(f"{live_server}/admin/reports/production?")
    assert "group_by=day" in page.url
    expect(page.locator("#report-table")).to_be_visible()  # its chart, once the month has production (below)
    screenshot("from-the-card")

    # a range, one branch and the grouping by branch: that branch's one row
    first, last = demo_range(app)
    show(page, first, last, south_id, "branch")
    assert f"clinic_id={south_id}" in page.url and "group_by=branch" in page.url
    assert page.input_value("#from") == first.isoformat() and page.input_value("#to") == last.isoformat()
    header, rows, totals = table(page)
    south_rows, south_totals, _ = computed(app, "production", first, last, "branch", south_id, language)
    assert [row[0] for row in rows] == [SOUTH]
    assert rows == south_rows and totals == south_totals
    chart_is_drawn(page)
    screenshot("south")

    # the whole network by branch: both branches, larger totals
    show(page, first, last, None, "branch")
    header, rows, network_totals = table(page)
    network_rows, expected_totals, as_csv = computed(app, "production", first, last, "branch", None, language)
    assert sorted(row[0] for row in rows) == sorted([CENTER, SOUTH])
    assert rows == network_rows and network_totals == expected_totals
    assert network_totals != totals
    chart_is_drawn(page)
    screenshot("network")

    # then by doctor
    show(page, first, last, None, "doctor")
    doctor_rows, _, _ = computed(app, "production", first, last, "doctor", None, language)
    assert table(page)[1] == doctor_rows and len(doctor_rows) > 2
    show(page, first, last, None, "branch")

    # the CSV of what is shown
    with page.expect_download() as download:
        page.locator('[data-export="CSV"]').click()
    file = download.value
    assert file.suggested_filename == f"production-by-branch-{first.isoformat()}-{last.isoformat()}.csv"
    lines = list(csv.reader(StringIO(Path(file.path()).read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == header
    assert lines[1:] == as_csv

    # the words the owner read, in the page's language
    expected_header = words(("Branch", "Production", "Services", "Invoices", "Average invoice"), language, russian,
                            missing)
    labels = [label.strip() for label in page.locator("#report-form label").all_inner_texts()]
    form_expected = words(FORM_WORDS, language, russian, missing)
    page_expected = words(PAGE_WORDS, language, russian, missing)
    total_expected = words(("Total",), language, russian, missing)
    body = page.inner_text("body")
    problems = []
    if header != expected_header:
        problems.append(f"table header {header} != {expected_header}")
    if network_totals[0] != total_expected[0]:
        problems.append(f"totals label {network_totals[0]!r} != {total_expected[0]!r}")
    if labels != form_expected:
        problems.append(f"form labels {labels} != {form_expected}")
    problems += [f"{text!r} not on the report page" for text in page_expected if text not in body]
    problems += [f"{text!r} not on the home page" for text in home_expected if text not in cards]
    if language == "ru":
        left = [text for text in (*TABLE_WORDS, *FORM_WORDS, *PAGE_WORDS) if len(text) > 2 and f" {text} " in
                f" {' '.join(body.split())} "]
        problems += [f"English left on the Russian page: {text!r}" for text in left]
    assert not problems and not missing, "\n".join([*problems, f"msgids without Russian: {sorted(missing)}"])


def test_the_range_shortcuts_keep_the_branch(app, page, live_server, screenshot):
    with app.app_context():
        center_id = db.session.execute(select(Clinic.id).filter_by(name=CENTER)).scalar_one()
    sign_in(page, live_server, "owner", language="en")
    with app.app_context():
        first, last = this_month(today())
    page.goto(f"{live_server}/admin/reports/collections?clinic_id={center_id}&group_by=method")
    with page.expect_navigation():
        page.locator("p.small a").nth(1).click()  # last month
    before_first, before_last = this_month(first - timedelta(days=1))
    assert page.input_value("#from") == before_first.isoformat()
    assert page.input_value("#to") == before_last.isoformat()
    assert page.input_value("#clinic_id") == str(center_id) and page.input_value("#group_by") == "method"
    rows, totals, _ = computed(app, "collections", before_first, before_last, "method", center_id, "en")
    assert table(page)[1:] == (rows, totals)
    chart_is_drawn(page)
    screenshot("last-month")

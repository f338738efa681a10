"""The owner's report screens, exports and API on the demo database: every
report in both languages and every grouping, the figures on the screen and
in the files against what the report's definition computes, the branch
choice, bad input, who may read them, and the owner's (and the others')
home page."""
import csv
import html
import re
from datetime import timedelta
from decimal import Decimal
from io import BytesIO, StringIO
from urllib.parse import urlencode

import lxml.html
import pytest
import yaml
from flask import g
from flask_babel import force_locale
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from stompro.api.auth import issue_token
from stompro.extensions import db
from stompro.org.branches import clinic_ids_of, works_network_wide
from stompro.org.models import Clinic
from stompro.patients.models import Patient
from stompro.planning.models import TreatmentPlan
from stompro.reports.registry import REPORTS
from stompro.tasks.lost import count_lost_patients
from stompro.reports.scope import MAX_DAYS, add_months, make_scope, this_month, today
from stompro.reports.table import display, plain
from stompro.settings import PROJECT_ROOT

from ..conftest import CENTER, SOUTH, DEMO_LOGIN_BY_ROLE, clinic, staff_by_login

OTHER_ROLES = ("administrator", "cashier", "doctor", "coordinator", "call_center")
MONEY = re.compile(r"^-?\d+\.\d{2}$")
FIGURES = ("production", "collections", "load", "conversion", "lost_patients", "tasks")


# -- helpers ------------------------------------------------------------------------


def demo_range():
    """Six months to the end of this month: the demo's history of visits and
    money (seeded relative to today, two months back) and patients registered
    90 days ago and earlier, in one range."""
    first, last = this_month(today())
    return add_months(first, -5), last


def last_month():
    first, _ = this_month(today())
    return this_month(first - timedelta(days=1))


def query(first, last, **more):
    return urlencode({"from": first.isoformat(), "to": last.isoformat(),
                      **{key: value for key, value in more.items() if value is not None}})


def computed(name, first, last, group_by, clinic_id=None, language="en"):
    """What the report's definition computes (in ``language``, for the labels),
    as the screen would: within this test's transaction, outside a request."""
    for cached in list(vars(g)):  # forget what the last request cached (its locale, its person)
        g.pop(cached)
    with force_locale(language):
        scope = make_scope(db.session, first, last, clinic_id)
        report = REPORTS[name].compute(db.session, scope, group_by)
        shown_rows = [[display(row[column.key], column.kind) for column in report.columns] for row in report.rows]
        shown_totals = [display(report.totals[column.key], column.kind) for column in report.columns]
        labels = [str(column.label) for column in report.columns]
    return report, labels, shown_rows, shown_totals


def report_table(page):
    """(header, rows, totals) of the page's #report-table as the reader sees them."""
    tree = lxml.html.fromstring(page)
    [table] = tree.xpath('//table[@id="report-table"]')
    cells = lambda row: [cell.text_content().strip() for cell in row.xpath("./td|./th")]  # noqa: E731
    header = cells(table.xpath("./thead/tr")[0])
    rows = [cells(row) for row in table.xpath("./tbody/tr")]
    [totals] = [cells(row) for row in table.xpath("./tfoot/tr")]
    return header, rows, totals


def charts(page):
    return lxml.html.fromstring(page).xpath("//img[@data-chart]")


def flashes(page):
    return [" ".join(alert.text_content().replace("×", " ").split())
            for alert in lxml.html.fromstring(page).xpath('//div[contains(@class, "alert-danger")]')]


def amount(shown):
    """"1 714 470,00" → Decimal("1714470.00")."""
    return Decimal(shown.replace(" ", "").replace("\u00a0", "").replace(",", "."))


def token_of(role, language="en"):
    staff = staff_by_login(DEMO_LOGIN_BY_ROLE[role])
    staff.language = language
    db.session.commit()
    return {"Authorization": f"Bearer {issue_token(staff)}"}


@pytest.fixture
def owner_api(client):
    """GET the API as the demo owner (a token signed directly, as tests/api does)."""
    headers = token_of("owner")
    return lambda url: client.get(url, headers=headers)


# -- every report, both languages, every grouping --------------------------------------


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_page_shows_its_chart_and_the_definitions_figures(client, auth, name):
    """In English and Russian, every grouping of the network; in English
    every grouping of one branch too."""
    definition = REPORTS[name]
    first, last = demo_range()
    south = clinic(SOUTH).id
    for language, branches in (("en", (None, south)), ("ru", (None,))):
        auth.as_role("owner", language)
        for group_by in definition.groups:
            for branch in branches:
                url = f"/admin/reports/{name}?{query(first, last, clinic_id=branch, group_by=group_by)}"
                response = client.get(url)
                assert response.status_code == 200, url
                page = response.get_data(as_text=True)
                assert flashes(page) == [], url
                report, labels, rows, totals = computed(name, first, last, group_by, branch, language)
                header, shown_rows, shown_totals = report_table(page)
                assert header == labels, url
                assert shown_totals == totals, url
                if rows:
                    assert shown_rows == rows, url
                    drawn = [row[key] for row in report.rows for key in report.chart.series if row.get(key)]
                    if drawn:  # nothing but zeros draws no chart
                        [chart] = charts(page)
                        assert chart.get("src").startswith("data:image/svg+xml;base64,"), url
                    else:
                        assert charts(page) == [], url
                else:
                    assert len(shown_rows) == 1 and len(shown_rows[0]) == 1, url  # "Nothing in this range."
                    assert charts(page) == [], url
                tree = lxml.html.fromstring(page)
                assert tree.xpath('//select[@id="group_by"]/option[@selected]/@value') == [group_by], url
                # the comparison with the period before: this period's figures are the totals
                comparison = [[cell.text_content().strip() for cell in row.xpath("./td")]
                              for row in tree.xpath('//table[@data-comparison]/tbody/tr')]
                assert [tuple(line[:2]) for line in comparison] == list(zip(labels[1:], totals[1:])), url


def test_the_demo_range_has_rows_for_every_report(app):
    """So that the page test above sees charts and rows, not only empty tables."""
    first, last = demo_range()
    for name, definition in REPORTS.items():
        report, *_ = computed(name, first, last, definition.default_group)
        assert report.rows, name


def test_a_report_pages_links_keep_its_choice_and_answer(client, auth):
    """The quick ranges, the other reports and the exports of a page with a
    branch and a grouping chosen."""
    auth.as_role("owner")
    first, last = demo_range()
    center = clinic(CENTER).id
    page = client.get(f"/admin/reports/collections?{query(first, last, clinic_id=center, group_by='method')}")
    tree = lxml.html.fromstring(page.get_data(as_text=True))
    exports = {link.get("data-export"): html.unescape(link.get("href")) for link in tree.xpath("//a[@data-export]")}
    assert set(exports) == {"CSV", "XLSX", "PDF"}
    types = {"CSV": "text/csv", "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "PDF": "application/pdf"}
    for label, href in exports.items():
        assert f"from={first.isoformat()}" in href and f"clinic_id={center}" in href and "group_by=method" in href
        response = client.get(href)
        assert response.status_code == 200 and response.mimetype == types[label], href
        assert f"-branch-{center}." in response.headers["Content-Disposition"], href
    links = {html.unescape(href) for href in tree.xpath('//a[starts-with(@href, "/admin/reports/")]/@href')}
    links -= {"/admin/reports/", *exports.values()}  # the menu's entry, the files
    assert len(links) >= len(REPORTS) - 1 + 4 + 1  # the other reports, the quick ranges, all reports
    for href in links:
        assert f"clinic_id={center}" in href, f"the branch is lost: {href}"
        response = client.get(href)
        assert response.status_code == 200, href
        assert flashes(response.get_data(as_text=True)) == [], href


def test_the_report_index_lists_every_report(client, auth):
    auth.as_role("owner")
    page = client.get("/admin/reports/").get_data(as_text=True)
    for name, definition in REPORTS.items():
        assert f"/admin/reports/{name}?" in page and html.escape(str(definition.title)) in page


# -- the branch choice -----------------------------------------------------------------


@pytest.mark.parametrize("name, key", [("production", "amount"), ("collections", "total")])
def test_a_branch_choice_shows_that_branchs_figures(client, auth, owner_api, name, key):
    auth.as_role("owner")
    first, last = demo_range()
    column = [column.key for column in computed(name, first, last, "branch")[0].columns].index(key)
    shown = {}
    for branch in (None, clinic(CENTER).id, clinic(SOUTH).id):
        page = client.get(f"/admin/reports/{name}?{query(first, last, clinic_id=branch, group_by='branch')}")
        assert page.status_code == 200
        page = page.get_data(as_text=True)
        assert flashes(page) == []
        _, rows, totals = report_table(page)
        assert totals == computed(name, first, last, "branch", clinic_id=branch)[3]
        shown[branch] = amount(totals[column])
        names = [row[0] for row in rows]
        if branch is None:
            assert sorted(names) == sorted([CENTER, SOUTH])
        else:
            assert names == [db.session.get(Clinic, branch).name]
            chosen = lxml.html.fromstring(page).xpath('//select[@id="clinic_id"]/option[@selected]/@value')
            assert chosen == [str(branch)]
    network, center, south = shown[None], shown[clinic(CENTER).id], shown[clinic(SOUTH).id]
    assert 0 < center <= network and 0 < south <= network
    assert center + south == network
    # the API says the same
    api = {branch: owner_api(f"/api/v1/reports/{name}?{query(first, last, clinic_id=branch)}").get_json()
           for branch in (None, clinic(CENTER).id, clinic(SOUTH).id)}
    assert api[clinic(CENTER).id]["clinic_id"] == clinic(CENTER).id and api[None]["clinic_id"] is None
    assert Decimal(api[None]["totals"][key]) == network
    assert Decimal(api[clinic(CENTER).id]["totals"][key]) == center
    assert Decimal(api[clinic(SOUTH).id]["totals"][key]) == south


def test_every_report_adds_up_over_the_branches_where_it_should(app):
    """Counted things (not shares) of the two demo branches add up to the network's."""
    first, last = demo_range()
    center, south = clinic(CENTER).id, clinic(SOUTH).id
    for name, keys in (("production", ("amount", "services", "invoices")),
                       ("collections", ("patient", "insurance", "refunds", "total", "payments"))):
        network = computed(name, first, last, "month")[0].totals
        one = computed(name, first, last, "month", clinic_id=center)[0].totals
        other = computed(name, first, last, "month", clinic_id=south)[0].totals
        for key in keys:
            assert one[key] + other[key] == network[key], (name, key)


# -- bad input -------------------------------------------------------------------------


def bad_queries():
    return [
        ("from=2026-13-01", "First day: Give the day as YYYY-MM-DD."),
        ("from=2026-03-10&to=2026-03-01", "Last day: The range ends before it starts."),
        ("to=31.03.2026", "Last day: Give the day as YYYY-MM-DD."),
        ("clinic_id=999999", "Branch: There is no such branch."),
        ("clinic_id=abc", "Branch: There is no such branch."),
        ("group_by=planet", "Group by: this report has no such grouping."),
        ("from=2025-01-01&to=2026-03-01", f"Last day: A report covers at most {MAX_DAYS} days."),
    ]


@pytest.mark.parametrize("bad, message", bad_queries())
def test_bad_input_is_said_in_a_flash_message_naming_the_field(client, auth, bad, message):
    auth.as_role("owner")
    first, last = this_month(today())
    for name in ("production", "collections"):
        response = client.get(f"/admin/reports/{name}?{bad}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert flashes(page) == [message]
        tree = lxml.html.fromstring(page)
        if "group_by" in bad:
            assert tree.xpath('//select[@id="group_by"]/option[@selected]/@value') == [REPORTS[name].default_group]
        else:  # this month of the network instead
            assert tree.xpath('//input[@id="from"]/@value') == [first.isoformat()]
            assert tree.xpath('//input[@id="to"]/@value') == [last.isoformat()]
            assert tree.xpath('//select[@id="clinic_id"]/option[@selected]/@value') == []
        assert tree.xpath('//table[@id="report-table"]')
    for extension in ("csv", "xlsx", "pdf"):  # a file of this month, never a 500
        assert client.get(f"/admin/reports/production/export.{extension}?{bad}").status_code == 200
    client.get("/admin/reports/")  # the exports' flash messages are shown (and used up) here


def test_a_range_of_exactly_the_longest_is_accepted(client, auth):
    auth.as_role("owner")
    last = today()
    first = last - timedelta(days=MAX_DAYS - 1)
    page = client.get(f"/admin/reports/production?{query(first, last)}").get_data(as_text=True)
    assert flashes(page) == []
    assert lxml.html.fromstring(page).xpath('//input[@id="from"]/@value') == [first.isoformat()]
    page = client.get(f"/admin/reports/production?{query(first - timedelta(days=1), last)}").get_data(as_text=True)
    assert flashes(page) == [f"Last day: A report covers at most {MAX_DAYS} days."]


def test_bad_input_in_russian_names_the_field_in_russian(client, auth):
    auth.as_role("owner", "ru")
    page = client.get("/admin/reports/production?from=2026-13-01").get_data(as_text=True)
    [message] = flashes(page)
    assert message.startswith("Первый день: ")  # "First day" in Russian


@pytest.mark.parametrize("bad", ["from=0001-01-01&to=0001-01-31", "from=9999-12-01&to=9999-12-31"])
def test_a_day_at_the_calendars_ends_is_refused_not_a_500(client, auth, owner_api, bad):
    auth.as_role("owner")
    response = client.get(f"/admin/reports/production?{bad}")
    assert response.status_code == 200 and flashes(response.get_data(as_text=True))
    assert owner_api(f"/api/v1/reports/production?{bad}").status_code == 422


def test_an_unknown_report_or_file_kind_is_not_found(client, auth):
    auth.as_role("owner")
    assert client.get("/admin/reports/profit").status_code == 404
    assert client.get("/admin/reports/profit/export.csv").status_code == 404
    assert client.get("/admin/reports/production/export.docx").status_code == 404


# -- who may read them -------------------------------------------------------------------


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_the_owner_reads_the_reports(client, auth, role):
    auth.as_role(role)
    for url in ("/admin/reports/", "/admin/reports/production", "/admin/reports/collections?group_by=branch",
                "/admin/reports/production/export.csv", "/admin/reports/production/export.xlsx",
                "/admin/reports/ltv/export.pdf"):
        assert client.get(url).status_code == 403, url
    response = client.get("/api/v1/reports/production", headers=token_of(role))
    assert response.status_code == 403
    assert response.get_json()["error"] == "Your role does not allow this."
    assert "reports/production" not in client.get("/admin/").get_data(as_text=True)


def test_anonymous_is_sent_to_sign_in(client):
    for url in ("/admin/reports/", "/admin/reports/production?group_by=doctor", "/admin/reports/production/export.csv"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    response = client.get("/api/v1/reports/production")
    assert response.status_code == 401


# -- the files -----------------------------------------------------------------------------


EXPORTED = [("production", "doctor"), ("production", "service"), ("collections", "method"),
            ("conversion", "coordinator"), ("load", "hour"), ("staff_time", "person"), ("ltv", "source")]


def api_lines(body):
    """The API's answer as the CSV's lines: the labels, the rows, the totals
    (a decimal comma, time as h:mm)."""
    keys = [column["key"] for column in body["columns"]]
    kinds = {column["key"]: column["kind"] for column in body["columns"]}

    def as_text(value, key):
        if value is None:
            return ""
        return display(value, "minutes") if kinds[key] == "minutes" else str(value).replace(".", ",")

    rows = [[row["label"], *(as_text(row[key], key) for key in keys)] for row in body["rows"]]
    return keys, rows, [as_text(body["totals"][key], key) for key in keys]


@pytest.mark.parametrize("name, group_by", EXPORTED)
def test_the_csv_and_xlsx_carry_the_figures_the_api_gives(client, auth, owner_api, name, group_by):
    auth.as_role("owner")
    first, last = demo_range()
    wanted = query(first, last, group_by=group_by)
    body = owner_api(f"/api/v1/reports/{name}?{wanted}").get_json()
    keys, rows, totals = api_lines(body)
    assert rows, "nothing to compare"
    report, labels, _, _ = computed(name, first, last, group_by)
    assert [column.key for column in report.columns[1:]] == keys

    response = client.get(f"/admin/reports/{name}/export.csv?{wanted}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{name}-by-{group_by}-{first.isoformat()}-{last.isoformat()}.csv"' in (
        response.headers["Content-Disposition"])
    assert response.data.startswith(b"\xef\xbb\xbf")  # a BOM, for the spreadsheets
    lines = list(csv.reader(StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == labels
    assert lines[1:-1] == rows
    assert lines[-1] == ["Total", *totals]

    response = client.get(f"/admin/reports/{name}/export.xlsx?{wanted}")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data), read_only=True).active
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0][0] == str(report.title)
    header = cells.index(labels)  # after the title, and the range and branches when the sheet says them
    assert header in (1, 2)
    if header == 2:
        assert cells[1][0] == f"{first:%d.%m.%Y}–{last:%d.%m.%Y} · all branches"
    sheet_rows = cells[header + 1:header + 1 + len(rows) + 1]
    for found, expected, kinds in zip(sheet_rows, [*body["rows"], {"label": "Total", **body["totals"]}],
                                      [report.columns] * (len(rows) + 1)):
        assert found[0] == expected["label"]
        for value, column in zip(found[1:], kinds[1:]):
            given = expected[column.key]
            if given is None:
                assert value in (None, ""), (column.key, value)
            elif column.kind == "minutes":  # a duration
                assert value == timedelta(minutes=given), (column.key, value, given)
            elif column.kind == "money":
                assert Decimal(str(value)).quantize(Decimal("0.01")) == Decimal(given), (column.key, value, given)
            else:
                assert value == pytest.approx(given), (column.key, value, given)
    assert len(cells) >= header + 1 + len(rows) + 1


@pytest.mark.parametrize("name, key", [("production", "amount"), ("collections", "total"), ("load", "load")])
def test_the_pdf_holds_the_title_and_the_total(client, auth, name, key):
    auth.as_role("owner")
    first, last = last_month()
    response = client.get(f"/admin/reports/{name}/export.pdf?{query(first, last)}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    report, *_ = computed(name, first, last, REPORTS[name].default_group)
    assert str(report.title) in text
    assert display(report.totals[key], report.column(key).kind) in text
    assert f"{first:%d.%m.%Y}–{last:%d.%m.%Y}" in text


def test_the_pdf_in_russian(client, auth):
    auth.as_role("owner", "ru")
    first, last = last_month()
    response = client.get(f"/admin/reports/production/export.pdf?{query(first, last)}")
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    report, *_ = computed("production", first, last, "month", language="ru")
    with force_locale("ru"):
        title = str(report.title)
    assert title != "Production" and title in text and "Итого" in text
    assert display(report.totals["amount"], "money") in text


# -- the API ---------------------------------------------------------------------------------


def test_the_api_gives_a_months_production_and_collections(owner_api):
    first, last = last_month()
    for name, keys in (("production", {"amount", "services", "invoices", "average_invoice"}),
                       ("collections", {"patient", "insurance", "refunds", "total", "payments"})):
        response = owner_api(f"/api/v1/reports/{name}?{query(first, last)}")
        assert response.status_code == 200
        body = response.get_json()
        assert set(body) == {"name", "from", "to", "clinic_id", "group_by", "columns", "rows", "totals"}
        assert (body["name"], body["from"], body["to"], body["clinic_id"], body["group_by"]) == (
            name, first.isoformat(), last.isoformat(), None, "month")
        assert set(body["totals"]) == keys
        assert {column["key"] for column in body["columns"]} == keys
        report, *_ = computed(name, first, last, "month")
        assert [row["label"] for row in body["rows"]] == [row["label"] for row in report.rows]
        assert [row["key"] for row in body["rows"]] == [f"{first:%Y-%m}"]
        for column in body["columns"]:
            assert column["kind"] == report.column(column["key"]).kind
            if column["kind"] == "money":
                assert MONEY.match(body["totals"][column["key"]]), body["totals"]
                assert all(MONEY.match(row[column["key"]]) for row in body["rows"])
            else:
                assert isinstance(body["totals"][column["key"]], int)
            assert body["totals"][column["key"]] == plain(report.totals[column["key"]], column["kind"])
    production = owner_api(f"/api/v1/reports/production?{query(first, last)}").get_json()
    assert Decimal(production["totals"]["amount"]) > 0


def test_the_api_defaults_to_this_month(owner_api):
    first, last = this_month(today())
    body = owner_api("/api/v1/reports/production").get_json()
    assert (body["from"], body["to"], body["group_by"]) == (first.isoformat(), last.isoformat(), "month")


@pytest.mark.parametrize("name, keys", [("production", ("amount", "services")),
                                        ("collections", ("patient", "insurance", "refunds", "total", "payments"))])
def test_the_rows_add_up_to_the_totals_in_every_grouping(owner_api, name, keys):
    first, last = demo_range()
    for group_by in REPORTS[name].groups:
        body = owner_api(f"/api/v1/reports/{name}?{query(first, last, group_by=group_by)}").get_json()
        assert body["group_by"] == group_by and body["rows"]
        for key in keys:
            parse = Decimal if isinstance(body["totals"][key], str) else int
            assert sum(parse(row[key]) for row in body["rows"]) == parse(body["totals"][key]), (group_by, key)


@pytest.mark.parametrize("bad, field", [
    ("from=2026-13-01", "from"),
    ("to=tomorrow", "to"),
    ("from=2026-03-10&to=2026-03-01", "to"),
    ("from=2025-01-01&to=2026-03-01", "to"),
    ("clinic_id=999999", "clinic_id"),
    ("clinic_id=abc", "clinic_id"),
    ("group_by=planet", "group_by"),
])
def test_the_api_names_the_faulty_field(owner_api, bad, field):
    response = owner_api(f"/api/v1/reports/collections?{bad}")
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["fields"]) == {field} and body["error"] and body["fields"][field]


def test_the_api_knows_no_other_report(owner_api):
    response = owner_api("/api/v1/reports/profit")
    assert response.status_code == 404
    assert response.get_json()["error"] == "There is no report of that name."


def test_the_api_answers_every_report(owner_api):
    first, last = demo_range()
    for name, definition in REPORTS.items():
        body = owner_api(f"/api/v1/reports/{name}?{query(first, last)}").get_json()
        assert body["group_by"] == definition.default_group and body["rows"], name
        kinds = {column["key"]: column["kind"] for column in body["columns"]}
        for row in [*body["rows"], body["totals"]]:
            for key, kind in kinds.items():
                value = row[key]
                if value is None:
                    continue
                if kind == "money":
                    assert MONEY.match(value), (name, key, value)
                elif kind in ("count", "minutes"):
                    assert isinstance(value, int), (name, key, value)
                else:
                    assert isinstance(value, (int, float)), (name, key, value)


# -- home pages ------------------------------------------------------------------------------


def test_the_owners_home_page_shows_the_figure_cards_linking_to_their_reports(client, auth):
    """Each card links to its report for the card's range and grouping, and
    the report's totals there show the card's figure."""
    auth.as_role("owner")
    response = client.get("/admin/")
    assert response.status_code == 200
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    cards = tree.xpath("//a[@data-figure]")
    assert {card.get("data-figure") for card in cards} == set(FIGURES)
    for card in cards:
        href = html.unescape(card.get("href"))
        value = card.xpath('.//div[contains(@class, "h4")]')[0].text_content().strip()
        if card.get("data-figure") == "lost_patients":  # the list they are called back from, as the task book counts
            assert href == "/admin/lost-patients/" and value == str(count_lost_patients(db.session))
            continue
        assert href.startswith(f"/admin/reports/{card.get('data-figure')}?"), href
        page = client.get(href)
        assert page.status_code == 200, href
        page = page.get_data(as_text=True)
        assert flashes(page) == [], href
        label = card.xpath('.//div[contains(@class, "text-muted")]')[0].text_content().strip()
        if label == "Free chair time today, h:mm":  # the chairs' free time: available less booked
            continue
        totals = report_table(page)[2]
        for figure in value.split(" / "):  # "presented / accepted"
            assert figure in totals, (label, figure, totals, href)
    # the production card shows this month's production so far, as the report does
    first = today().replace(day=1)
    [production] = [card for card in cards if card.get("data-figure") == "production"]
    report, *_ = computed("production", first, today(), "day")
    assert display(report.totals["amount"], "money") in production.text_content()
    assert html.unescape(production.get("href")) == (
        f"/admin/reports/production?{query(first, today(), group_by='day')}")


def test_the_owners_home_page_in_russian(client, auth):
    auth.as_role("owner", "ru")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert len(lxml.html.fromstring(response.get_data(as_text=True)).xpath("//a[@data-figure]")) >= len(FIGURES)


def test_the_coordinators_home_lists_the_plans_awaiting_a_decision(client, auth):
    coordinator = auth.as_role("coordinator")
    response = client.get("/admin/")
    assert response.status_code == 200
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    listed = [int(plan_id) for plan_id in tree.xpath('//table[@id="awaiting-plans"]//tr/@data-plan')]
    query_ = (select(TreatmentPlan.id, TreatmentPlan.clinic_id, Patient.home_clinic_id)
              .join(Patient, Patient.id == TreatmentPlan.patient_id)
              .where(TreatmentPlan.deleted_at.is_(None), Patient.deleted_at.is_(None),
                     TreatmentPlan.status.in_(("draft", "presented"))))
    branches = clinic_ids_of(coordinator)
    expected = {plan_id for plan_id, plan_branch, home in db.session.execute(query_)
                if works_network_wide(coordinator) or (plan_branch or home) in branches or (plan_branch or home) is None}
    assert expected and len(listed) == len(set(listed)) == len(expected)
    assert set(listed) == expected
    statuses = dict(db.session.execute(select(TreatmentPlan.id, TreatmentPlan.status)
                                       .where(TreatmentPlan.id.in_(listed))).all())
    assert set(statuses.values()) == {"draft", "presented"}
    assert "data-figure" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role, marker", [("cashier", 'id="desk-invoices"'), ("doctor", "My day"),
                                          ("administrator", "board-page"), ("call_center", "task-book")])
def test_the_other_roles_still_land_where_they_did(client, auth, role, marker):
    auth.as_role(role)
    page = client.get("/admin/").get_data(as_text=True)
    assert marker in page
    assert "data-figure" not in page and "awaiting-plans" not in page


# -- openapi.yaml says what the API does --------------------------------------------------


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def test_openapi_names_every_report_and_its_groupings(spec):
    operation = spec["paths"]["/reports/{name}"]
    [name] = operation["parameters"]
    assert name["schema"]["enum"] == list(REPORTS)
    parameters = {parameter["name"]: parameter for parameter in operation["get"]["parameters"]}
    assert set(parameters) == {"from", "to", "clinic_id", "group_by"}
    assert parameters["from"]["schema"]["format"] == parameters["to"]["schema"]["format"] == "date"
    assert set(parameters["group_by"]["schema"]["enum"]) == {group for d in REPORTS.values() for group in d.groups}
    table = {line.split("|")[1].strip(" `"): line.split("|")[3] for line in
             operation["get"]["description"].splitlines() if line.startswith("| `") and "What is counted" not in line}
    assert list(table) == list(REPORTS)
    for report, definition in REPORTS.items():
        assert re.findall(r"`(\w+)`", table[report]) == list(definition.groups), report
    assert set(operation["get"]["responses"]) == {"200", "401", "403", "404", "422"}


def test_openapi_describes_every_reports_figures(app, spec):
    figures = {schema["title"]: schema for schema in spec["components"]["schemas"]["ReportFigures"]["anyOf"]}
    assert list(figures) == list(REPORTS)
    money = {"$ref": "#/components/schemas/ReportMoney"}
    first, last = last_month()
    for name, definition in REPORTS.items():
        columns = computed(name, first, last, definition.default_group)[0].columns[1:]
        assert figures[name]["required"] == [column.key for column in columns], name
        for column in columns:
            described = figures[name]["properties"][column.key]
            if column.kind == "money":
                assert described == money or money in described.get("oneOf", []), (name, column.key)
            else:
                types = described["type"] if isinstance(described["type"], list) else [described["type"]]
                expected = "integer" if column.kind in ("count", "minutes") else "number"
                assert expected in types, (name, column.key)
    pattern = re.compile(spec["components"]["schemas"]["ReportMoney"]["pattern"])
    assert pattern.match("1234.50") and pattern.match("-15.00") and not pattern.match("1234.5")

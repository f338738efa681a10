"""The plan printout: what the patient reads in the PDF (text read back with
pypdf, and where it stands on the page), the embedded Cyrillic font, and who
may open it."""
import io
import re

import pypdf
import pytest
from flask_babel import force_locale
from reportlab.pdfbase.pdfmetrics import registerFont, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from sqlalchemy import select

from stompro.catalog.models import TIER_LABELS, TIERS
from stompro.extensions import db
from stompro.patients.models import InsurancePolicy
from stompro.pdf import FONT_DIR, FONT_FILES, render_pdf
from stompro.planning.models import TreatmentPlan
from stompro.planning.printout import TIER_TECHNOLOGIES, money, printout_pdf
from stompro.planning.services import (
    EDITABLE, active_items, live_stages, live_variants, load_plan, plan_totals, stage_explanation, update_stage,
    visit_count,
)

from .test_schedule import IMPLANT_CASE, TODAY, build_plan


def pdf_text(pdf):
    """The PDF's text with whitespace (line breaks inside table cells,
    non-breaking spaces in amounts) folded to single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\xa0", " ").split()), reader


def plain(text):
    return " ".join(text.replace("\xa0", " ").split())


def embedded_fonts(reader):
    return {
        str(font.get_object()["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }


def demo_plan(payer_kind, chosen=False):
    """The demo plan of that payer with the most items (a chosen variant if asked)."""
    plans = db.session.execute(select(TreatmentPlan).filter_by(payer_kind=payer_kind)).scalars().all()
    plans = [p for p in plans if not chosen or any(v.chosen for v in p.variants)]
    return max(plans, key=lambda p: sum(len(s.items) for v in p.variants for s in v.stages))


def live_items_of(variant):
    return [item for stage in variant.stages if stage.deleted_at is None for item in active_items(stage)]


def test_the_pdf_tells_the_patient_who_what_where_and_how_much(app):
    plan = demo_plan("self")
    text, reader = pdf_text(printout_pdf(db.session, plan, "all", language="en", today=TODAY))
    assert plan.patient.full_name in text
    assert plan.patient.birth_date.strftime("%d.%m.%Y") in text
    assert plan.clinic.name in text and plain(plan.clinic.address) in text
    assert plan.author.full_name in text
    totals = plan_totals(plan)
    for variant in plan.variants:
        assert plain(money(totals.variant(variant).total)) in text
        for stage in variant.stages:
            with force_locale("en"):
                assert plain(stage_explanation(stage)) in text
        for item in live_items_of(variant):
            if item.tooth is not None:
                assert f"{item.tooth} {item.surfaces}".strip() + ":" in text
    pages = len(reader.pages)
    assert pages >= 4  # the summary, then each variant from a new page
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def test_cyrillic_and_latin_print_in_the_embedded_font_wherever_it_runs(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the font is found by the policy, not by the working directory
    text, reader = pdf_text(render_pdf("<p>Пломба <b>Filtek Ultimate</b> — зуб 26</p>"))
    assert "Пломба Filtek Ultimate — зуб 26" in text
    assert embedded_fonts(reader) >= {"DejaVuSans", "DejaVuSans-Bold"}
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4


def test_the_chosen_variant_alone(app):
    plan = demo_plan("self", chosen=True)
    chosen = next(v for v in plan.variants if v.chosen)
    text, _ = pdf_text(printout_pdf(db.session, plan, "chosen", language="en", today=TODAY))
    assert f"Variant “{chosen.tier.capitalize()}” — chosen" in text
    assert plain(money(plan_totals(plan).variant(chosen).total)) in text
    for other in plan.variants:
        if other is not chosen:
            assert f"Variant “{other.tier.capitalize()}”" not in text


def test_the_schedule_by_month_and_a_flagged_stage_are_printed(app, patient, doctor):
    plan = build_plan(patient, doctor)
    text, _ = pdf_text(printout_pdf(db.session, plan, "all", language="en", today=TODAY))
    # a month holding a flagged visit is marked "!"
    assert "January 2027 11 000,00 March 2027 ! 152 000,00 June 2027 50 000,00 Total 213 000,00" in text
    assert "150 000,00 !" in text  # the implant surgery
    assert "A large payment" in text
    assert "≈ 18.03.2027" in text  # an estimated date


def test_an_insured_plan_lists_the_insured_part_without_amounts(app, doctor):
    policy = db.session.execute(select(InsurancePolicy).limit(1)).scalar_one()
    # Insured items priced so that no other figure on the page can match them.
    stages = [
        (code, depends, parallel, gap, [(s, t, "12345.67" if not paid else price, q, paid) for s, t, price, q, paid in items])
        for code, depends, parallel, gap, items in IMPLANT_CASE
    ]
    plan = build_plan(policy.patient, doctor, stages=stages, policy=policy)
    text, _ = pdf_text(printout_pdf(db.session, plan, "all", language="en", today=TODAY))
    insured = [i for i in live_items_of(plan.variants[0]) if not i.self_paid]
    assert insured
    for item in insured:
        assert item.service.name_en in text  # listed, in the printout's language …
    assert "12 345,67" not in text  # … without its amount
    totals = plan_totals(plan).variant(plan.variants[0])
    assert totals.insured > 0
    assert money(totals.total).replace("\xa0", " ") not in text
    assert "Subtotal paid by you 202 000,00" in text
    assert "150 000,00" in text and "2 000,00" in text


def test_demo_insured_plans_never_print_the_insurers_amounts(app):
    plan = demo_plan("insurance")
    pdf = printout_pdf(db.session, plan, "all", language="en", today=TODAY)
    text, _ = pdf_text(pdf)
    assert len(check_tables(pdf, "en", insured=True)) >= 1 + len(plan.variants)  # "You pay" heads the last columns
    totals = plan_totals(plan)
    assert plan.patient.full_name in text
    for variant in plan.variants:
        figures = totals.variant(variant)
        assert plain(money(figures.self_paid)) in text
        if figures.insured:
            assert plain(money(figures.insured)) not in text
            assert plain(money(figures.total)) not in text


# --- the pages --------------------------------------------------------------------


@pytest.fixture
def printout_client(app, client):
    if "plan_printout.preview" not in app.view_functions:
        pytest.skip("stompro.planning.admin.register() does not register the printout views yet")
    return client


@pytest.mark.parametrize("role", ["owner", "doctor", "coordinator", "administrator", "cashier"])
def test_plan_readers_open_the_preview_and_the_pdf(printout_client, auth, role):
    plan = demo_plan("self")
    auth.as_role(role)
    page = printout_client.get(f"/admin/plan_printout/{plan.id}?which=all")
    assert page.status_code == 200
    assert plan.patient.full_name in page.get_data(as_text=True)
    assert f"/admin/plan_printout/{plan.id}.pdf?which=all" in page.get_data(as_text=True)
    pdf = printout_client.get(f"/admin/plan_printout/{plan.id}.pdf?which=all")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith(f'inline; filename="plan-{plan.id}.pdf"')
    assert plan.patient.full_name in pdf_text(pdf.data)[0]


def test_others_are_refused_and_strangers_sent_to_sign_in(printout_client, auth):
    plan = demo_plan("self")
    assert printout_client.get(f"/admin/plan_printout/{plan.id}.pdf").status_code == 302
    auth.as_role("call_center")
    assert printout_client.get(f"/admin/plan_printout/{plan.id}").status_code == 403
    assert printout_client.get(f"/admin/plan_printout/{plan.id}.pdf").status_code == 403


def test_the_chosen_variant_of_a_plan_without_one_is_a_readable_422(printout_client, auth):
    plan = next(p for p in db.session.execute(select(TreatmentPlan).filter_by(status="draft")).scalars())
    auth.as_role("coordinator")
    response = printout_client.get(f"/admin/plan_printout/{plan.id}.pdf?which=chosen")
    assert response.status_code == 422
    assert "No variant is chosen" in response.get_data(as_text=True)
    assert printout_client.get("/admin/plan_printout/999999.pdf").status_code == 404


# --- the layout: every header whole and inside its column ----------------------------------

PAGE_RIGHT = 595.28 - 1.3 / 2.54 * 72  # A4 less the right margin of the printout's @page
BOTTOM = 1.8 / 2.54 * 72  # the bottom margin: the page footer lies below it
VISIT_HEADERS = {
    "en": ["№", "Date", "Specialist", "Teeth", "What is done", "Visit — problem — solution", "Duration", "Cost"],
    "ru": ["№", "Дата", "Специалист", "Зубы", "Что делаем", "Визит — проблема — решение", "Длительность", "Стоимость"],
}
SUMMARY_HEADERS = {
    "en": ["Variant", "Technologies", "Visits", "Months", "Period", "Total"],
    "ru": ["Вариант", "Технологии", "Визиты", "Месяцев", "Период", "Итого"],
}
# On an insured plan the last column is what the patient pays.
INSURED_HEADERS = {"en": "You pay", "ru": "Вы платите"}
# The first line after each table's body: the total row, the note under the summary.
VISITS_END = {
    "en": ("Total for the variant", "You pay for this variant"),
    "ru": ("Итого по варианту", "Вы платите за этот вариант"),
}
SUMMARY_END = {"en": ("Dates marked ≈",), "ru": ("Даты со знаком ≈",)}
FONTS = {}


def font_metrics(base_font):
    """reportlab's name for the embedded font (DejaVuSans, DejaVuSans-Bold), read from stompro/fonts."""
    name = base_font.split("+")[-1]
    if name not in FONTS:
        assert f"{name}.ttf" in FONT_FILES.values(), base_font
        FONTS[name] = f"printout-test-{name}"
        registerFont(TTFont(FONTS[name], str(FONT_DIR / f"{name}.ttf")))
    return FONTS[name]


def text_lines(page):
    """Each line of text on ``page`` as (x, y, width, text): where it starts
    (from the text operators) and how wide it is (the embedded font's own
    metrics at the size it is set in)."""
    lines = []

    def visit(text, cm, tm, font, size):
        text = text.rstrip("\n")
        if text.strip() and font is not None:
            width = stringWidth(text, font_metrics(str(font["/BaseFont"])), size * tm[0] * cm[0])
            lines.append((cm[0] * tm[4] + cm[4], cm[3] * tm[5] + cm[5], width, text))

    page.extract_text(visitor_text=visit)
    return lines


def table_on(lines, first_header, end_markers):
    """The table of a page (its ``text_lines``) whose first header is ``first_header``, or None: its
    columns as [(x where the header starts, the header's text, its lines)]
    and the lines of its body, down to a line starting with one of
    ``end_markers`` or the bottom margin. A header wrapped over two lines is
    joined; one wrapped over more would come out cut."""
    starts = [line for line in lines if line[3] == first_header]
    if not starts:
        return None
    bottom = starts[0][1]  # headers sit on the bottom of their cells
    header = [line for line in lines if bottom - 0.5 <= line[1] <= bottom + 12]
    columns = {}
    for line in sorted(header, key=lambda line: -line[1]):
        columns.setdefault(round(line[0], 1), []).append(line)
    columns = [(x, " ".join(line[3] for line in column), column) for x, column in sorted(columns.items())]
    ends = [line[1] for line in lines if line[1] < bottom and line[3].startswith(end_markers)]
    floor = max(ends + [BOTTOM])
    body = [line for line in lines if floor < line[1] < bottom - 0.5]
    return columns, body


def assert_inside_columns(columns, lines):
    """Every line ends at least 1 pt before the border after it: the next
    header starts 2 pt (its padding) after that border; the last column ends
    at the page's right margin."""
    lefts = [x for x, _, _ in columns]
    for x, y, width, text in lines:
        index = max(i for i, left in enumerate(lefts) if left <= x + 0.5)
        border = lefts[index + 1] - 2 if index + 1 < len(lefts) else PAGE_RIGHT
        assert x + width <= border - 1, (text, columns[index][1], round(x + width - border, 1))


def check_tables(pdf, language, insured=False):
    """The summary's and every page's visits table: the headers whole, in
    order, and every header and cell inside its column. → the lines of the
    tables' bodies, table by table."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    checked = []
    for page in reader.pages:
        lines = text_lines(page)
        for headers, end in ((SUMMARY_HEADERS, SUMMARY_END), (VISIT_HEADERS, VISITS_END)):
            expected = headers[language][:-1] + [INSURED_HEADERS[language] if insured else headers[language][-1]]
            table = table_on(lines, expected[0], end[language])
            if table is None:
                continue
            columns, body = table
            assert [header for _, header, _ in columns] == expected
            assert body
            assert_inside_columns(columns, [line for _, _, column in columns for line in column] + body)
            checked.append([line[3] for line in body])
    return checked


@pytest.mark.parametrize("language", ["ru", "en"])
def test_headers_specialties_and_a_persons_very_long_word_stay_inside_their_columns(app, language):
    plan = demo_plan("self")
    stage = live_stages(live_variants(plan)[0])[0]
    update_stage(db.session, stage, explanation="Визит 1 — " + "рентгеноконтрастный" * 4 + " — снимок")
    pdf = printout_pdf(db.session, load_plan(db.session, plan.id), "all", language=language, today=TODAY)
    tables = check_tables(pdf, language)
    assert len(tables) >= 1 + len(plan.variants)
    cells = {text for body in tables for text in body}
    # The longest words of the specialties the plan's visits are with were among the lines checked.
    assert {"ru": "Пародонтология", "en": "Periodontology"}[language] in cells
    assert {"ru": "Терапевтическая", "en": "Restorative"}[language] in cells


# --- the visits of each variant: the same count on the screen and on paper --------------------


def summary_visits(pdf, language):
    """{tier: the number of visits the printout's summary gives it}."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = plain(reader.pages[0].extract_text())
    found = {}
    with force_locale(language):
        for tier in TIERS:
            label, technologies = str(TIER_LABELS[tier]), str(TIER_TECHNOLOGIES[tier])
            row = re.search(rf"{re.escape(label)}(?: \w+)? {re.escape(technologies)} (\d+) \d+ ", text)
            if row:
                found[tier] = int(row.group(1))
    return found


def screen_visits(html):
    """{tier: the number of visits the plan screen gives it}."""
    return {tier: int(n) for tier, n in re.findall(r'data-variant="\d+" data-tier="(\w+)".*?data-visits[^>]*>[^<:]*: (\d+)<', html, re.S)}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_screen_and_the_pdf_count_the_same_visits(client, auth, language):
    """Demo plans whose stages are not all visits of their own (a stage
    beside another, two booked for one day): the screen, the PDF's summary
    and visit_count agree, and they count days, not stages."""
    plans = db.session.scalars(select(TreatmentPlan).where(TreatmentPlan.deleted_at.is_(None)).order_by(TreatmentPlan.id)).all()
    differing = [
        plan for plan in plans
        if any(visit_count(v, TODAY) != len(live_stages(v)) for v in live_variants(plan))
    ]
    assert differing
    auth.as_role("coordinator", language=language)
    for plan in sorted(differing, key=lambda p: sum(len(live_stages(v)) for v in live_variants(p)))[:1]:
        screen = client.get(f"/admin/plan/{plan.id}")
        assert screen.status_code == 200
        on_screen = screen_visits(screen.get_data(as_text=True))
        on_paper = summary_visits(printout_pdf(db.session, load_plan(db.session, plan.id), "all", language=language), language)
        counted = {variant.tier: visit_count(variant) for variant in live_variants(plan)}
        assert on_screen == on_paper == counted, plan.id
        assert any(counted[v.tier] < len(live_stages(v)) for v in live_variants(plan))


# --- explanations in the printout's language ---------------------------------------------------


def test_the_builders_words_print_in_the_printouts_language_and_a_persons_as_written(app):
    plans = db.session.scalars(select(TreatmentPlan).filter_by(payer_kind="self", deleted_at=None)).all()
    plan = min(  # the shortest printout of a plan still open to changes
        (p for p in plans if len(live_variants(p)) == 3 and p.status in EDITABLE),
        key=lambda p: sum(len(v.stages) for v in p.variants),
    )
    stages = [stage for variant in live_variants(plan) for stage in live_stages(variant)]
    assert all(stage.explanation is None and stage.explanation_generated for stage in stages)

    def words(stage):
        return {plain(text) for text in stage.explanation_generated.values()}

    # A stage whose words no other stage's contain (variants often share their first visits).
    edited = next(
        stage for stage in stages
        if not any(mine in theirs for other in stages if other is not stage for mine in words(stage) for theirs in words(other))
    )
    generated = dict(edited.explanation_generated)
    update_stage(db.session, edited, explanation="Визит 1 — осмотр и снимки — план лечения обсуждаем вместе")
    plan = load_plan(db.session, plan.id)
    english, _ = pdf_text(printout_pdf(db.session, plan, "all", language="en", today=TODAY))
    russian, _ = pdf_text(printout_pdf(db.session, plan, "all", language="ru", today=TODAY))
    for stage in stages:
        if stage is not edited:
            assert plain(stage.explanation_generated["en"]) in english
            assert plain(stage.explanation_generated["ru"]) not in english
            assert plain(stage.explanation_generated["ru"]) in russian
    for text in (english, russian):
        assert "Визит 1 — осмотр и снимки — план лечения обсуждаем вместе" in text
        assert plain(generated["en"]) not in text and plain(generated["ru"]) not in text

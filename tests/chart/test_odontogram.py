"""What the odontogram draws (layout, surfaces, conditions), the "became" of a
plan variant, and the printable chart laid out by xhtml2pdf."""
import io
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from xhtml2pdf import pisa

from stompro.chart.models import Condition
from stompro.chart.odontogram import (
    build_view,
    chart_print_markup,
    default_dentition,
    dentition_rows,
    surface_letters,
)
from stompro.chart.services import ChartEntry, current_chart, target_chart, variant_charts
from stompro.extensions import db
from stompro.planning.models import PlanItem, PlanVariant

MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def condition(code, color="#E53935", symbol="C", scope="tooth", sort_order=0):
    return Condition(code=code, name_en=code.title(), name_ru=code, color=color, symbol=symbol, scope=scope, sort_order=sort_order)


CARIES = condition("caries", "#E53935", "C", "surface", 20)
FILLING = condition("filling", "#1E88E5", "F", "surface", 30)
CROWN = condition("crown", "#FBC02D", "Cr", sort_order=70)
MISSING = condition("missing", "#9E9E9E", "X", sort_order=80)
IMPLANT = condition("implant", "#00897B", "Im", sort_order=90)
RCT = condition("root_canal_treated", "#3949AB", "RCT", sort_order=60)
PULPITIS = condition("pulpitis", "#D81B60", "P", sort_order=40)


def entry(tooth, surfaces, cond, finding_id=1, at=MOMENT):
    return ChartEntry(tooth, surfaces, cond, None, at, finding_id)


# --- layout ----------------------------------------------------------------------


def test_the_rows_follow_fdi_as_the_dentist_faces_the_patient():
    assert dentition_rows("permanent") == [
        ("upper", [18, 17, 16, 15, 14, 13, 12, 11, 21, 22, 23, 24, 25, 26, 27, 28]),
        ("lower", [48, 47, 46, 45, 44, 43, 42, 41, 31, 32, 33, 34, 35, 36, 37, 38]),
    ]
    assert dentition_rows("primary") == [
        ("upper", [55, 54, 53, 52, 51, 61, 62, 63, 64, 65]),
        ("lower", [85, 84, 83, 82, 81, 71, 72, 73, 74, 75]),
    ]
    assert [jaw for jaw, _ in dentition_rows("mixed")] == ["upper", "upper", "lower", "lower"]
    assert [row[0] for _, row in dentition_rows("mixed")] == [18, 55, 85, 48]


@pytest.mark.parametrize(
    "tooth, expected",
    [
        # patient's right quadrants: the midline is to the viewer's right, so mesial is on the right
        (16, {"top": "B", "bottom": "P", "left": "D", "right": "M", "centre": "O"}),
        (46, {"top": "L", "bottom": "B", "left": "D", "right": "M", "centre": "O"}),
        (55, {"top": "B", "bottom": "P", "left": "D", "right": "M", "centre": "O"}),
        # patient's left quadrants: mesial on the left
        (26, {"top": "B", "bottom": "P", "left": "M", "right": "D", "centre": "O"}),
        (36, {"top": "L", "bottom": "B", "left": "M", "right": "D", "centre": "O"}),
        (75, {"top": "L", "bottom": "B", "left": "M", "right": "D", "centre": "O"}),
        # front teeth: incisal edge, vestibular face
        (11, {"top": "V", "bottom": "P", "left": "D", "right": "M", "centre": "I"}),
        (31, {"top": "L", "bottom": "V", "left": "M", "right": "D", "centre": "I"}),
        (63, {"top": "V", "bottom": "P", "left": "M", "right": "D", "centre": "I"}),
    ],
)
def test_each_side_of_the_square_is_the_right_surface(tooth, expected):
    assert surface_letters(tooth) == expected


@pytest.mark.parametrize(
    "born, teeth, expected",
    [
        (date(1990, 1, 1), [], "permanent"),
        (date(2022, 1, 1), [], "primary"),
        (date(2018, 1, 1), [], "mixed"),
        (date(1990, 1, 1), [75], "mixed"),  # an adult with a retained primary tooth
        (date(2022, 1, 1), [16], "mixed"),
        (date(2018, 1, 1), [16, 75], "mixed"),
    ],
)
def test_the_default_dentition_follows_age_and_what_is_recorded(born, teeth, expected):
    entries = [entry(t, "", CARIES) for t in teeth]
    assert default_dentition(born, date(2026, 11, 20), entries) == expected


def drawn(view, number):
    return next(t for t in view.teeth if t.number == number)


def test_surface_findings_colour_their_surface_and_whole_tooth_ones_tint_the_tooth(app):  # legend names need an app
    view = build_view(
        [entry(36, "O", CARIES), entry(36, "M", FILLING), entry(21, "", PULPITIS), entry(11, "O", CARIES)],
        [PULPITIS, CARIES, FILLING],
        "permanent",
    )
    surfaces = {s.letter: s for s in drawn(view, 36).surfaces}
    assert (surfaces["O"].fill, surfaces["O"].mark.code) == ("#E53935", "caries")
    assert (surfaces["M"].fill, surfaces["M"].mark.code, surfaces["M"].slot) == ("#1E88E5", "filling", "left")
    assert surfaces["D"].mark is None and surfaces["D"].fill == "#FFFFFF"
    assert [c.mark.symbol for c in drawn(view, 36).chips] == ["C", "F"]
    pulpitis = drawn(view, 21)
    assert {(s.fill, s.opacity) for s in pulpitis.surfaces} == {("#D81B60", 0.45)}
    assert pulpitis.drawing is None and [c.mark.symbol for c in pulpitis.chips] == ["P"]
    # "O" recorded on an incisor is its incisal edge, drawn in the centre
    assert {s.slot: s.mark and s.mark.code for s in drawn(view, 11).surfaces}["centre"] == "caries"
    assert [m.code for m in view.legend] == ["pulpitis", "caries", "filling"]


def test_missing_implant_crown_and_root_canal_are_drawn_distinctly(app):
    view = build_view(
        [entry(18, "", MISSING), entry(46, "", IMPLANT), entry(16, "", CROWN), entry(16, "M", CARIES), entry(26, "", RCT)],
        None,
        "permanent",
    )
    missing, implant, crown, rct, plain = (drawn(view, n) for n in (18, 46, 16, 26, 17))
    assert (missing.drawing, missing.roots) == ("missing", [])
    assert {s.fill for s in missing.surfaces} == {"#EEEEEE"}
    assert implant.drawing == "implant" and implant.implant and implant.roots == []
    assert crown.drawing == "crown" and {s.letter: s.fill for s in crown.surfaces}["M"] == "#E53935"
    assert rct.drawing == "root_canal" and len(rct.roots) == 2  # a molar
    assert plain.drawing is None and len(plain.roots) == 2 and len(drawn(view, 15).roots) == 1
    # with no reference list the legend is what the chart uses, in reference order
    assert [m.code for m in view.legend] == ["caries", "root_canal_treated", "crown", "missing", "implant"]


def test_the_primary_dentition_is_drawn_narrower_and_centred_on_the_midline():
    permanent, primary = build_view([], [], "permanent"), build_view([], [], "primary")
    assert primary.width < permanent.width
    assert drawn(primary, 51).x < primary.midline_x <= drawn(primary, 61).x
    assert len(primary.teeth) == 20 and len(build_view([], [], "mixed").teeth) == 52


# --- was → became ------------------------------------------------------------------


def item(tooth, surfaces, target, **extra):
    return PlanItem(tooth=tooth, surfaces=surfaces, target_condition=target, **extra)


def test_the_became_applies_each_live_item_in_plan_order():
    was = [entry(36, "O", CARIES, 7), entry(36, "D", CARIES, 7), entry(46, "", CROWN, 8), entry(11, "V", CARIES, 9)]
    items = [
        item(36, "O", FILLING),
        item(47, "", MISSING),
        item(47, "", IMPLANT),  # later in the plan: the implant is what remains
        item(46, "", RCT, removed=True, removal_justification="patient refused"),
        item(11, "V", FILLING, deleted_at=MOMENT),
        item(None, "", None),  # a whole-mouth item (hygiene) changes no tooth
        item(16, "", None),  # no target: nothing changes
    ]
    became = target_chart(was, items)
    state = {(e.tooth, e.surfaces): (e.condition.code, e.finding_id) for e in became}
    assert state == {
        (11, "V"): ("caries", 9),
        (36, "D"): ("caries", 7),
        (36, "O"): ("filling", None),
        (46, ""): ("crown", 8),
        (47, ""): ("implant", None),
    }
    assert all(e.recorded_at is None for e in became if e.finding_id is None)


def test_the_variant_charts_of_a_seeded_plan(app):
    variant = db.session.execute(
        select(PlanVariant)
        .join(PlanVariant.stages)
        .join(PlanItem)
        .where(PlanItem.tooth.is_not(None), PlanItem.target_condition_id.is_not(None), PlanItem.removed.is_(False))
        .limit(1)
    ).scalar_one()
    was, became = variant_charts(db.session, variant)
    assert was == current_chart(db.session, variant.plan.patient_id)
    planned = {(e.tooth, e.surfaces, e.condition.code) for e in became if e.finding_id is None}
    targets = {
        (i.tooth, i.target_condition.code)
        for stage in variant.stages for i in stage.items
        if i.tooth is not None and i.target_condition is not None and not i.removed and i.deleted_at is None
    }
    assert planned and {(tooth, code) for tooth, _, code in planned} <= targets


# --- print ----------------------------------------------------------------------


def pdf_text(markup):
    pdf = io.BytesIO()
    result = pisa.CreatePDF(f"<html><body>{markup}</body></html>", dest=pdf)
    assert not result.err
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.getvalue())).pages)


@pytest.mark.parametrize("dentition, teeth", [("permanent", (18, 11, 21, 28, 48, 41, 31, 38)), ("mixed", (55, 65, 85, 75, 18, 38))])
def test_the_printable_chart_lays_out_in_xhtml2pdf_with_numbers_and_symbols(app, dentition, teeth):
    entries = [entry(36, "M", CARIES), entry(36, "O", CARIES), entry(46, "", IMPLANT), entry(16, "", CROWN), entry(18, "", MISSING)]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        markup = chart_print_markup(entries, dentition, caption="Now")
    for forbidden in ("flex", "float", "position", "<svg"):
        assert forbidden not in markup
    text = pdf_text(markup)
    words = text.split()
    for tooth in teeth:
        assert str(tooth) in words, tooth
    for symbol in ("C", "MO", "Im", "Cr", "X"):
        assert symbol in words, symbol
    for name in ("Caries", "Implant", "Crown", "Missing"):
        assert name in text
    assert "Now" in text


def test_the_printout_puts_teeth_in_fdi_order(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        text = pdf_text(chart_print_markup([], "permanent"))
    numbers = [int(word) for word in text.split() if word.isdigit()]
    assert numbers == [18, 17, 16, 15, 14, 13, 12, 11, 21, 22, 23, 24, 25, 26, 27, 28,
                       48, 47, 46, 45, 44, 43, 42, 41, 31, 32, 33, 34, 35, 36, 37, 38]

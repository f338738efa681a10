"""What the odontogram draws: the FDI layout of a dentition, each tooth's
five surfaces and their conditions, and a printable version of the same.

No database here: callers pass the chart entries (``services.current_chart``)
and the reference conditions. The SVG itself is written by the Jinja macro
``templates/chart/_odontogram.html`` from the view model built here, so the
geometry lives in one place and the template only copies numbers.

The chart is drawn as the dentist sees the patient: the patient's right side
(quadrants 1, 4, 5, 8) on the viewer's left, the upper jaw on top."""
from dataclasses import dataclass, field

from markupsafe import Markup

from ..i18n import localized

DENTITIONS = ("permanent", "primary", "mixed")
UPPER, LOWER = "upper", "lower"

# Rows top to bottom: (jaw, quadrant drawn on the viewer's left, on the right).
ROWS = {
    "permanent": ((UPPER, 1, 2), (LOWER, 4, 3)),
    "primary": ((UPPER, 5, 6), (LOWER, 8, 7)),
    "mixed": ((UPPER, 1, 2), (UPPER, 5, 6), (LOWER, 8, 7), (LOWER, 4, 3)),
}
PRIMARY_QUADRANTS = (5, 6, 7, 8)
UPPER_QUADRANTS = (1, 2, 5, 6)
PATIENT_RIGHT_QUADRANTS = (1, 4, 5, 8)

# Conditions drawn by shape and not only by colour; keyed by the stable code.
DRAWINGS = {
    "missing": "missing",
    "implant": "implant",
    "crown": "crown",
    "root_canal_treated": "root_canal",
}

# Surface letters that name the same face of a tooth: occlusal/incisal,
# buccal/vestibular, lingual/palatal.
SAME_FACE = {"I": "O", "V": "B", "P": "L"}
SURFACE_ORDER = "MOIDBVLP"


# --- layout ------------------------------------------------------------------


def quadrant_teeth(quadrant):
    """Teeth of a quadrant from the midline out: 11, 12 … 18 or 51 … 55."""
    count = 5 if quadrant in PRIMARY_QUADRANTS else 8
    return [quadrant * 10 + n for n in range(1, count + 1)]


def dentition_rows(dentition):
    """[(jaw, [teeth left to right on screen])] for a dentition, top to bottom."""
    return [
        (jaw, list(reversed(quadrant_teeth(left))) + quadrant_teeth(right))
        for jaw, left, right in ROWS[dentition]
    ]


def dentition_teeth(dentition):
    return {tooth for _, teeth in dentition_rows(dentition) for tooth in teeth}


def column(tooth):
    """The tooth's column in a 16-column grid; primary teeth stand under the
    permanent teeth that replace them (55 under 15)."""
    quadrant, position = divmod(tooth, 10)
    return 8 - position if quadrant in PATIENT_RIGHT_QUADRANTS else 7 + position


def jaw_of(tooth):
    return UPPER if tooth // 10 in UPPER_QUADRANTS else LOWER


def is_posterior(tooth):
    """Premolars and molars (4–8), primary molars (4–5): they have an occlusal face."""
    return tooth % 10 >= 4


def root_count(tooth):
    quadrant, position = divmod(tooth, 10)
    molar = position >= 4 if quadrant in PRIMARY_QUADRANTS else position >= 6
    return 2 if molar else 1


def default_dentition(birth_date, today, entries):
    """The dentition for the patient's age (under 6 primary, under 12 mixed,
    else permanent), widened to mixed when a recorded tooth would not show."""
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    dentition = "primary" if age < 6 else "mixed" if age < 12 else "permanent"
    shown = dentition_teeth(dentition)
    if any(entry.tooth not in shown for entry in entries):
        return "mixed"
    return dentition


def surface_letters(tooth):
    """Which surface each side of the drawn square stands for.

    Top and bottom: the vestibular face points away from the chart's middle
    (up for the upper jaw), the oral one towards it. Left and right: the
    mesial side faces the midline, so it is on the right for the patient's
    right quadrants and on the left for the others."""
    anterior = not is_posterior(tooth)
    vestibular = "V" if anterior else "B"
    oral = "P" if jaw_of(tooth) == UPPER else "L"
    top, bottom = (vestibular, oral) if jaw_of(tooth) == UPPER else (oral, vestibular)
    left, right = ("D", "M") if tooth // 10 in PATIENT_RIGHT_QUADRANTS else ("M", "D")
    return {"top": top, "bottom": bottom, "left": left, "right": right, "centre": "I" if anterior else "O"}


def face(letter):
    return SAME_FACE.get(letter, letter)


# --- geometry ----------------------------------------------------------------

CELL = 46  # width of a tooth's column
SQUARE = 34  # the crown seen from above, split into five surfaces
INSET = (CELL - SQUARE) // 2
BADGE = 16  # strip for the condition symbols
ROOT = 28  # strip for the roots
NUMBER = 16  # strip for the tooth number
TOOTH_HEIGHT = BADGE + ROOT + SQUARE + NUMBER
ROW_GAP = 12
JAW_GAP = 18
MARGIN = 10


def _points(*pairs):
    return " ".join(f"{INSET + x * SQUARE:g},{y * SQUARE:g}" for x, y in pairs)


# The square's five parts in square units (0…1); the centre is 0.3…0.7.
SURFACE_SHAPES = {
    "top": ((0, 0), (1, 0), (0.7, 0.3), (0.3, 0.3)),
    "right": ((1, 0), (1, 1), (0.7, 0.7), (0.7, 0.3)),
    "bottom": ((1, 1), (0, 1), (0.3, 0.7), (0.7, 0.7)),
    "left": ((0, 1), (0, 0), (0.3, 0.3), (0.3, 0.7)),
    "centre": ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)),
}


@dataclass(frozen=True)
class JawGeometry:
    """Where the strips of a tooth cell lie; the upper jaw's roots point up."""

    badge_y: int
    square_y: int
    number_y: int  # text baseline
    root_base: int  # where the roots meet the crown
    root_tip: int

    cell = CELL
    height = TOOTH_HEIGHT
    centre_x = CELL / 2

    @property
    def chip_y(self):
        return self.badge_y + 2

    @property
    def chip_text_y(self):
        return self.badge_y + 11

    @property
    def ring(self):
        """The crown's ring around the square: x, y, size."""
        return INSET - 4, self.square_y - 4, SQUARE + 8

    @property
    def cross(self):
        """Two strokes across a missing tooth."""
        x0, y0 = INSET - 3, self.square_y - 3
        x1, y1 = INSET + SQUARE + 3, self.square_y + SQUARE + 3
        return f"M{x0},{y0} L{x1},{y1} M{x1},{y0} L{x0},{y1}"

    def square_points(self, slot):
        return _points(*[(x, y + self.square_y / SQUARE) for x, y in SURFACE_SHAPES[slot]])

    def roots(self, count):
        """Root outlines (SVG paths, tapering to the apex) and the canal line
        inside each; molars get two roots."""
        centres = (CELL / 2,) if count == 1 else (CELL / 2 - 7, CELL / 2 + 7)
        half = 6 if count == 1 else 4.5
        towards_apex = 1 if self.root_tip > self.root_base else -1
        shoulder = self.root_base + towards_apex * 0.45 * abs(self.root_tip - self.root_base)
        near_apex = self.root_tip - towards_apex * 4
        return [
            (
                f"M{x - half:g},{self.root_base} C{x - half:g},{shoulder:g} {x - half * 0.4:g},{near_apex:g} {x:g},{self.root_tip}"
                f" C{x + half * 0.4:g},{near_apex:g} {x + half:g},{shoulder:g} {x + half:g},{self.root_base} Z",
                f"M{x:g},{self.root_base} L{x:g},{near_apex:g}",
            )
            for x in centres
        ]

    def implant(self):
        """A screw in place of the root: the body and its threads."""
        top, bottom = sorted((self.root_base, self.root_tip))
        body = f"M{CELL / 2 - 5:g},{top} h10 v{bottom - top} h-10 Z"
        threads = " ".join(f"M{CELL / 2 - 7:g},{y} h14" for y in range(top + 5, bottom - 1, 5))
        return body, threads


UPPER_GEOMETRY = JawGeometry(
    badge_y=0, square_y=BADGE + ROOT, number_y=TOOTH_HEIGHT - 3,
    root_base=BADGE + ROOT, root_tip=BADGE + 2,
)
LOWER_GEOMETRY = JawGeometry(
    badge_y=NUMBER + SQUARE + ROOT, square_y=NUMBER, number_y=NUMBER - 4,
    root_base=NUMBER + SQUARE, root_tip=NUMBER + SQUARE + ROOT - 2,
)
GEOMETRY = {UPPER: UPPER_GEOMETRY, LOWER: LOWER_GEOMETRY}


# --- view model ----------------------------------------------------------------


def ink_for(color):
    """Black or white text, whichever reads better on ``color`` (#RRGGBB)."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#212121" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "#FFFFFF"


@dataclass(frozen=True)
class Mark:
    """A condition as the chart shows it."""

    code: str
    name: str
    color: str
    ink: str
    symbol: str
    scope: str
    drawing: str | None

    @classmethod
    def of(cls, condition):
        return cls(
            condition.code, localized(condition), condition.color, ink_for(condition.color),
            condition.symbol, condition.scope, DRAWINGS.get(condition.code),
        )


@dataclass(frozen=True)
class Chip:
    mark: Mark
    x: float
    width: float

    @property
    def text_x(self):
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class SurfaceView:
    slot: str
    letter: str
    points: str
    mark: Mark | None  # recorded on this surface
    fill: str
    opacity: float
    title: str


@dataclass(frozen=True)
class ToothView:
    number: int
    jaw: str
    x: int
    y: int
    geometry: JawGeometry
    whole: Mark | None  # recorded on the whole tooth
    drawing: str | None
    surfaces: list
    chips: list
    roots: list
    implant: tuple | None
    title: str


@dataclass(frozen=True)
class ChartView:
    dentition: str
    width: int
    height: int
    midline_x: int
    occlusal_y: int
    teeth: list
    legend: list

    @property
    def display_width(self):
        """Drawn a third larger than its units; it shrinks to fit narrow places."""
        return round(self.width * 1.35)


@dataclass
class ToothState:
    """The current entries of one tooth: the whole-tooth one and per surface."""

    whole: object = None
    surfaces: dict = field(default_factory=dict)

    def marks(self):
        """(condition, surface letters) pairs: the whole tooth first, then the
        surface conditions in reference order."""
        grouped = {}
        for letter in sorted(self.surfaces, key=SURFACE_ORDER.index):
            condition = self.surfaces[letter].condition
            grouped.setdefault(condition.code, [condition, ""])[1] += letter
        whole = [(self.whole.condition, "")] if self.whole else []
        by_reference = sorted(grouped.values(), key=lambda pair: (pair[0].sort_order, pair[0].code))
        return whole + [tuple(pair) for pair in by_reference]


def tooth_states(entries):
    states = {}
    for entry in entries:
        state = states.setdefault(entry.tooth, ToothState())
        if entry.surfaces:
            state.surfaces[entry.surfaces] = entry
        else:
            state.whole = entry
    return states


def used_conditions(entries):
    """The conditions the entries show, in the reference order."""
    used = {entry.condition.code: entry.condition for entry in entries}
    return sorted(used.values(), key=lambda c: (c.sort_order, c.code))


def build_view(entries, conditions, dentition):
    """The odontogram of ``entries`` (ChartEntry list) in ``dentition``.

    ``conditions`` (reference rows, in order) make the legend; None makes it
    of the conditions the entries use, which costs no query (the card)."""
    states = tooth_states(entries)
    if conditions is None:
        conditions = used_conditions(entries)
    rows = dentition_rows(dentition)
    first_column = min(column(tooth) for _, row in rows for tooth in row)
    columns = 16 - 2 * first_column
    teeth = []
    y = MARGIN
    occlusal_y = None
    previous_jaw = None
    for jaw, row in rows:
        if previous_jaw == UPPER and jaw == LOWER:
            occlusal_y = y + JAW_GAP // 2 - ROW_GAP // 2
            y += JAW_GAP - ROW_GAP
        for number in row:
            x = MARGIN + (column(number) - first_column) * CELL
            teeth.append(tooth_view(number, x, y, states.get(number) or ToothState()))
        y += TOOTH_HEIGHT + ROW_GAP
        previous_jaw = jaw
    return ChartView(
        dentition=dentition,
        width=2 * MARGIN + columns * CELL,
        height=y - ROW_GAP + MARGIN,
        midline_x=MARGIN + (8 - first_column) * CELL,
        occlusal_y=occlusal_y,
        teeth=teeth,
        legend=[Mark.of(c) for c in conditions],
    )


def tooth_view(number, x, y, state):
    jaw = jaw_of(number)
    geometry = GEOMETRY[jaw]
    whole = Mark.of(state.whole.condition) if state.whole else None
    drawing = whole.drawing if whole else None
    by_face = {face(letter): entry for letter, entry in state.surfaces.items()}
    surfaces = []
    for slot, letter in surface_letters(number).items():
        entry = by_face.get(face(letter))
        own = Mark.of(entry.condition) if entry else None
        if own:
            fill, opacity = own.color, 1.0
        elif drawing == "missing":
            fill, opacity = "#EEEEEE", 1.0
        elif whole and not drawing:
            fill, opacity = whole.color, 0.45
        else:
            fill, opacity = "#FFFFFF", 1.0
        title = f"{number} {letter}" + (f" · {own.name}" if own else "")
        surfaces.append(SurfaceView(slot, letter, geometry.square_points(slot), own, fill, opacity, title))
    marks = [Mark.of(condition) for condition, _ in state.marks()]
    return ToothView(
        number=number,
        jaw=jaw,
        x=x,
        y=y,
        geometry=geometry,
        whole=whole,
        drawing=drawing,
        surfaces=surfaces,
        chips=_chips(marks),
        roots=[] if drawing in ("missing", "implant") else geometry.roots(root_count(number)),
        implant=geometry.implant() if drawing == "implant" else None,
        title=_tooth_title(number, state),
    )


def _chips(marks, limit=3):
    """Symbol chips centred over the tooth, at most ``limit`` of them."""
    marks = marks[:limit]
    widths = [5.5 * len(m.symbol) + 5 for m in marks]
    x = (CELL - sum(widths) - 2 * (len(marks) - 1)) / 2
    chips = []
    for mark, width in zip(marks, widths):
        chips.append(Chip(mark, round(x, 1), width))
        x += width + 2
    return chips


def _tooth_title(number, state):
    parts = [str(number)]
    for condition, letters in state.marks():
        parts.append(f"{localized(condition)}{f' ({letters})' if letters else ''}")
    return " · ".join(parts)


# --- print ---------------------------------------------------------------------


def chart_print_markup(entries, dentition="permanent", caption=None):
    """The chart as an HTML table xhtml2pdf can lay out: a column per tooth
    position in FDI order, each cell coloured by the tooth's condition with
    its symbols (and the surfaces they are on), then a legend of what was
    used. Only tables, explicit widths and background colours."""
    states = tooth_states(entries)
    width = "6.25%"
    rows = []
    previous_jaw = None
    for jaw, teeth in dentition_rows(dentition):
        by_column = {column(t): t for t in teeth}
        if previous_jaw == UPPER and jaw == LOWER:
            rows.append(Markup('<tr><td colspan="16" style="height:4pt;border-top:1pt solid #424242"></td></tr>'))
        numbers = Markup("").join(_print_number(by_column.get(c), c, width) for c in range(16))
        cells = Markup("").join(_print_cell(by_column.get(c), states, c, width) for c in range(16))
        pair = (cells, numbers) if jaw == UPPER else (numbers, cells)
        rows.extend(Markup("<tr>{}</tr>").format(r) for r in pair)
        previous_jaw = jaw
    legend = [_print_legend_cell(c) for c in used_conditions(entries)]
    legend_rows = Markup("").join(
        Markup("<tr>{}</tr>").format(Markup("").join(legend[i:i + 4])) for i in range(0, len(legend), 4)
    )
    head = Markup('<p style="font-weight:bold;margin:0 0 3pt 0">{}</p>').format(caption) if caption else Markup("")
    return Markup(
        '<div class="chart-print">{}'
        '<table width="100%" cellpadding="0" cellspacing="0">{}</table>'
        '<table width="100%" cellpadding="0" cellspacing="0" style="margin-top:3pt">{}</table></div>'
    ).format(head, Markup("").join(rows), legend_rows)


def _print_legend_cell(condition):
    return Markup(
        '<td width="25%" style="padding:2pt;font-size:8pt">'
        '<span style="background-color:{};color:{}">&nbsp;{}&nbsp;</span> {}</td>'
    ).format(condition.color, ink_for(condition.color), condition.symbol, localized(condition))


def _border(col):
    return "border-left:1pt solid #424242;" if col == 8 else ""


def _print_number(tooth, col, width):
    return Markup('<td width="{}" align="center" style="font-size:7pt;color:#616161;padding:2pt 0 2pt 0;{}">{}</td>').format(
        width, _border(col), tooth or ""
    )


def _print_cell(tooth, states, col, width):
    if tooth is None:  # a primary row leaves the outer columns empty
        return Markup('<td width="{}" style="{}">&nbsp;</td>').format(width, _border(col))
    style = "height:24pt;padding:1pt;font-size:7pt;text-align:center;vertical-align:middle;border:0.5pt solid #BDBDBD;"
    marks = states[tooth].marks() if tooth in states else []
    if not marks:
        return Markup('<td width="{}" style="{}{}">&nbsp;</td>').format(width, style, _border(col))
    lead = marks[0][0]
    text = Markup("<br/>").join(Markup("{}{}").format(c.symbol, f" {letters}" if letters else "") for c, letters in marks)
    return Markup('<td width="{}" style="{}background-color:{};color:{};{}">{}</td>').format(
        width, style, lead.color, ink_for(lead.color), _border(col), text
    )

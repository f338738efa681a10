"""FDI (ISO 3950) tooth numbers and surface codes, the chart's alphabet."""
from ..errors import DomainError
from flask_babel import lazy_gettext as _l

PERMANENT_TEETH = tuple(q * 10 + n for q in (1, 2, 3, 4) for n in range(1, 9))
PRIMARY_TEETH = tuple(q * 10 + n for q in (5, 6, 7, 8) for n in range(1, 6))
ALL_TEETH = PERMANENT_TEETH + PRIMARY_TEETH

# M mesial, O occlusal, I incisal, D distal, B buccal, V vestibular,
# L lingual, P palatal.
SURFACE_LETTERS = "MOIDBVLP"


def tooth_check_sql(column):
    return f"{column} IN ({', '.join(str(t) for t in ALL_TEETH)})"


def surfaces_check_sql(column):
    """Only surface letters, each at most once; portable to SQLite and PostgreSQL."""
    stripped = column
    for letter in SURFACE_LETTERS:
        stripped = f"replace({stripped}, '{letter}', '')"
    once = " AND ".join(
        f"length({column}) - length(replace({column}, '{letter}', '')) <= 1"
        for letter in SURFACE_LETTERS
    )
    return f"length({stripped}) = 0 AND {once}"


def replaced_when_lost(tooth):
    """Whether a lost tooth is restored (implant, bridge): not a wisdom tooth,
    nor a milk tooth — the permanent one takes its place."""
    return tooth in PERMANENT_TEETH and tooth % 10 != 8


def validate_tooth(tooth, allow_none=False):
    """Return the tooth as an int or raise DomainError naming the rule."""
    if tooth in (None, ""):
        if allow_none:
            return None
        raise DomainError(_l("A tooth number is required."), field="tooth")
    try:
        number = int(tooth)
    except (TypeError, ValueError):
        raise DomainError(_l("Tooth must be an FDI number such as 36."), field="tooth") from None
    if number not in ALL_TEETH:
        raise DomainError(
            _l("Tooth %(tooth)s does not exist in FDI notation (11–48, 51–85).", tooth=number),
            field="tooth",
        )
    return number


def normalize_surfaces(surfaces):
    """Upper-case, validate and order surface letters ("od" → "OD")."""
    if surfaces is None:
        return ""
    if isinstance(surfaces, (list, tuple)):
        surfaces = "".join(str(s) for s in surfaces)
    letters = str(surfaces).replace(",", "").replace(" ", "").upper()
    for letter in letters:
        if letter not in SURFACE_LETTERS:
            raise DomainError(
                _l("Unknown surface %(letter)s: use the letters M, O, I, D, B, V, L, P.", letter=letter),
                field="surfaces",
            )
    if len(set(letters)) != len(letters):
        raise DomainError(_l("A surface is listed twice."), field="surfaces")
    return "".join(sorted(letters, key=SURFACE_LETTERS.index))

"""The Russian catalog covers every string of the interface and is compiled.

These tests read files only: no app, no database. When one fails after you added
or changed a user-facing string, refresh the catalog:

    pybabel extract -F babel.cfg -k _l -k lazy_gettext -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d stompro/translations --no-fuzzy-matching
    (translate the new entries in stompro/translations/ru/LC_MESSAGES/messages.po)
    pybabel compile -d stompro/translations
"""
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "stompro" / "translations"
PO = TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

# Babel's defaults (_, gettext, ngettext, pgettext, ...) plus Flask-Babel's lazy ones.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
    "lazy_npgettext": ((1, "c"), 2, 3),
}

PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")


def _key(message_id):
    """The catalog key of an extracted or catalog message id (the singular for plurals)."""
    return message_id[0] if isinstance(message_id, (list, tuple)) else message_id


def _forms(string):
    return list(string) if isinstance(string, (list, tuple)) else [string]


def _placeholders(text):
    """Named placeholders (a set) and the count of positional ones; ``%%`` is not one."""
    named, positional = set(), 0
    for match in PLACEHOLDER.finditer(text or ""):
        if match.group("conv") == "%":
            continue
        if match.group("name") is not None:
            named.add(match.group("name"))
        else:
            positional += 1
    return named, positional


@pytest.fixture(scope="module")
def extracted():
    """{(msgid, context): [locations]} for every marked string, like ``pybabel extract -F babel.cfg``."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = _key(message)
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def po_catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="ru")


def _po_messages(catalog):
    return [message for message in catalog if message.id]


def _translated(catalog):
    """The entries ``pybabel compile`` puts into the .mo: translated and not fuzzy
    (the missing ones are reported by test_every_string_has_a_russian_translation)."""
    return [
        message for message in _po_messages(catalog)
        if not message.fuzzy and all(_forms(message.string))
    ]


def test_sources_have_marked_strings(extracted):
    # Guards the extraction itself: a broken method map would make the next test pass vacuously.
    assert len(extracted) > 100
    assert any(location.startswith("templates/") for locations in extracted.values() for location in locations)


def test_every_string_has_a_russian_translation(extracted, po_catalog):
    assert not po_catalog.fuzzy, "the .po header is marked fuzzy: pybabel compile would skip the catalog"
    problems = []
    for (msgid, context), locations in sorted(extracted.items(), key=lambda item: item[1][0]):
        message = po_catalog.get(msgid, context)
        where = locations[0]
        if message is None:
            problems.append(f"{where}: not in messages.po: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"{where}: fuzzy: {msgid!r}")
        elif not all(form and form.strip() for form in _forms(message.string)):
            problems.append(f"{where}: empty translation: {msgid!r}")
        elif isinstance(message.id, (list, tuple)) and len(_forms(message.string)) != po_catalog.num_plurals:
            problems.append(f"{where}: needs {po_catalog.num_plurals} plural forms: {msgid!r}")
    print("\n".join(problems))
    assert not problems, f"{len(problems)} strings lack a Russian translation:\n" + "\n".join(problems)


def test_no_fuzzy_entries_left(po_catalog):
    fuzzy = [message.id for message in _po_messages(po_catalog) if message.fuzzy]
    assert not fuzzy, f"fuzzy entries in messages.po: {fuzzy}"


def test_compiled_catalog_matches_the_po(po_catalog):
    assert MO.exists(), "run: pybabel compile -d stompro/translations"
    with MO.open("rb") as fh:
        mo_catalog = read_mo(fh)
    stale = []
    for message in _translated(po_catalog):
        compiled = mo_catalog.get(message.id, message.context)
        if compiled is None:
            stale.append(f"missing from the .mo: {_key(message.id)!r}")
        elif _forms(compiled.string) != _forms(message.string):
            stale.append(f"differs in the .mo: {_key(message.id)!r}")
    translated = {(_key(message.id), message.context) for message in _translated(po_catalog)}
    extra = [
        _key(message.id)
        for message in mo_catalog
        if message.id and (_key(message.id), message.context) not in translated
    ]
    stale += [f"only in the .mo: {msgid!r}" for msgid in extra]
    assert not stale, "messages.mo is older than messages.po; run: pybabel compile -d stompro/translations\n" + "\n".join(stale)


def test_runtime_translations_load_the_catalog(po_catalog):
    # The same lookup Flask-Babel does for default_translation_directories.
    translations = Translations.load(str(TRANSLATIONS), ["ru"], "messages")
    assert type(translations) is Translations, "no compiled Russian catalog found"
    wrong = []
    for message in _translated(po_catalog):
        if message.context is not None:
            continue
        if isinstance(message.id, (list, tuple)):
            singular, plural = message.id[0], message.id[1]
            forms = list(message.string)
            for n, index in ((1, 0), (3, 1), (5, 2), (21, 0), (11, 2)):
                if translations.ngettext(singular, plural, n) != forms[min(index, len(forms) - 1)]:
                    wrong.append(f"{singular!r} n={n}")
        elif translations.gettext(message.id) != message.string:
            wrong.append(repr(message.id))
    assert not wrong, "the .mo does not translate as the .po says:\n" + "\n".join(wrong)


def test_placeholders_are_kept(po_catalog):
    broken = []
    for message in _po_messages(po_catalog):
        source = message.id[-1] if isinstance(message.id, (list, tuple)) else message.id
        wanted = _placeholders(source)
        for form in _forms(message.string):
            if form and _placeholders(form) != wanted:
                broken.append(f"{_key(message.id)!r} -> {form!r}")
    assert not broken, "placeholders differ between msgid and msgstr:\n" + "\n".join(broken)


def test_placeholder_pattern():
    assert _placeholders("Tooth %(tooth)s, %(n)d of %s, 100%%") == ({"tooth", "n"}, 1)

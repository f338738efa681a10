"""HTML → PDF for every document StomPRO prints (xhtml2pdf).

Documents are plain HTML (tables, CSS 2.1, ``@page``/``@frame``); this module
adds the one thing each of them needs and none should repeat: an embedded
Cyrillic font. DejaVu Sans (regular and bold) ships in ``stompro/fonts`` so
the PDF prints the same on a machine without system fonts, and the font
directory is named in the resource policy: xhtml2pdf silently drops a font it
is not allowed to read and falls back to Helvetica, which has no Cyrillic.
"""
import logging
from io import BytesIO
from pathlib import Path

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from .errors import DomainError

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "stompro-sans"
FONT_FILES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}

# Documents are rendered from our own templates: nothing is fetched over the
# network, local reads stay in the font directory (and the caller's
# ``base_path``), and a render that runs away is stopped.
MAX_RENDER_SECONDS = 60

log = logging.getLogger(__name__)


class PdfError(DomainError):
    """xhtml2pdf could not turn the document into a PDF."""


def font_css():
    """@font-face rules for the embedded font and the document's default family."""
    faces = "".join(
        f'@font-face {{ font-family: {FONT_FAMILY}; src: url("{(FONT_DIR / name).as_uri()}"); font-weight: {weight}; }}\n'
        for weight, name in FONT_FILES.items()
    )
    return Markup(f"{faces}html, body, table, td, th, p, div, span {{ font-family: {FONT_FAMILY}; }}\n")


def with_fonts(html):
    """``html`` with the font rules in front of the document's own styles, so
    that a template's ``font-family`` (if any) still wins."""
    style = f"<style>\n{font_css()}</style>"
    lowered = html[:2000].lower()
    head = lowered.find("<head>")
    if head >= 0:
        at = head + len("<head>")
        return html[:at] + style + html[at:]
    return style + html


def resource_policy(base_path=None):
    return ResourceAccessPolicy(
        allow_remote=False,
        base_dir=Path(base_path) if base_path else None,
        extra_roots=(FONT_DIR,),
        max_render_seconds=MAX_RENDER_SECONDS,
    )


def render_pdf(html, *, base_path=None):
    """The PDF (bytes) of an HTML document; A4 unless its ``@page`` says
    otherwise. ``base_path`` is the directory relative image paths are read
    from (none by default). Raises PdfError when xhtml2pdf reports errors."""
    output = BytesIO()
    result = pisa.CreatePDF(
        with_fonts(str(html)),
        dest=output,
        path=str(base_path) if base_path else "",
        encoding="utf-8",
        resource_policy=resource_policy(base_path),
    )
    if result.err:
        log.error("xhtml2pdf reported %s error(s) rendering a document", result.err)
        raise PdfError(_l("The document could not be turned into a PDF."))
    return output.getvalue()

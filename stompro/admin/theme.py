"""The admin's Bootswatch theme, served without its web-font import.

Clinics often run the panel on a network without the internet, where a
stylesheet that first waits for fonts.googleapis.com holds up every page. The
theme's font stack falls back to the system's sans-serif."""
import functools
import re
from pathlib import Path

from flask import Blueprint, Response, current_app

SWATCH = "flatly"
WEB_FONT_IMPORT = re.compile(rb"@import url\([^)]*\);?")

bp = Blueprint("theme", __name__)


@functools.cache
def _stylesheet(admin_static_folder):
    swatch = Path(admin_static_folder) / "bootstrap" / "bootstrap4" / "swatch" / SWATCH / "bootstrap.min.css"
    return WEB_FONT_IMPORT.sub(b"", swatch.read_bytes())


@bp.get("/theme/bootstrap.css")
def stylesheet():
    response = Response(_stylesheet(current_app.blueprints["admin"].static_folder), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response

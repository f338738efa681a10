"""Security headers on every response, and the per-request CSP nonce.

Every answer — panel pages, the sign-in page, error pages, static files, the
JSON API — carries the same Content-Security-Policy and the usual hardening
headers. Scripts run only from the panel's own files or from an inline
``<script>`` carrying this response's nonce, so an injected ``<script>`` or
``onclick=`` does nothing. The panel's own event handlers are delegated
listeners in static/admin/panel.js; the Flask-Admin templates that wrote
inline handlers are overridden under templates/admin/.

With ``HTTPS`` on (``STOMPRO_HTTPS=true``: the panel is served over TLS,
possibly behind a proxy), browsers are also told to keep to HTTPS for a year
and the session cookie is only sent over TLS.
"""
import secrets
from pathlib import Path

import flask_admin
from flask import current_app, g
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

HSTS = "max-age=31536000; includeSubDomains"

# Flask-Admin's own templates stay reachable as "flask_admin/admin/...", so an
# override in templates/admin/ can extend the original and replace one block.
FLASK_ADMIN_PREFIX = "flask_admin"

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def csp_nonce():
    """This request's nonce for inline ``<script>`` tags (made on first use)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(nonce=None):
    """The policy. Everything comes from the panel itself: its scripts,
    styles, fonts, images and the odontogram's and plan screen's fetch calls.

    - script-src: no 'unsafe-inline' and no 'unsafe-eval'; an inline script
      needs the response's nonce.
    - style-src keeps 'unsafe-inline': ``style=`` attributes are everywhere
      (our templates, Flask-Admin's, column formatters, select2 and the
      datetime picker write them). The issue forbids it for scripts only;
      CSS cannot run code. (No nonce here: a nonce would make browsers ignore
      'unsafe-inline'.)
    - img-src allows data: URIs (Bootstrap's form controls draw their arrows
      and checkmarks with data: SVG; the odontogram is inline SVG).
    """
    script_src = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    directives = (
        ("default-src", "'self'"),
        ("script-src", script_src),
        ("style-src", "'self' 'unsafe-inline'"),
        ("img-src", "'self' data:"),
        ("object-src", "'none'"),
        ("base-uri", "'self'"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'none'"),
    )
    return "; ".join(f"{name} {value}" for name, value in directives)


def add_security_headers(response):
    # The nonce is used up by its response (tests keep one g across requests).
    nonce = g.pop("csp_nonce", None)
    response.headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["HTTPS"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def https_setting(value):
    """STOMPRO_HTTPS arrives as JSON when it parses (true, 1) or as text."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def register_security(app):
    app.config["HTTPS"] = https_setting(app.config.get("HTTPS", False))
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    # Kept whatever a cfg file says: the session cookie is never readable by
    # scripts and is not sent on cross-site subrequests.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")

    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    admin = app.extensions.get("stompro_admin")
    theme_folder = admin.theme.folder if admin is not None else "bootstrap4"
    originals = Path(flask_admin.__file__).parent / "templates" / theme_folder
    app.jinja_loader = ChoiceLoader(
        [app.jinja_loader, PrefixLoader({FLASK_ADMIN_PREFIX: FileSystemLoader(str(originals))})]
    )

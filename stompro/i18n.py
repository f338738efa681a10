"""Language choice per user and helpers for bilingual reference data."""
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from .org.models import LANGUAGES


def select_locale():
    """The signed-in person's language, else the browser's, else the default."""
    if has_request_context():
        if current_user and current_user.is_authenticated:
            return current_user.language
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return current_app.config["DEFAULT_LANGUAGE"]


def current_language():
    """The language gettext speaks now: the request's, the one set with
    force_locale, else the clinic's default (jobs, the CLI, seeding)."""
    locale = get_locale()
    return locale.language if locale else current_app.config["DEFAULT_LANGUAGE"]


def localized(row, attribute="name"):
    """``row.name_ru`` or ``row.name_en`` after the current language."""
    value = getattr(row, f"{attribute}_{current_language()}", None)
    return value or getattr(row, f"{attribute}_en", "") or ""

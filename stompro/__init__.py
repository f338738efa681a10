"""StomPRO: a control panel for dental clinics."""
from pathlib import Path

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l

from .settings import PROJECT_ROOT, load_settings


def create_app(overrides=None):
    """Build the panel: settings, extensions, admin, blueprints, commands, errors."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    load_settings(app, overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    first_start = register_extensions(app)
    register_admin(app)
    register_blueprints(app)
    register_commands(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_security(app)
    if first_start:
        prepare_embedded_database(app)
    return app


def register_extensions(app):
    from . import database, models  # noqa: F401  (dialect hooks, the whole metadata)
    from .audit import recorder  # noqa: F401  (audit listeners)
    from . import records  # noqa: F401  (soft-delete guard)
    from .extensions import babel, csrf, db, login_manager, migrate
    from .i18n import select_locale

    first_start = database.embedded_database_is_new(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    return first_start


def register_admin(app):
    from .admin import build_admin

    build_admin(app)


def register_blueprints(app):
    from .api import bp as api_bp
    from .api import isolate_api_requests
    from .extensions import csrf
    from .org.views import bp as auth_bp
    from .org.views import enforce_idle_timeout

    app.register_blueprint(auth_bp)
    app.before_request(isolate_api_requests)  # before the sign-in cookie's hooks
    app.before_request(enforce_idle_timeout)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer tokens, not cookies

    @app.route("/")
    def root():
        from flask import redirect, url_for

        return redirect(url_for("admin.index"))

    @app.route("/favicon.ico")
    def favicon():
        from flask import redirect, url_for

        return redirect(url_for("static", filename="favicon.svg"), code=301)


def register_security(app):
    from .security import register_security

    register_security(app)


def register_commands(app):
    from .cli import register

    register(app)


ERROR_MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have the rights to open this page."),
    404: _l("There is no such page."),
    405: _l("This action is not allowed here."),
    413: _l("The file is too large."),
    500: _l("Something went wrong on our side. The error has been logged."),
}


def register_errorhandlers(app):
    from flask_wtf.csrf import CSRFError

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        message = ERROR_MESSAGES.get(code, getattr(error, "description", ""))
        return render_template("errors/error.html", code=code, message=message), code

    for code in ERROR_MESSAGES:
        app.register_error_handler(code, render_error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _l("The form expired or was sent from elsewhere. Reload the page and try again.")
        return render_template("errors/error.html", code=400, message=message), 400


def register_template_helpers(app):
    from .i18n import current_language
    from .patients.phones import format_phone
    from .timefmt import format_moment, format_money

    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["phone"] = format_phone


def prepare_embedded_database(app):
    """First start on SQLite: create the tables, load the demo clinic, print the logins."""
    from .seeding.loader import create_schema_and_seed_demo

    with app.app_context():
        create_schema_and_seed_demo()

"""Where settings come from: config/defaults.py, instance/stompro.cfg,
STOMPRO_* variables, DATABASE_URL / REDIS_URL, then the caller's overrides."""
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url(raw):
    """Accept the usual ``postgres://`` spellings; we drive PostgreSQL with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def load_settings(app, overrides=None):
    app.config.from_pyfile(str(PROJECT_ROOT / "config" / "defaults.py"))
    app.config.from_pyfile("stompro.cfg", silent=True)
    app.config.from_prefixed_env("STOMPRO")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("REDIS_URL"):
        app.config["REDIS_URL"] = os.environ["REDIS_URL"]
    app.config.update(overrides or {})

    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    app.config["EMBEDDED_DATABASE"] = not uri
    if not uri:
        uri = f"sqlite:///{Path(app.instance_path) / 'stompro.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(uri)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # psycopg converts every statement's placeholders in Python and caches
        # only small ones: multi-row INSERTs of a few dozen rows cost least
        # (measured on ORM flushes of ~600 rows: 216 ms instead of 336 ms).
        # Writes of hundreds of rows go through stompro.bulk instead.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("insertmanyvalues_page_size", 20)
    app.config.setdefault("ATTACHMENTS_DIR", None)
    if not app.config["ATTACHMENTS_DIR"]:
        app.config["ATTACHMENTS_DIR"] = str(Path(app.instance_path) / "attachments")
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_ATTACHMENT_MB"]) * 1024 * 1024 + 65536
    app.config["PERMANENT_SESSION_LIFETIME"] = int(app.config["SESSION_IDLE_MINUTES"]) * 60
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))


def _instance_secret(instance):
    """A SECRET_KEY generated once into instance/secret_key."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()

"""Sign-in, sign-out, the idle timeout, the forced password change and the
language switch.

A session holds the person's ``session_epoch`` as it was at sign-in; the
user loader accepts it only while the person is active and the epoch is
still theirs, so sign-out, a new password, deactivation or other roles end
every session of the person on every computer (org.services.end_sessions)."""
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import db, login_manager
from .forms import LoginForm
from .models import LANGUAGES, Staff
from .services import authenticate, sign_out

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to open this page.")
login_manager.login_message_category = "info"

# The session key holding the epoch the session was issued with.
EPOCH_KEY = "epoch"

# The password page of a person who must choose a new password, and what
# stays reachable meanwhile (besides static files and the JSON API).
PASSWORD_PAGE = "account.password"
OPEN_WHILE_PASSWORD_CHANGE = frozenset({PASSWORD_PAGE, "auth.login", "auth.logout", "auth.change_language", "theme.stylesheet"})


@login_manager.user_loader
def load_staff(staff_id):
    try:
        staff = db.session.get(Staff, int(staff_id))
    except (TypeError, ValueError):
        return None
    if staff is None or not staff.active:
        return None
    epoch = session.get(EPOCH_KEY)
    if not isinstance(epoch, int) or epoch != staff.session_epoch:
        return None  # ended by sign-out, a new password, deactivation or other roles
    return staff


def start_session(staff):
    """Sign ``staff`` in on this browser with a fresh session."""
    session.clear()
    login_user(staff, remember=False)
    session[EPOCH_KEY] = staff.session_epoch
    session.permanent = True
    _touch()


def keep_session(staff):
    """After ``staff`` ended all their sessions themselves (a new password),
    keep the one they did it from: it carries the new epoch."""
    session[EPOCH_KEY] = staff.session_epoch
    _touch()


# Characters no same-site path needs and that browsers read in surprising
# ways: control characters (a tab or a new line is dropped, so "/\t/evil"
# becomes "//evil") and backslashes (read as slashes).
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target):
    """``target`` if it is a path on this site, else None. Checked as given
    and once more percent-decoded, so neither "//evil.example", "/\\evil",
    "%2F%2Fevil" nor "javascript:" gets through."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    for candidate in (target, unquote(target)):
        if _UNSAFE_IN_NEXT.search(candidate):
            return None
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            staff = authenticate(
                db.session,
                form.login.data,
                form.password.data,
                request.remote_addr,
                max_failures=current_app.config["LOCKOUT_FAILURES"],
                lockout_minutes=current_app.config["LOCKOUT_MINUTES"],
            )
        except DomainError as error:
            db.session.commit()  # keep the failure counter
            form.password.errors.append(str(error.message))
        else:
            db.session.commit()
            start_session(staff)
            if staff.must_change_password:
                return redirect(url_for(PASSWORD_PAGE))
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        sign_out(db.session, current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    flash(_l("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@login_required
def change_language():
    language = request.form.get("language")
    if language in LANGUAGES:
        current_user.language = language
        db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("admin.index"))


def _touch():
    session["seen"] = datetime.now(timezone.utc).timestamp()


def _is_static(endpoint):
    return endpoint == "static" or endpoint.endswith(".static")


def enforce_idle_timeout():
    """Sign out a session left idle longer than SESSION_IDLE_MINUTES."""
    if request.endpoint and request.endpoint.endswith("static"):
        return None
    if not current_user.is_authenticated:
        return None
    seen = session.get("seen")
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]).total_seconds()
    now = datetime.now(timezone.utc).timestamp()
    if seen is not None and now - seen > idle:
        logout_user()
        session.clear()
        flash(_l("You were signed out after a period of inactivity."), "info")
        return redirect(url_for("auth.login", next=request.full_path))
    _touch()
    return None


@bp.before_app_request
def enforce_password_change():
    """While a person must choose a new password (the owner gave them a
    temporary one), every page of the panel leads to the password page."""
    endpoint = request.endpoint
    if endpoint is None or _is_static(endpoint) or endpoint in OPEN_WHILE_PASSWORD_CHANGE:
        return None
    from ..api import is_api_request

    if is_api_request():
        return None  # tokens are not issued to such a person (api/auth.py)
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    flash(_l("Choose a new password to continue."), "warning")
    return redirect(url_for(PASSWORD_PAGE))

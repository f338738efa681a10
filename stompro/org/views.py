"""Sign-in, sign-out, the idle timeout and the language switch."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import db, login_manager
from .forms import LoginForm
from .models import LANGUAGES, Staff
from .services import authenticate

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to open this page.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_staff(staff_id):
    staff = db.session.get(Staff, int(staff_id))
    return staff if staff and staff.active else None


def _safe_next(target):
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
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
            session.clear()
            login_user(staff, remember=False)
            session.permanent = True
            _touch()
            return redirect(_safe_next(request.args.get("next")) or url_for("admin.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
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
    return redirect(_safe_next(request.form.get("next")) or url_for("admin.index"))


def _touch():
    session["seen"] = datetime.now(timezone.utc).timestamp()


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

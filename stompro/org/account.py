"""A person's own account: /account/password, linked from the top bar."""
from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import DomainError
from ..extensions import db
from .forms import ChangePasswordForm
from .services import MIN_PASSWORD_LENGTH, change_own_password
from .views import keep_session


class AccountView(BaseView):
    """Open to everyone signed in, whatever their roles; not in the menu."""

    def is_visible(self):
        return False

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        return redirect(url_for(".password"))

    @expose("/password", methods=("GET", "POST"))
    def password(self):
        staff = current_user._get_current_object()
        form = ChangePasswordForm()
        if form.validate_on_submit():
            try:
                change_own_password(
                    db.session,
                    staff,
                    form.current_password.data,
                    form.new_password.data,
                    address=request.remote_addr,
                    max_failures=current_app.config["LOCKOUT_FAILURES"],
                    lockout_minutes=current_app.config["LOCKOUT_MINUTES"],
                )
            except DomainError as error:
                db.session.commit()  # a wrong current password counts as a failed sign-in; nothing else was written
                field = getattr(form, error.field or "new_password", form.new_password)
                field.errors = [*field.errors, str(error.message)]
            else:
                db.session.commit()
                keep_session(staff)
                flash(_("Your password is changed. Every other session and API token of yours has ended."), "success")
                return redirect(url_for("admin.index"))
        return self.render(
            "account/password.html", form=form, must_change=staff.must_change_password, min_length=MIN_PASSWORD_LENGTH
        )

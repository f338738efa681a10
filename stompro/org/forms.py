from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired


class LoginForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])

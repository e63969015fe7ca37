"""The account page's forms: password change, second factor on and off, recovery codes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from api.workspace.forms.signin import NewPasswordForm
from registry.accounts.passwords import MAX_LENGTH


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                                     render_kw={"autocomplete": "current-password"})


class EnrolForm(FlaskForm):
    code = StringField("6-digit code from the app", validators=[DataRequired(), Length(max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"})


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})

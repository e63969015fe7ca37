"""The API tokens page's forms (R-W1, R-P5, R-X7)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

#: How long a new token lasts, in days (never past the registry's longest, ``ARCREG_TOKEN_MAX_LIFETIME_DAYS``).
LIFETIMES = (7, 30, 90, 365)


class TokenForm(FlaskForm):
    label = StringField("Label (what the token is for, e.g. the ERP export)", validators=[DataRequired(),
                                                                                         Length(max=100)])
    days = SelectField("Lasts", choices=[SelectChoice(str(d), f"{d} days") for d in LIFETIMES], default="90")


class RevokeForm(FlaskForm):
    """The CSRF token only."""

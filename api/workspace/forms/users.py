"""The administrator's user forms (R-W5): disable, enable, reset link."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class ResetLinkForm(FlaskForm):
    clears_totp = BooleanField("Also remove the user's authenticator (lost phone and recovery codes)")

"""The administrator's participant and user forms (R-W5)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class RegisterParticipantForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    country = StringField("Country (two-letter ISO code, e.g. US)", validators=[DataRequired(), Length(min=2, max=2)])
    gpp_signed_on = DateField("Good Practice Principles signed on (leave empty if not yet)", validators=[Optional()])


class SuspendForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class ActivateForm(FlaskForm):
    """The CSRF token only."""


class NewUserForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice("member", "member of a participant"),
                                        SelectChoice("certifier", "certifier of a certification body"),
                                        SelectChoice("admin", "registry administrator")], default="member")
    participant_id = SelectField("Participant (for a member)", choices=[], validate_choice=False, default="")
    body_code = StringField("Certification body code (for a certifier, e.g. NSF)", validators=[Optional(),
                                                                                                 Length(max=20)])

"""The webhooks page's forms (R-W3, R-N1): register an endpoint; the buttons carry only CSRF."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from registry.notifications.events import TYPES


class WebhookForm(FlaskForm):
    url = StringField("Endpoint URL (https)", validators=[DataRequired(), Length(max=2000)])
    events = SelectMultipleField("Events to send (none ticked: all of them)", choices=[SelectChoice(t, t) for t in TYPES],
                                 option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


class ButtonForm(FlaskForm):
    """Disable, enable, delete: the CSRF token only."""

"""The certifier's forms (R-W4): record an additionality determination.

Text only; the checks are the API's request schema (api/determinations.py:
DeterminationIn) on the body the page builds, and the registry's service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from api.workspace.forms.generator import UNITS, choices
from registry.additionality import CLASS_B_TESTS

BASES = [("new_operation", "New operation (start or restart date)"),
         ("capacity", "Increased capacity (production before and after)"),
         ("phase_out", "Phase-out exemption for existing processors (2021–2025, post-consumer only)")]


class DeterminationForm(FlaskForm):
    facility_id = SelectField("Facility", coerce=str, validate_choice=False)
    certification_year = StringField("Certification year", validators=[Optional(), Length(max=4)],
                                     render_kw={"inputmode": "numeric"})
    mandate_share = StringField("Share of output sold to meet a legal mandate (0 to 1)",
                                validators=[Optional(), Length(max=12)], default="0",
                                render_kw={"inputmode": "decimal"})
    basis = SelectField("Newness basis", choices=choices(BASES))
    operation_start = DateField("Operation start (new operation)", validators=[Optional()])
    invested_on = DateField("Capacity increase in service on (increased capacity)", validators=[Optional()])
    before_value = StringField("Production in the 12 months before, per year", validators=[Optional(), Length(max=40)],
                               render_kw={"inputmode": "decimal"})
    after_value = StringField("Production after, per year", validators=[Optional(), Length(max=40)],
                              render_kw={"inputmode": "decimal"})
    production_unit = SelectField("Unit of the production figures", choices=choices(UNITS), default="t")
    class_b_test = SelectField("Class B test", choices=choices((t, t.replace("_", " ")) for t in CLASS_B_TESTS))
    class_b_passed = SelectField("Result", choices=choices([("yes", "passed"), ("no", "failed")]))
    class_b_rationale = TextAreaField("Rationale", validators=[Optional(), Length(max=4000)])
    evidence_sha256 = StringField("Evidence document SHA-256 (optional)", validators=[Optional(), Length(max=64)],
                                  render_kw={"spellcheck": "false"})
    evidence_description = StringField("What the document is", validators=[Optional(), Length(max=200)])

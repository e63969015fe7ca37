"""The certifier's forms (R-W4): record or withdraw an additionality determination; renew,
amend, suspend, reinstate or revoke a certificate of the body (R-C3, R-C6).

Text only; the checks are the API's request schema (api/determinations.py:
DeterminationIn) on the body the page builds, and the registry's service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from api.workspace.forms.generator import UNITS, choices
from registry.additionality import CLASS_B_TESTS, INVESTMENT_CATEGORIES
from registry.certification import ACTIVITIES, CONTROL_SYSTEMS

BASES = [("new_operation", "New operation (start or restart date)"),
         ("financial", "Reinvestment: financial threshold (investment against fair market value)"),
         ("quality", "Reinvestment: quality improvement (price premium or reclassification)"),
         ("capacity", "Increased capacity (production before and after)"),
         ("phase_out", "Phase-out exemption for existing processors (2021–2025, post-consumer only)")]


CATEGORIES = [(c, c.replace("_", " ")) for c in INVESTMENT_CATEGORIES]
INVESTMENT_LINES = 3


class DeterminationForm(FlaskForm):
    facility_id = SelectField("Facility", coerce=str, validate_choice=False)
    certification_year = StringField("Certification year", validators=[Optional(), Length(max=4)],
                                     render_kw={"inputmode": "numeric"})
    mandate_share = StringField("Share of output sold to meet a legal mandate (0 to 1)",
                                validators=[Optional(), Length(max=12)], default="0",
                                render_kw={"inputmode": "decimal"})
    basis = SelectField("Newness basis", choices=choices(BASES))
    operation_start = DateField("Operation start (new operation)", validators=[Optional()])
    invested_on = DateField("Reinvestment or capacity increase in service on (financial, quality, increased capacity)",
                            validators=[Optional()])
    before_value = StringField("Production in the 12 months before, per year", validators=[Optional(), Length(max=40)],
                               render_kw={"inputmode": "decimal"})
    after_value = StringField("Production after, per year", validators=[Optional(), Length(max=40)],
                              render_kw={"inputmode": "decimal"})
    production_unit = SelectField("Unit of the production figures", choices=choices(UNITS), default="t")
    # Financial threshold (P7.2.4.5): up to three investment lines; labour, studies, rentals, permits do not count.
    fair_market_value = StringField("Fair market value before the investment", validators=[Optional(), Length(max=24)],
                                    render_kw={"inputmode": "decimal"})
    investment_category_0 = SelectField("Investment 1: category", choices=choices(CATEGORIES),
                                        default="primary_equipment")
    investment_amount_0 = StringField("Investment 1: amount", validators=[Optional(), Length(max=24)],
                                      render_kw={"inputmode": "decimal"})
    investment_category_1 = SelectField("Investment 2: category", choices=choices(CATEGORIES),
                                        default="primary_equipment")
    investment_amount_1 = StringField("Investment 2: amount (optional)", validators=[Optional(), Length(max=24)],
                                      render_kw={"inputmode": "decimal"})
    investment_category_2 = SelectField("Investment 3: category", choices=choices(CATEGORIES),
                                        default="primary_equipment")
    investment_amount_2 = StringField("Investment 3: amount (optional)", validators=[Optional(), Length(max=24)],
                                      render_kw={"inputmode": "decimal"})
    # Quality improvement (P7.2.4.6)
    quality_volume = StringField("Volume meeting the new specification, per year", validators=[Optional(), Length(max=40)],
                                 render_kw={"inputmode": "decimal"})
    price_increase = StringField("Price increase (a fraction: 0.15 is 15%)", validators=[Optional(), Length(max=12)],
                                 render_kw={"inputmode": "decimal"})
    market_increase = StringField("Market index increase (a fraction)", validators=[Optional(), Length(max=12)],
                                  render_kw={"inputmode": "decimal"})
    reclassification = StringField("Reclassification (e.g. food grade), if any", validators=[Optional(), Length(max=200)])
    class_b_test = SelectField("Class B test", choices=choices((t, t.replace("_", " ")) for t in CLASS_B_TESTS))
    class_b_passed = SelectField("Result", choices=choices([("yes", "passed"), ("no", "failed")]))
    class_b_rationale = TextAreaField("Rationale", validators=[Optional(), Length(max=4000)])
    evidence_sha256 = StringField("Evidence document SHA-256 (optional)", validators=[Optional(), Length(max=64)],
                                  render_kw={"spellcheck": "false"})
    evidence_description = StringField("What the document is", validators=[Optional(), Length(max=200)])


def _ticks(label: str, values) -> SelectMultipleField:
    return SelectMultipleField(label, choices=choices((v, v.replace("-", " ")) for v in values),
                               option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


class RenewForm(FlaskForm):
    """R-C6 (RMS 7.2.2): a new validity period under the same number, after the last one."""

    issued_on = DateField("New period starts on", validators=[Optional()])
    expires_on = DateField("New period ends on", validators=[Optional()])


class AmendForm(FlaskForm):
    """R-C6 (RMS 7.4.3): the scope and sites from a date; filled in with the scope in force."""

    effective_on = DateField("In force from", validators=[Optional()])
    activities = _ticks("Activities", ACTIVITIES)
    control_systems = _ticks("Control systems", CONTROL_SYSTEMS)
    product_groups = TextAreaField("Product groups, one a line", validators=[Optional(), Length(max=4000)])
    sites = TextAreaField("Sites, one a line: name; address; country code",
                          validators=[Optional(), Length(max=20000)], render_kw={"spellcheck": "false"})


STATUS_CHANGES = [("suspend", "Suspend"), ("reinstate", "Reinstate (lift a suspension)"),
                  ("revoke", "Revoke (permanent)")]


class StatusForm(FlaskForm):
    """R-C3, R-C5: a dated event with a reason, never a deletion."""

    action = SelectField("Change", choices=choices(STATUS_CHANGES))
    on = DateField("From", validators=[Optional()])
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=1000)])


class WithdrawForm(FlaskForm):
    """R-A7 (RMS 8.5.2): no more generation under it; ARCs already generated stay active."""

    reason = StringField("Reason", validators=[Optional(), Length(max=1000)])

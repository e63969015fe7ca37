"""The holder pages' forms (R-W3): block filters, transfer (single and a CSV upload),
retire with its claim builder. Quantities and masses stay text here: the registry
parses them (``registry.units``, Decimal, never float) and its refusals land on the
fields (``api/workspace/messages.py``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from registry.holdings import STATES

#: Rows of the product composition in the claim builder (more types in one product are rare).
COMPOSITION_ROWS = 3
#: The CSV upload: at most this many bytes (1 000 lines of the three columns fit many times over).
MAX_CSV_BYTES = 512 * 1024


class BlockFilterForm(FlaskForm):
    """GET filters of the block list: no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    arc_type = SelectField("ARC type", choices=[SelectChoice("", "Any type")], validate_choice=False, default="")
    year = SelectField("Vintage (generation year)", choices=[SelectChoice("", "Any year")], validate_choice=False,
                       default="")
    state = SelectField("State", choices=[SelectChoice("", "Any state"), *(SelectChoice(s, s) for s in STATES)],
                        default="")


class StatementForm(FlaskForm):
    """GET: the account statement's period (R-N4)."""

    class Meta:
        csrf = False

    start = DateField("From (first day, UTC)", validators=[DataRequired()])
    end = DateField("To (last day, UTC)", validators=[DataRequired()])


class TransferForm(FlaskForm):
    serial = SelectField("Block", validate_choice=False, validators=[DataRequired()],
                         render_kw={"autocomplete": "off"})
    quantity = StringField("Quantity (certificates)", validators=[DataRequired(), Length(max=40)],
                           render_kw={"inputmode": "decimal", "autocomplete": "off"})
    to_participant_id = SelectField("Recipient participant", coerce=int, validate_choice=False,
                                    validators=[DataRequired()])


class UploadForm(FlaskForm):
    csv_file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")],
                         render_kw={"accept": ".csv,text/csv"})


class ConfirmForm(FlaskForm):
    """The confirm step: the validated items travel as repeated hidden fields."""


class RetireForm(FlaskForm):
    serial = SelectField("Block", validate_choice=False, validators=[DataRequired()])
    quantity = StringField("Quantity (certificates)", validators=[DataRequired(), Length(max=40)],
                           render_kw={"inputmode": "decimal", "autocomplete": "off"})
    beneficiary = StringField("Beneficiary", validators=[DataRequired(), Length(max=200)],
                              render_kw={"autocomplete": "organization"})
    claim_type = RadioField("Claim", default="general", validators=[DataRequired()], choices=[
        SelectChoice("general", "General claim: support for recycling"),
        SelectChoice("product", "Product claim: a named product and its composition")])
    product_name = StringField("Product name", validators=[Optional(), Length(max=200)])
    comp_type_0 = StringField("Material type (ARC type) 1", validators=[Optional(), Length(max=8)])
    comp_mass_0 = StringField("Its mass in the product, tonnes", validators=[Optional(), Length(max=40)],
                              render_kw={"inputmode": "decimal"})
    comp_type_1 = StringField("Material type (ARC type) 2", validators=[Optional(), Length(max=8)])
    comp_mass_1 = StringField("Its mass, tonnes", validators=[Optional(), Length(max=40)],
                              render_kw={"inputmode": "decimal"})
    comp_type_2 = StringField("Material type (ARC type) 3", validators=[Optional(), Length(max=8)])
    comp_mass_2 = StringField("Its mass, tonnes", validators=[Optional(), Length(max=40)],
                              render_kw={"inputmode": "decimal"})
    claimed_status = SelectField("Recycled status the claim states", default="",
                                 choices=[SelectChoice("", "The certificates' own (not stated)"),
                                          SelectChoice("PC", "PC: post-consumer"),
                                          SelectChoice("PI", "PI: post-industrial"), SelectChoice("R", "R: recycled")])
    label_approval_ref = StringField("Label approval reference", validators=[Optional(), Length(max=100)])
    basis_mass = StringField("Claim basis: the product's mass, tonnes", validators=[Optional(), Length(max=40)],
                             render_kw={"inputmode": "decimal"})
    country = StringField("Country (ISO code, e.g. US)", validators=[Optional(), Length(max=2)],
                          render_kw={"autocomplete": "off", "spellcheck": "false"})
    subdivision = StringField("Subdivision (ISO 3166-2, e.g. US-CA)", validators=[Optional(), Length(max=6)],
                              render_kw={"autocomplete": "off", "spellcheck": "false"})
    period_from = DateField("Claim period from", validators=[Optional()])
    period_to = DateField("Claim period to", validators=[Optional()])
    reporting_year = IntegerField("Reporting year", validators=[DataRequired()])
    claim_date = DateField("Claim date", validators=[Optional()])
    statement = TextAreaField("Statement in the beneficiary's own words", validators=[Optional(), Length(max=2000)],
                              render_kw={"rows": 4})

    def composition(self) -> list[tuple[str, str]]:
        """The filled rows: (ARC type, tonnes as typed)."""
        rows = []
        for k in range(COMPOSITION_ROWS):
            arc_type = (getattr(self, f"comp_type_{k}").data or "").strip()
            mass = (getattr(self, f"comp_mass_{k}").data or "").strip()
            if arc_type or mass:
                rows.append((arc_type, mass))
        return rows

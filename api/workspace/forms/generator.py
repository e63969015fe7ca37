"""The generator pages' forms (R-W2): register a lot, record a disposition, generate,
record a custody input or output.

The fields only carry text; the checks are the API's own request schemas
(api/lots.py: LotIn, DispositionIn, GenerationIn; api/custody/schemas.py: InputIn,
OutputIn) applied to the body the page
builds from them, and the registry's services — so a page accepts and refuses
exactly what the API does."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional



def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as a select's options."""
    return [SelectChoice(value, label) for value, label in pairs]


UNITS = (("kg", "kg"), ("t", "t (tonnes)"), ("lb", "lb (pounds)"))


def _text(label: str, size: int = 200, **kw) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=size)], **kw)


class ReceiptCitationForm(Form):
    """One receipt a custody lot cites (R-M6): LotIn's ``receipts`` item."""

    receipt_id = SelectField("Receipt", coerce=str, validate_choice=False)
    mass_value = _text("Part of it the lot used (empty: all of it)", 40, render_kw={"inputmode": "decimal"})
    mass_unit = SelectField("Unit", choices=choices(UNITS), default="t")


#: Receipt rows the lot form shows at first; ``?rows=`` asks for more, up to MAX_CITATIONS.
CITATIONS = 3
MAX_CITATIONS = 50


class LotForm(FlaskForm):
    facility_id = SelectField("Facility", coerce=str, validate_choice=False)
    line_id = SelectField("Production line (optional)", coerce=str, validate_choice=False)
    reference = _text("Lot reference", 100, render_kw={"spellcheck": "false"})
    material_code = _text("RMS material ID code", 20, render_kw={"spellcheck": "false", "placeholder": "PC_P3.1.9"})
    mass_value = _text("Dry mass", 40, render_kw={"inputmode": "decimal"})
    mass_unit = SelectField("Unit of the dry mass", choices=choices(UNITS), default="t")
    pc_mass_value = _text("Post-consumer part of the dry mass", 40, render_kw={"inputmode": "decimal"})
    pi_mass_value = _text("Post-industrial part of the dry mass", 40, render_kw={"inputmode": "decimal"})
    non_plastic_fraction = _text("Non-plastic content (mass fraction, 0 to 1)", 20, default="0",
                                 render_kw={"inputmode": "decimal"})
    lhv_mj_per_kg = _text("Lower heating value, MJ/kg (P2 intermediates only)", 20,
                          render_kw={"inputmode": "decimal"})
    processed_on = DateField("Processed into saleable form on", validators=[Optional()])
    rms_certificate = SelectField("RMS certificate it was produced under", coerce=str, validate_choice=False)
    custody_account_id = SelectField("Custody account the lot is an output of", coerce=str, validate_choice=False)
    receipts = FieldList(FormField(ReceiptCitationForm), min_entries=CITATIONS, max_entries=MAX_CITATIONS)
    input_material_code = _text("Input material ID code", 20, render_kw={"spellcheck": "false",
                                                                         "placeholder": "PC_P5.1.6"})
    input_mass_value = _text("Input mass", 40, render_kw={"inputmode": "decimal"})
    input_mass_unit = SelectField("Unit of the input mass", choices=choices(UNITS), default="t")
    transformation = SelectField("Transformation", choices=choices([("physical", "physical"), ("chemical", "chemical")]))
    description = TextAreaField("Process description", validators=[Optional(), Length(max=2000)])
    factor = _text("Conversion factor, percent", 20, render_kw={"inputmode": "decimal"})
    justification = TextAreaField("Justification of the factor", validators=[Optional(), Length(max=2000)])
    output_mass_value = _text("Documented output of the lot's material", 40, render_kw={"inputmode": "decimal"})
    output_mass_unit = SelectField("Unit of the output", choices=choices(UNITS), default="t")
    evidence_sha256 = _text("Evidence document SHA-256 (optional)", 64, render_kw={"spellcheck": "false"})
    evidence_description = _text("What the document is", 200)


class DispositionForm(FlaskForm):
    kind = SelectField("Kind", choices=choices([("sale", "sale"), ("consumption", "consumption")]))
    on = DateField("Date", validators=[Optional()])
    counterparty = _text("Customer (or own plant, for consumption)")
    mass_value = _text("Mass (leave empty for all that is left)", 40, render_kw={"inputmode": "decimal"})
    mass_unit = SelectField("Unit", choices=choices(UNITS), default="t")
    claim = _text("RMS claim the sale carried (optional)", 60, render_kw={"placeholder": "RMS 75% PC MB"})


class GenerateForm(FlaskForm):
    component = SelectField("Component", coerce=str, validate_choice=False)
    mass_value = _text("Base mass to use", 40, render_kw={"inputmode": "decimal"})
    mass_unit = SelectField("Unit", choices=choices(UNITS), default="kg")


class ClosePeriodForm(FlaskForm):
    pass


CLAIM_HINT = {"spellcheck": "false", "placeholder": "RMS 100% PC MB"}


class ReceiptForm(FlaskForm):
    """A custody input (R-M2): the fields of the API's InputIn."""

    on = DateField("Received on", validators=[Optional()])
    supplier_name = _text("Supplier")
    supplier_certificate = _text("Supplier's RMS certificate number", 16, render_kw={"spellcheck": "false"})
    reference = _text("Document reference (invoice, bill of lading)")
    material_code = _text("RMS material ID code", 20, render_kw={"spellcheck": "false", "placeholder": "PC_P3.1.9"})
    mass_value = _text("Mass", 40, render_kw={"inputmode": "decimal"})
    mass_unit = SelectField("Unit", choices=choices(UNITS), default="t")
    claim = _text("RMS claim it arrived with", 60, render_kw=CLAIM_HINT)
    facility_id = SelectField("Site", coerce=str, validate_choice=False)


class OutputForm(FlaskForm):
    """A custody output (R-M3): the fields of the API's OutputIn."""

    on = DateField("Date", validators=[Optional()])
    customer = _text("Customer")
    reference = _text("Document reference (invoice, delivery note)")
    material_code = _text("RMS material ID code", 20, render_kw={"spellcheck": "false", "placeholder": "PC_P3.1.9"})
    mass_value = _text("Mass", 40, render_kw={"inputmode": "decimal"})
    mass_unit = SelectField("Unit", choices=choices(UNITS), default="t")
    claim = _text("RMS claim it leaves with", 60, render_kw=CLAIM_HINT)
    facility_id = SelectField("Site", coerce=str, validate_choice=False)

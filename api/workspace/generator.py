"""The generator's pages (R-W2): facilities and their additionality determinations (read),
lots with their dispositions, registering a lot, recording a disposition, generating from
a lot after seeing exactly what it can back and why; the custody accounts' pages are
in ``api/workspace/custody.py``.

Thin views: every write is the API's service (registry.lots.register_lot,
lots.add_disposition, generation.generate, custody.services.receive_input, record_output,
close_period) in the page's unit of work, every input check the API's request schema
(api/lots.py, api/custody/schemas.py); what a lot can
back is ``registry.generation.availability_of`` (R-W2). A refusal rolls back and shows
the rule and what to change (api/workspace/messages.py).
"""

from __future__ import annotations

import re

from flask import redirect, render_template, request, url_for
from sqlmodel import select

from api.lots import DispositionIn, GenerationIn, LotIn
from api.workspace import bp, messages, people
from api.workspace.forms.generator import (CITATIONS, MAX_CITATIONS, DispositionForm, GenerateForm, LotForm,
                                           choices)
from api.workspace.custody import _latest
from api.workspace.pages import CHECKED, LIMIT, MASS_FIELDS, mass_body, member_participant
from api.workspace.schemas import Refused, submit
from registry import generation, lots
from registry.custody import rules as custody_rules
from registry.custody.models import CustodyAccount
from registry.determinations import used_kg
from registry.errors import RegistryError
from registry.models import Block, Determination, Disposition, Facility, Lot, ProductionLine
from registry.rms_certificates import certificates_citable_by

#: The API's field paths (R-X1 ``field``) -> the lot form's fields.
LOT_FIELDS = {"mass": "mass_value", "conversion.inputs.0.material_code": "input_material_code",
              "conversion.inputs.0.mass": "input_mass_value", "conversion.outputs.0.mass": "output_mass_value",
              "conversion.outputs.0.material_code": "material_code", "conversion.transformation": "transformation",
              "conversion.description": "description", "conversion.factor": "factor",
              "conversion.justification": "justification", "conversion.outputs": "output_mass_value",
              "conversion": "output_mass_value", "evidence.0.sha256": "evidence_sha256",
              "evidence.0.description": "evidence_description", "pc_mass": "pc_mass_value",
              "pi_mass": "pi_mass_value", "receipts": "receipts"}

# --- facilities ---------------------------------------------------------------------------------

@bp.get("/facilities")
@people.signed_in_page("member")
def facilities(uow, person):
    pid = member_participant(person)
    rows = list(uow.session.exec(select(Facility).where(Facility.participant_id == pid).order_by(Facility.id)))
    ids = [f.id for f in rows]
    lines = {}
    for line in uow.session.exec(select(ProductionLine).where(ProductionLine.facility_id.in_(ids))
                                 .order_by(ProductionLine.id)) if ids else ():
        lines.setdefault(line.facility_id, []).append(line)
    found = {}
    for d in uow.session.exec(select(Determination).where(Determination.facility_id.in_(ids))
                              .order_by(Determination.certification_year.desc(), Determination.id.desc())) if ids else ():
        found.setdefault(d.facility_id, []).append(
            (d, used_kg(uow, d.facility_id, d.certification_year, d.line_id)))
    return render_template("workspace/facilities.html", person=person, section="facilities", facilities=rows,
                           lines=lines, determinations=found)


# --- lots ---------------------------------------------------------------------------------------

@bp.get("/lots")
@people.signed_in_page("member")
def lot_list(uow, person):
    pid = member_participant(person)
    rows = list(uow.session.exec(select(Lot).where(Lot.generator_id == pid).order_by(Lot.id.desc()).limit(LIMIT)))
    sales = {}
    for d in uow.session.exec(select(Disposition).where(Disposition.lot_id.in_([r.id for r in rows]))
                              .order_by(Disposition.id)) if rows else ():
        sales.setdefault(d.lot_id, []).append(d)
    names = dict(uow.session.exec(select(Facility.id, Facility.name).where(Facility.participant_id == pid)).all())
    notice = "The lot is registered." if request.args.get("notice") == "registered" else None
    return render_template("workspace/lots.html", person=person, section="lots", lots=rows, limit=LIMIT,
                           dispositions=sales, facility_names=names, eligible=lots.eligible_kg, notice=notice)


def _lot_choices(uow, person, form: LotForm) -> None:
    pid = member_participant(person)
    sites = list(uow.session.exec(select(Facility).where(Facility.participant_id == pid).order_by(Facility.id)))
    form.facility_id.choices = choices([(str(f.id), f"{f.name} ({f.country})") for f in sites])
    names = {f.id: f.name for f in sites}
    lines = uow.session.exec(select(ProductionLine).where(ProductionLine.facility_id.in_(list(names)))
                             .order_by(ProductionLine.id)) if names else ()
    form.line_id.choices = choices([("", "none: the facility as a whole")] + [
        (str(line.id), f"{names[line.facility_id]}: {line.name}") for line in lines])
    form.rms_certificate.choices = choices([(c.number, f"{c.number} ({c.body_code}, until {c.expires_on})")
                                              for c in certificates_citable_by(uow, pid)])
    accounts = list(uow.session.exec(select(CustodyAccount).where(CustodyAccount.participant_id == pid)
                                     .order_by(CustodyAccount.id)))
    form.custody_account_id.choices = choices([("", "none")] + [
        (str(a.id), f"account {a.id}: {a.product_group}, {a.control_system}") for a in accounts])
    # R-M6: a custody lot cites receipts of its account (a credit account: mass balance or segregation).
    cited = [("", "none")]
    for a in accounts:
        if a.control_system in custody_rules.CREDIT_SYSTEMS:
            cited += [(str(r.id), f"account {a.id}: {r.reference} from {r.supplier_name}, received {r.on}, "
                                  f"{r.mass_kg} kg, {r.claim or 'no claim'}") for r in _latest(uow, "inputs", a.id)[0]]
    for i, entry in enumerate(form.receipts, start=1):
        entry.form.receipt_id.choices = choices(cited)
        entry.form.receipt_id.label.text = f"Receipt {i}"
        entry.form.mass_value.label.text = f"Part of receipt {i} the lot used (empty: all of it)"
        entry.form.mass_unit.label.text = f"Unit of that part of receipt {i}"


def _lot_page(uow, person, form, status=200):
    _lot_choices(uow, person, form)
    return render_template("workspace/lot_new.html", person=person, section="lots", form=form,
                           max_citations=MAX_CITATIONS), status


def _lot_body(form: LotForm) -> dict:
    body = {
        "facility_id": form.facility_id.data, "reference": form.reference.data or "",
        "material_code": (form.material_code.data or "").strip(),
        "mass": mass_body(form.mass_value.data, form.mass_unit.data),
        "non_plastic_fraction": (form.non_plastic_fraction.data or "").strip(),
        "processed_on": form.processed_on.data.isoformat() if form.processed_on.data else None,
        "rms_certificate": form.rms_certificate.data,
        "conversion": {
            "inputs": [{"material_code": (form.input_material_code.data or "").strip(),
                        "mass": mass_body(form.input_mass_value.data, form.input_mass_unit.data)}],
            "transformation": form.transformation.data, "description": form.description.data or "",
            "factor": (form.factor.data or "").strip(), "justification": form.justification.data or "",
            "outputs": [{"material_code": (form.material_code.data or "").strip(),
                         "mass": mass_body(form.output_mass_value.data, form.output_mass_unit.data)}]},
    }
    if (form.lhv_mj_per_kg.data or "").strip():
        body["lhv_mj_per_kg"] = form.lhv_mj_per_kg.data.strip()
    if form.custody_account_id.data:
        body["custody_account_id"] = form.custody_account_id.data
    if (form.evidence_sha256.data or "").strip():
        body["evidence"] = [{"sha256": form.evidence_sha256.data.strip().lower(),
                             "description": (form.evidence_description.data or "").strip()}]
    if form.line_id.data:
        body["line_id"] = form.line_id.data
    split = {"pc_mass": mass_body(form.pc_mass_value.data, form.mass_unit.data),
             "pi_mass": mass_body(form.pi_mass_value.data, form.mass_unit.data)}
    body.update({key: mass for key, mass in split.items() if mass is not None})
    cited = []
    for row in (entry.form for entry in form.receipts):
        receipt = (row.receipt_id.data or "").strip()
        if receipt:
            cited.append({"receipt_id": int(receipt) if receipt.isdigit() else receipt,
                          "mass": mass_body(row.mass_value.data, row.mass_unit.data)})
    if cited:
        body["receipts"] = cited
    # Ids travel as text from the form; the API's schema takes whole numbers.
    for key in ("facility_id", "custody_account_id", "line_id"):
        if key in body and isinstance(body[key], str) and body[key].isdigit():
            body[key] = int(body[key])
    return body


@bp.route("/lots/new", methods=["GET", "POST"])
@people.signed_in_page("member")
def lot_new(uow, person):
    form = LotForm()
    if request.method == "GET":
        form.processed_on.data = uow.clock.today()
        rows = request.args.get("rows", "")
        wanted = min(int(rows), MAX_CITATIONS) if rows.isdigit() and len(rows) < 4 else CITATIONS
        while len(form.receipts) < wanted:
            form.receipts.append_entry()
        return _lot_page(uow, person, form)
    if not form.validate():
        return _lot_page(uow, person, form, 400)
    try:
        lot = submit(uow, form, LotIn, _lot_body(form), LOT_FIELDS,
                     lambda **data: lots.register_lot(uow, person.actor, **data))
    except Refused as refused:
        _citation_errors_on_rows(form)
        return _lot_page(uow, person, form, refused.status)
    return redirect(url_for("workspace.lot_page", lot_id=lot.id, notice="registered"), code=303)


_CITATION_ERROR = re.compile(r"receipts\.(\d+)\.(receipt_id|mass)\S*: (.*)", re.S)


def _citation_errors_on_rows(form: LotForm) -> None:
    """The schema's refusals of a receipt citation (``receipts.<i>.mass: ...``) on that row's field."""
    kept = []
    for text in form.form_errors:
        found = _CITATION_ERROR.fullmatch(text)
        if found is None or int(found[1]) >= len(form.receipts):
            kept.append(text)
            continue
        row = form.receipts[int(found[1])].form
        target = row.receipt_id if found[2] == "receipt_id" else row.mass_value
        target.errors = [*list(target.errors or ()), f"{found[3].rstrip('.')}."]
    form.form_errors[:] = kept


def _lot_view(uow, person, lot_id: int, *, disposition=None, generate=None, status=200):
    try:
        lot = lots.get_lot(uow, person.actor, lot_id)
        available = generation.availability_of(uow, person.actor, lot_id)
    except RegistryError as error:
        uow.session.rollback()
        return render_template("workspace/missing.html", person=person, section="lots",
                               refusal=messages.refusal(error)), error.status
    disposition = disposition or DispositionForm(formdata=None, prefix="sale", meta=CHECKED, on=uow.clock.today())
    generate = generate or GenerateForm(formdata=None, prefix="gen", meta=CHECKED)
    generate.component.choices = choices([(a.status, a.status) for a in available])
    if generate.mass_value.data is None and available:
        first = next((a for a in available if a.base_kg > 0), available[0])
        generate.component.data = generate.component.data or first.status
        generate.mass_value.data = format(first.base_kg, "f") if first.base_kg > 0 else ""
    rows = list(uow.session.exec(select(Disposition).where(Disposition.lot_id == lot.id).order_by(Disposition.id)))
    blocks = list(uow.session.exec(select(Block).where(Block.lot_id == lot.id, Block.parent_serial.is_(None))
                                   .order_by(Block.created_at, Block.first_unit)))
    facility = uow.session.get(Facility, lot.facility_id)
    notice = {"registered": "The lot is registered.", "disposition": "The disposition is recorded.",
              "generated": f"Generated block {request.args.get('serial', '')}."}.get(request.args.get("notice", ""))
    return render_template("workspace/lot.html", person=person, section="lots", lot=lot, facility=facility,
                           dispositions=rows, blocks=blocks, available=available, account=lots.account(lot),
                           disposition_form=disposition, generate_form=generate, notice=notice), status


@bp.get("/lots/<id:lot_id>")
@people.signed_in_page("member")
def lot_page(uow, person, lot_id):
    return _lot_view(uow, person, lot_id)


@bp.post("/lots/<id:lot_id>/dispositions")
@people.signed_in_page("member")
def lot_disposition(uow, person, lot_id):
    form = DispositionForm(prefix="sale", meta=CHECKED)
    if not form.validate():
        return _lot_view(uow, person, lot_id, disposition=form, status=400)
    body = {"kind": form.kind.data, "on": form.on.data.isoformat() if form.on.data else None,
            "counterparty": form.counterparty.data or "", "mass": mass_body(form.mass_value.data, form.mass_unit.data)}
    if (form.claim.data or "").strip():
        body["claim"] = form.claim.data.strip()
    try:
        submit(uow, form, DispositionIn, body, MASS_FIELDS,
               lambda **data: lots.add_disposition(uow, person.actor, lot_id, **data))
    except Refused as refused:
        return _lot_view(uow, person, lot_id, disposition=form, status=refused.status)
    return redirect(url_for("workspace.lot_page", lot_id=lot_id, notice="disposition"), code=303)


@bp.post("/lots/<id:lot_id>/generate")
@people.signed_in_page("member")
def lot_generate(uow, person, lot_id):
    form = GenerateForm(prefix="gen", meta=CHECKED)
    form.component.choices = choices([(s, s) for s in ("PC", "PI", "R")])
    if not form.validate():
        return _lot_view(uow, person, lot_id, generate=form, status=400)
    # The component is asked only of a split lot (R-G1); otherwise the lot's own is taken.
    body = {"lot_id": lot_id, "mass": mass_body(form.mass_value.data, form.mass_unit.data),
            "component": form.component.data or None}
    try:
        block = submit(uow, form, GenerationIn, body, {**MASS_FIELDS, "lot_id": "mass_value"},
                       lambda **data: generation.generate(uow, person.actor, **data))
    except Refused as refused:
        return _lot_view(uow, person, lot_id, generate=form, status=refused.status)
    return redirect(url_for("workspace.lot_page", lot_id=lot_id, notice="generated", serial=block.serial), code=303)

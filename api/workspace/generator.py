"""The generator's pages (R-W2): facilities and their additionality determinations (read),
lots with their dispositions, registering a lot, recording a disposition, generating from
a lot after seeing exactly what it can back and why, and custody accounts with balances,
inputs, outputs and period closing.

Thin views: every write is the API's service (registry.lots.register_lot,
lots.add_disposition, generation.generate, custody.services.close_period) in the page's
unit of work, every input check the API's request schema (api/lots.py); what a lot can
back is ``registry.generation.availability_of`` (R-W2). A refusal rolls back and shows
the rule and what to change (api/workspace/messages.py).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlmodel import select

from api.lots import DispositionIn, GenerationIn, LotIn
from api.workspace import bp, messages, people
from api.workspace.forms.generator import ClosePeriodForm, DispositionForm, GenerateForm, LotForm, choices
from api.workspace.schemas import Refused, submit
from registry import generation, lots
from registry.custody import rules as custody_rules
from registry.custody import services as custody
from registry.custody.models import CustodyAccount, CustodyClosing, CustodyOutput, CustodyReceipt
from registry.determinations import used_kg
from registry.errors import RegistryError
from registry.models import Block, Determination, Disposition, Facility, Lot, ProductionLine
from registry.rms_certificates import certificates_citable_by

LIMIT = 200  # rows per table; the API pages through more
#: Two forms on one page carry prefixes (unique ids); their CSRF token is the page's one, checked for every
#: POST before the view runs (api/workspace/csrf.py), so the prefixed forms do not check it again.
CHECKED = {"csrf": False}

#: The API's field paths (R-X1 ``field``) -> the lot form's fields.
LOT_FIELDS = {"mass": "mass_value", "conversion.inputs.0.material_code": "input_material_code",
              "conversion.inputs.0.mass": "input_mass_value", "conversion.outputs.0.mass": "output_mass_value",
              "conversion.outputs.0.material_code": "material_code", "conversion.transformation": "transformation",
              "conversion.description": "description", "conversion.factor": "factor",
              "conversion.justification": "justification", "conversion.outputs": "output_mass_value",
              "conversion": "output_mass_value", "evidence.0.sha256": "evidence_sha256",
              "evidence.0.description": "evidence_description"}
MASS_FIELDS = {"mass": "mass_value"}


def _mass(value, unit) -> dict | None:
    value = (value or "").strip()
    return {"value": value, "unit": unit} if value else None


def _member_participant(person) -> int:
    return person.user.participant_id


# --- facilities ---------------------------------------------------------------------------------

@bp.get("/facilities")
@people.signed_in_page("member")
def facilities(uow, person):
    pid = _member_participant(person)
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
    pid = _member_participant(person)
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
    pid = _member_participant(person)
    form.facility_id.choices = choices([(str(f.id), f"{f.name} ({f.country})") for f in uow.session.exec(
        select(Facility).where(Facility.participant_id == pid).order_by(Facility.id))])
    form.rms_certificate.choices = choices([(c.number, f"{c.number} ({c.body_code}, until {c.expires_on})")
                                              for c in certificates_citable_by(uow, pid)])
    form.custody_account_id.choices = choices([("", "none")] + [
        (str(a.id), f"account {a.id}: {a.product_group}, {a.control_system}")
        for a in uow.session.exec(select(CustodyAccount).where(CustodyAccount.participant_id == pid)
                                  .order_by(CustodyAccount.id))])


def _lot_page(uow, person, form, status=200):
    _lot_choices(uow, person, form)
    return render_template("workspace/lot_new.html", person=person, section="lots", form=form), status


def _lot_body(form: LotForm) -> dict:
    body = {
        "facility_id": form.facility_id.data, "reference": form.reference.data or "",
        "material_code": (form.material_code.data or "").strip(),
        "mass": _mass(form.mass_value.data, form.mass_unit.data),
        "non_plastic_fraction": (form.non_plastic_fraction.data or "").strip(),
        "processed_on": form.processed_on.data.isoformat() if form.processed_on.data else None,
        "rms_certificate": form.rms_certificate.data,
        "conversion": {
            "inputs": [{"material_code": (form.input_material_code.data or "").strip(),
                        "mass": _mass(form.input_mass_value.data, form.input_mass_unit.data)}],
            "transformation": form.transformation.data, "description": form.description.data or "",
            "factor": (form.factor.data or "").strip(), "justification": form.justification.data or "",
            "outputs": [{"material_code": (form.material_code.data or "").strip(),
                         "mass": _mass(form.output_mass_value.data, form.output_mass_unit.data)}]},
    }
    if (form.lhv_mj_per_kg.data or "").strip():
        body["lhv_mj_per_kg"] = form.lhv_mj_per_kg.data.strip()
    if form.custody_account_id.data:
        body["custody_account_id"] = form.custody_account_id.data
    if (form.evidence_sha256.data or "").strip():
        body["evidence"] = [{"sha256": form.evidence_sha256.data.strip().lower(),
                             "description": (form.evidence_description.data or "").strip()}]
    # Ids travel as text from the form; the API's schema takes whole numbers.
    for key in ("facility_id", "custody_account_id"):
        if key in body and isinstance(body[key], str) and body[key].isdigit():
            body[key] = int(body[key])
    return body


@bp.route("/lots/new", methods=["GET", "POST"])
@people.signed_in_page("member")
def lot_new(uow, person):
    form = LotForm()
    if request.method == "GET":
        form.processed_on.data = uow.clock.today()
        return _lot_page(uow, person, form)
    if not form.validate():
        return _lot_page(uow, person, form, 400)
    try:
        lot = submit(uow, form, LotIn, _lot_body(form), LOT_FIELDS,
                     lambda **data: lots.register_lot(uow, person.actor, **data))
    except Refused as refused:
        return _lot_page(uow, person, form, refused.status)
    return redirect(url_for("workspace.lot_page", lot_id=lot.id, notice="registered"), code=303)


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
            "counterparty": form.counterparty.data or "", "mass": _mass(form.mass_value.data, form.mass_unit.data)}
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
    body = {"lot_id": lot_id, "mass": _mass(form.mass_value.data, form.mass_unit.data),
            "component": form.component.data or None}
    try:
        block = submit(uow, form, GenerationIn, body, {**MASS_FIELDS, "lot_id": "mass_value"},
                       lambda **data: generation.generate(uow, person.actor, **data))
    except Refused as refused:
        return _lot_view(uow, person, lot_id, generate=form, status=refused.status)
    return redirect(url_for("workspace.lot_page", lot_id=lot_id, notice="generated", serial=block.serial), code=303)


# --- custody ------------------------------------------------------------------------------------

def account_views(uow, actor, accounts, *, details: bool = True) -> list[dict]:
    """What the custody page shows of each account: balance, receipts, outputs, lots, periods."""
    today = uow.clock.today()
    out = []
    for a in accounts:
        try:
            balance = custody.balance(uow, actor, a.id)
            balance_problem = None
        except RegistryError as error:
            balance, balance_problem = None, messages.refusal(error).text
        closings = list(uow.session.exec(select(CustodyClosing).where(CustodyClosing.account_id == a.id)
                                         .order_by(CustodyClosing.n.desc())))
        n = a.closed_periods + 1
        first, last = custody_rules.period_bounds(a.starts_on, a.period_months, n)
        view = {"account": a, "balance": balance, "balance_problem": balance_problem, "closings": closings,
                "next": {"n": n, "starts_on": first, "ends_on": last, "ended": today > last}}
        if details:
            view["receipts"] = list(uow.session.exec(select(CustodyReceipt).where(CustodyReceipt.account_id == a.id)
                                                     .order_by(CustodyReceipt.seq.desc()).limit(LIMIT)))
            view["outputs"] = list(uow.session.exec(select(CustodyOutput).where(CustodyOutput.account_id == a.id)
                                                    .order_by(CustodyOutput.id.desc()).limit(LIMIT)))
            view["lots"] = list(uow.session.exec(select(Lot).where(Lot.custody_account_id == a.id)
                                                 .order_by(Lot.id.desc()).limit(LIMIT)))
        out.append(view)
    return out


def _custody_page(uow, person, status=200, failure=None, notice=None):
    pid = _member_participant(person)
    accounts = list(uow.session.exec(select(CustodyAccount).where(CustodyAccount.participant_id == pid)
                                     .order_by(CustodyAccount.id)))
    names = dict(uow.session.exec(select(Facility.id, Facility.name).where(Facility.participant_id == pid)).all())
    return render_template("workspace/custody.html", person=person, section="custody",
                           views=account_views(uow, person.actor, accounts), facility_names=names,
                           failure=failure, notice=notice, close_form=ClosePeriodForm()), status


@bp.get("/custody")
@people.signed_in_page("member")
def custody_accounts(uow, person):
    n = request.args.get("closed", "")
    return _custody_page(uow, person, notice=f"Period {n} is closed; its volume summary is below." if n.isdigit()
                         else None)


@bp.post("/custody/<id:account_id>/periods/<int:n>/close")
@people.signed_in_page("member")
def custody_close(uow, person, account_id, n):
    try:
        custody.close_period(uow, person.actor, account_id, n)
    except RegistryError as error:
        uow.session.rollback()
        return _custody_page(uow, person, error.status, failure=messages.refusal(error).text)
    return redirect(url_for("workspace.custody_accounts", closed=n) + f"#account-{account_id}", code=303)

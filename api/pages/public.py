"""The public explorer pages: readable without JavaScript, one unit of work
each, through the registry's own services (SPEC §1, R-R2, R-L6)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

import chainlog.store
from api.context import read_unit_of_work, registry
from api.pages import bp, lineage
from api.pages.charts import SERIES, bars
from api.pages.checkpoints import checkpoint_view, summary
from registry import amendments, disputes, explorer, provenance, retirements, rms_certificates, statements, transparency
from registry.errors import InvalidInput, NotFound
from registry.use_period import use_period_end

PAGE_SIZE = 50


@bp.app_template_filter("qty")
def _quantity(value) -> str:
    """A certificate quantity or a mass: thousands separated, 3 decimals (R-U2)."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.3f}"


@bp.app_template_filter("tonnes")
def _tonnes(kg) -> str:
    return "—" if kg is None else f"{Decimal(kg) / 1000:,.3f} t"


@bp.app_template_filter("percent")
def _percent(share) -> str:
    return "—" if share is None else f"{Decimal(share) * 100:.2f}%"


@bp.app_template_filter("claim_value")
def _claim_value(value) -> str:
    """A claim detail as an amendment logs it (R-R7): a date, text, a location or a period."""
    if value is None:
        return "—"
    if isinstance(value, dict) and "country" in value:
        return value["country"] + (f" ({value['subdivision']})" if value.get("subdivision") else "")
    if isinstance(value, dict) and "from" in value:
        return f"{value['from']} to {value['to']}"
    return str(value)


def _totals(uow) -> list:
    """The registry totals, recomputed only when the log has grown: every state
    change is a log entry (R-X3), so the totals are a function of the log's size.
    Read the size first, then the totals: what is kept is never older than its key.
    (Aggregating every block row costs ~240 ms at 400k blocks; a repeat view is free.)"""
    size = chainlog.store.size(uow.session)
    cached = current_app.extensions.get("arcreg.totals")
    if cached is None or cached[0] != size:
        cached = (size, explorer.registry_totals(uow))
        current_app.extensions["arcreg.totals"] = cached
    return cached[1]


@bp.get("/")
def home():
    state = registry()
    with read_unit_of_work() as uow:
        totals = _totals(uow)
        checkpoint = checkpoint_view(uow, state.signer, state.config.log_origin)
        uow.commit()  # ends the read: nothing to store, the rows loaded stay usable
    chart, height = bars(totals)
    return render_template("home.html", totals=totals, chart=chart, chart_height=height, series=SERIES,
                           checkpoint=checkpoint, key=transparency.key_info(state.signer))


@bp.get("/certificates")
def lookup():
    """The lookup form; a serial (or any serial inside a block's range) goes to its block."""
    text = request.args.get("serial", "").strip()
    if not text:
        return render_template("lookup.html", query="")
    with read_unit_of_work() as uow:
        block = explorer.find_block(uow, text)
        serial = None if block is None else block.serial
    if serial is None:
        return render_template("lookup.html", query=text, missing=True), 404
    return redirect(url_for("pages.certificate", serial=serial), code=303)


def _proof(uow, serial: str, from_index: int | None = None, size: int | None = None) -> dict:
    """The newest page of the block's provenance, or the page a continuation names (R-X6)."""
    state = registry()
    return provenance.provenance(uow, state.signer, state.config.log_origin, serial, from_index=from_index,
                                 size=size)


def _index_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


@bp.get("/certificates/<string:serial>")
def certificate(serial):
    state = registry()
    with read_unit_of_work() as uow:
        block = explorer.block_by_serial(uow, serial)
        if block is None:
            return render_template("lookup.html", query=serial, missing=True), 404
        proof = _proof(uow, serial)
        uow.commit()  # ends the read: nothing to store, the rows loaded stay usable
        steps = lineage.timeline(proof)
        parts = explorer.children(uow, serial)
        names = explorer.participant_names(uow, lineage.owners(steps) | {block.owner_id, block.generator_id})
        lot = steps[0].payload if steps and steps[0].type == "lot.registered" else {}
        retirement = explorer.retirement_of(uow, serial)
        backing = explorer.backing(uow, block.lot_id, uow.clock.today())  # R-R8, R-B8
        inputs = explorer.cited_inputs(uow, lot.get("inputs"), date.fromisoformat(lot["processed_on"])) if lot else []
        notices = disputes.notices(uow, serial)  # R-C5
        uow.session.expunge_all()
    return render_template("certificate.html", block=block, steps=steps, parts=parts, names=names, lot=lot,
                           retirement=retirement, disputes=notices,
                           use_period_end=use_period_end(block.generation_year), backing=backing, inputs=inputs,
                           checkpoint=summary(proof["checkpoint"]), vkey=state.signer.vkey,
                           proof_url=url_for("pages.certificate_proof", serial=serial))


def _download(proof: dict, filename: str) -> Response:
    return Response(json.dumps(proof, indent=2) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-cache"})


@bp.get("/certificates/<string:serial>/proof.json")
def certificate_proof(serial):
    """The provenance proof (R-L6) as a file: `arcreg verify-proof` checks it. A lineage
    over one page: its ``next`` names ``?from_index=…&size=…`` for the older part."""
    with read_unit_of_work() as uow:
        try:
            proof = _proof(uow, serial, _index_arg("from_index"), _index_arg("size"))
        except NotFound:
            abort(404)
        except InvalidInput:
            abort(400)
        uow.commit()
    return _download(proof, f"provenance-{serial}.json")


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else None


@bp.get("/retirements")
def retirement_list():
    filters = {"beneficiary": request.args.get("beneficiary", "").strip()[:200] or None,
               "year": _int_arg("year"), "arc_type": request.args.get("arc_type", "").strip()[:8] or None}
    cursor = request.args.get("cursor") or None
    with read_unit_of_work() as uow:
        years, types = explorer.retirement_facets(uow)
        try:
            page = retirements.list_retirements(uow, None, **filters, limit=PAGE_SIZE, cursor=cursor)
        except InvalidInput:  # a cursor that is not ours: start from the beginning
            page = retirements.list_retirements(uow, None, **filters, limit=PAGE_SIZE)
        names = explorer.participant_names(uow, {r.generator_id for r in page.items})
        uow.session.expunge_all()
    next_url = None
    if page.next_cursor:
        next_url = url_for("pages.retirement_list", **{k: v for k, v in filters.items() if v is not None},
                           cursor=page.next_cursor)
    return render_template("retirements.html", items=page.items, filters=filters, years=years, types=types,
                           names=names, next_url=next_url)


@bp.get("/retirements/<id:retirement_id>")
def retirement_statement(retirement_id):
    """The public retirement statement (R-R2): printable, with its log proof."""
    state = registry()
    with read_unit_of_work() as uow:
        try:
            retirement = retirements.get_retirement(uow, None, retirement_id)
        except NotFound:
            return render_template("missing.html", what=f"retirement {retirement_id}"), 404
        proof = retirements.retirement_proof(uow, retirement, state.signer, state.config.log_origin)
        uow.commit()  # ends the read: nothing to store, the rows loaded stay usable
        names = explorer.participant_names(uow, {retirement.generator_id, retirement.owner_id})
        block = explorer.block_by_serial(uow, retirement.serial)
        backing = explorer.backing(uow, block.lot_id, uow.clock.today())  # R-R8: the facility and its certificate
        notices = disputes.notices(uow, retirement.serial)  # R-C5: the dispute and its outcome
        history = amendments.history(uow, retirement.id)  # R-R7
        uow.session.expunge_all()
    return render_template("statement.html", r=retirement, proof=proof, names=names, disputes=notices,
                           amendments=history, amendable_until=amendments.last_amendment_day(retirement.retired_on),
                           vkey=state.signer.vkey, headline=statements.headline_of(retirement),
                           notice=statements.CREDITS_NOT_CONTENT, backing=backing,
                           checkpoint=summary(proof.checkpoint),
                           proof_url=url_for("pages.retirement_proof", retirement_id=retirement_id))


@bp.get("/retirements/<id:retirement_id>/proof.json")
def retirement_proof(retirement_id):
    """The signed proof bundle of a retirement: the retired block's provenance
    (R-L6), from base material lot to the retirement entry."""
    with read_unit_of_work() as uow:
        try:
            retirement = retirements.get_retirement(uow, None, retirement_id)
        except NotFound:
            abort(404)
        proof = _proof(uow, retirement.serial)
        uow.commit()
    return _download(proof, f"retirement-{retirement_id}-proof.json")


@bp.get("/participants")
def participant_directory():
    with read_unit_of_work() as uow:
        entries = explorer.directory(uow)
        certificates = rms_certificates.certificates_of(uow, {e.participant.id for e in entries})  # R-C4
        uow.session.expunge_all()
    return render_template("participants.html", generators=[e for e in entries if e.is_generator],
                           others=[e for e in entries if not e.is_generator], certificates=certificates)


@bp.get("/rms-certificates")
def rms_register():
    """The public RMS certificate register (R-C4): look a number up, or browse
    (optionally one participant's), oldest first."""
    number = request.args.get("number", "").strip().upper()[:20]
    if number:
        return redirect(url_for("pages.rms_certificate", number=number), code=303)
    raw = request.args.get("participant", "").strip()
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return render_template("missing.html", what=f"participant {raw[:20]}"), 404
    participant = int(raw) if raw else None
    cursor = request.args.get("cursor") or None
    with read_unit_of_work() as uow:
        try:
            page = rms_certificates.list_register(uow, None, participant=participant, limit=PAGE_SIZE, cursor=cursor)
        except NotFound:
            return render_template("missing.html", what=f"participant {request.args['participant']}"), 404
        except InvalidInput:  # a cursor that is not ours: start from the beginning
            page = rms_certificates.list_register(uow, None, participant=participant, limit=PAGE_SIZE)
    next_url = None
    if page.next_cursor:
        args = {"participant": participant} if participant is not None else {}
        next_url = url_for("pages.rms_register", **args, cursor=page.next_cursor)
    holder = page.items[0].holder if participant is not None and page.items else None
    return render_template("rms_register.html", items=page.items, participant=participant, holder=holder,
                           next_url=next_url)


@bp.get("/rms-certificates/<string:number>")
def rms_certificate(number):
    """One RMS certificate as the register shows it (R-C4): holder, body,
    scope, validity today and its status history."""
    with read_unit_of_work() as uow:
        try:
            entry = rms_certificates.lookup_certificate(uow, None, number)
        except (NotFound, InvalidInput):
            return render_template("rms_register.html", items=None, query=number, missing=True), 404
        today = uow.clock.today()
        disputed = disputes.certificate_summary(uow, entry.number)  # R-C5
    return render_template("rms_certificate.html", c=entry, today=today, disputed=disputed)

"""The holder pages of a participant's members (R-W3): holdings and blocks, the offers
inbox, and retire with a claim builder and a preview of the public statement; transfer
(single, or a CSV upload with a preview) is `api.workspace.transfer`.

Every read and write is the service the API uses (``registry.holdings``,
``registry.transfers``, ``registry.bulk.services``, ``registry.offers.services``,
``registry.retirements``) in the page's unit of work; a refusal rolls it back and
shows the rule and what to change (``api/workspace/messages.py``).

Two previews, nothing written by either:

- the CSV upload's: every line parsed here (columns, numbers), then every item
  checked by ``bulk.preview_transfers`` — the transfer's own checks, read without
  a lock; the confirm posts the items back and ``bulk.transfer_many`` checks them
  again under its locks, all or nothing;
- the retirement's: ``retirements.retire_block`` runs, the record it made is read
  into the preview, and the unit of work is rolled back — the statement shown is
  the one the registry would publish, by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from flask import redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from api.pages import charts
from api.statements import _complete as statement_body
from api.workspace import bp, messages, people
from api.workspace.forms.holder import COMPOSITION_ROWS, BlockFilterForm, ConfirmForm, RetireForm, StatementForm
from registry import claim_details, explorer, holdings, retirements, statements
from registry.custody import reminders as credit_reminders
from registry.errors import RegistryError
from registry.exports.account_statement import account_statement
from registry.models import Retirement
from registry.offers import rules as offer_rules
from registry.offers import services as offers
from registry.units import parse_mass, parse_quantity
from registry.use_period import use_period_end

MEMBER = "member"
#: A block's use period "ends soon" within this many days (the same horizon as the
#: registry's own expiry notices, R-E1, R-N1).
SOON_DAYS = 30
PAGE = 100


def _block_choices(uow, person) -> list[SelectChoice]:
    blocks = holdings.list_blocks(uow, person.actor, owner=_pid(person), state="active",
                                  limit=holdings.MAX_LIMIT).items
    return [SelectChoice("", "Choose a block")] + [
        SelectChoice(b.serial, f"{b.serial} ({format(b.quantity, 'f')} {b.arc_type} ARCs, vintage {b.generation_year})")
        for b in blocks]


def _pid(person) -> int:
    return person.participant.id


# --- holdings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    arc_type: str
    year: int
    state: str
    quantity: Decimal
    blocks: int
    ends_on: date
    days_left: int
    soon: bool


def _lines(uow, person) -> list[Line]:
    today = uow.clock.today()
    out = []
    for h in holdings.holdings(uow, person.actor, _pid(person)):
        ends = use_period_end(h.generation_year)
        days = (ends - today).days
        live = h.state in ("active", "offered")
        out.append(Line(h.arc_type, h.generation_year, h.state, h.quantity, h.blocks, ends, days,
                        live and 0 <= days <= SOON_DAYS))
    return out


def _chart(lines: list[Line]) -> tuple[list, int, list[tuple[str, date, int, bool]]]:
    """The holdings as the explorer's bars (``api.pages.charts``): one per ARC type and vintage, its
    states laid along it; and each bar's use-period end (label, day, days left, within 30 days)."""
    rows: dict[tuple[str, int], explorer.TotalRow] = {}
    ends: dict[tuple[str, int], tuple[date, int, bool]] = {}
    for line in lines:
        row = rows.setdefault((line.arc_type, line.year), explorer.TotalRow(line.arc_type, line.year))
        row.issued += line.quantity
        row.by_state[line.state] = row.by_state.get(line.state, Decimal(0)) + line.quantity
        soon = ends.get((line.arc_type, line.year), (None, None, False))[2] or line.soon
        ends[(line.arc_type, line.year)] = (line.ends_on, line.days_left, soon)
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (-k[1], k[0]))]
    bars, height = charts.bars(ordered)
    return bars, height, [(f"{r.arc_type} {r.year}", *ends[(r.arc_type, r.year)]) for r in ordered]


def _ending_soon(uow, person, lines: list[Line]) -> list:
    years = sorted({line.year for line in lines if line.soon and line.state == "active"})
    found = []
    for year in years:
        found += [(b, use_period_end(year)) for b in holdings.list_blocks(
            uow, person.actor, owner=_pid(person), state="active", year=year, limit=PAGE).items]
    return found


def _incoming(uow, person) -> list:
    return offers.list_offers(uow, person.actor, role="recipient", state=offer_rules.PENDING, limit=PAGE).items


@bp.get("/holdings")
@people.signed_in_page(MEMBER)
def holdings_page(uow, person):
    lines = _lines(uow, person)
    form = BlockFilterForm(request.args)
    form.arc_type.choices = [SelectChoice("", "Any type"),
                             *(SelectChoice(t, t) for t in sorted({line.arc_type for line in lines}))]
    form.year.choices = [SelectChoice("", "Any year"),
                         *(SelectChoice(str(y), str(y)) for y in sorted({line.year for line in lines}))]
    wanted = {"arc_type": form.arc_type.data or None,
              "year": int(form.year.data) if (form.year.data or "").isdigit() else None,
              "state": form.state.data if form.state.data in holdings.STATES else None}
    failure, page, status = None, holdings.Page([], None), 200
    try:
        page = holdings.list_blocks(uow, person.actor, owner=_pid(person), limit=PAGE,
                                    cursor=request.args.get("cursor") or None, **wanted)
    except RegistryError as error:
        failure, status = messages.refusal(error).text, error.status
    today = uow.clock.today()
    ends = {b.serial: use_period_end(b.generation_year) for b in page.items}
    soon = {s for s, end in ends.items() if 0 <= (end - today).days <= SOON_DAYS}
    incoming = _incoming(uow, person)
    names = explorer.participant_names(uow, [o.from_participant_id for o in incoming])
    next_url = (url_for("workspace.holdings_page", **{k: v for k, v in wanted.items() if v is not None},
                        cursor=page.next_cursor) if page.next_cursor else None)
    return render_template("workspace/holdings.html", person=person, section="holdings", lines=lines,
                           form=form, blocks=page.items, ends=ends, soon=soon, next_url=next_url,
                           filtered=any(v is not None for v in wanted.values()), failure=failure,
                           incoming=incoming, names=names, ending=_ending_soon(uow, person, lines),
                           credit=credit_reminders.expiring_soon(uow, _pid(person)),
                           chart=_chart(lines), series=charts.SERIES,
                           soon_days=SOON_DAYS, today=today), status


# --- account statement (R-N4) -------------------------------------------------------------------------


@bp.get("/statement")
@people.signed_in_page(MEMBER)
def statement_page(uow, person):
    """The printable account statement of the API (``Accept: text/html``), for a period chosen here."""
    today = uow.clock.today()
    form = StatementForm(request.args) if request.args else StatementForm(
        formdata=None, start=date(today.year, 1, 1), end=today)
    if request.args and form.validate():
        try:
            body = statement_body(account_statement(uow, person.actor, _pid(person), start=form.start.data,
                                                    end=form.end.data))
            period = {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}
            return render_template("account_statement.html", s=body, downloads={
                fmt: url_for("workspace.download", what="statement", fmt=fmt, **period) for fmt in ("csv", "xlsx")})
        except RegistryError as error:
            messages.apply(form, error, {"to": "end"})
            return render_template("workspace/statement.html", person=person, section="holdings",
                                   form=form), error.status
    return render_template("workspace/statement.html", person=person, section="holdings", form=form), \
        400 if request.args else 200


# --- offers ---------------------------------------------------------------------------------------


def _offers_page(uow, person, status: int = 200, failure: str | None = None, notice: str | None = None):
    incoming = offers.list_offers(uow, person.actor, role="recipient", limit=holdings.MAX_LIMIT).items
    outgoing = offers.list_offers(uow, person.actor, role="sender", limit=holdings.MAX_LIMIT).items
    names = explorer.participant_names(uow, [o.from_participant_id for o in incoming]
                                       + [o.to_participant_id for o in outgoing] + [_pid(person)])
    pending = offer_rules.PENDING
    return render_template("workspace/offers.html", person=person, section="offers", names=names,
                           incoming=[o for o in incoming if o.state == pending],
                           outgoing=[o for o in outgoing if o.state == pending],
                           closed=sorted([o for o in incoming + outgoing if o.state != pending],
                                         key=lambda o: -o.id)[:50],
                           reviews=person.participant.incoming_transfers == offer_rules.REVIEW,
                           failure=failure, notice=notice, confirm=ConfirmForm(formdata=None)), status


NOTICES = {"accept": "Offer #{id} accepted: the certificates are yours.",
           "reject": "Offer #{id} rejected: the certificates went back to the sender.",
           "withdraw": "Offer #{id} withdrawn: the certificates are active with you again."}


@bp.get("/offers")
@people.signed_in_page(MEMBER)
def offers_page(uow, person):
    action, offer_id = request.args.get("done", ""), request.args.get("offer", "")
    notice = NOTICES[action].format(id=offer_id) if action in NOTICES and offer_id.isdigit() else None
    return _offers_page(uow, person, notice=notice)


@bp.post("/offers/<id:offer_id>/<any(accept, reject, withdraw):action>")
@people.signed_in_page(MEMBER)
def offer_decide(uow, person, offer_id, action):
    try:
        offers.decide(uow, person.actor, offer_id, action=action)
    except RegistryError as error:
        uow.session.rollback()
        return _offers_page(uow, person, error.status, failure=messages.refusal(error).text)
    return redirect(url_for("workspace.offers_page", done=action, offer=offer_id), code=303)


# --- retire ---------------------------------------------------------------------------------------

#: The API's field names of the claim, as the retire form names them (``messages.apply``).
RETIRE_FIELDS = {"product": "product_name", "product.name": "product_name", "product.composition": "comp_type_0",
                 "basis_mass.value": "basis_mass", "location": "country", "location.country": "country",
                 "location.subdivision": "subdivision", "period": "period_from", "period.from": "period_from",
                 "period.to": "period_to",
                 **{f"product.composition[{k}].{part}": f"comp_{'type' if part == 'arc_type' else 'mass'}_{k}"
                    for k in range(COMPOSITION_ROWS) for part in ("arc_type", "mass", "mass.value")}}


def _claim(form: RetireForm) -> dict:
    """The retirement request the form describes, as the API takes it (R-R1, R-R3, R-R6, R-R8)."""
    text = lambda f: (f.data or "").strip() or None  # noqa: E731
    claim = {"serial": form.serial.data, "quantity": parse_quantity(form.quantity.data).value,
             "beneficiary": form.beneficiary.data or "", "claim_type": form.claim_type.data,
             "reporting_year": form.reporting_year.data, "claim_date": form.claim_date.data,
             "statement": text(form.statement), "claimed_status": form.claimed_status.data or None,
             "label_approval_ref": text(form.label_approval_ref)}
    rows = form.composition()
    if form.claim_type.data == "product" or text(form.product_name) or rows:
        claim["product"] = {"name": text(form.product_name) or "", "composition": [
            {"arc_type": arc_type.upper(),
             "mass": parse_mass({"value": mass, "unit": "t"}, field=f"product.composition[{k}].mass")}
            for k, (arc_type, mass) in enumerate(rows)]}
    if text(form.basis_mass):
        claim["basis_mass"] = parse_mass({"value": text(form.basis_mass), "unit": "t"}, field="basis_mass")
    if text(form.country) or text(form.subdivision):
        claim["location"] = {"country": text(form.country) or "", "subdivision": text(form.subdivision)}
    if form.period_from.data or form.period_to.data:
        claim["period"] = {"from": form.period_from.data, "to": form.period_to.data}
    return claim


def _statement_of(retirement: Retirement) -> SimpleNamespace:
    """What the public statement shows, read before the preview's rollback."""
    return SimpleNamespace(**{name: getattr(retirement, name) for name in Retirement.model_fields},
                           headline=statements.headline_of(retirement),
                           location=claim_details.location_of(retirement),
                           period=claim_details.period_of(retirement))


def _retire_page(uow, person, form: RetireForm, status: int = 200, *, preview=None, retired=None):
    form.serial.choices = _block_choices(uow, person)
    hidden = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "step")] if preview else []
    return render_template("workspace/retire.html", person=person, section="retire", form=form, preview=preview,
                           hidden=hidden, retired=retired, notice=statements.CREDITS_NOT_CONTENT,
                           rows=COMPOSITION_ROWS), status


@bp.get("/retire")
@people.signed_in_page(MEMBER)
def retire_page(uow, person):
    form = RetireForm(formdata=None, serial=request.args.get("serial", ""),
                      reporting_year=uow.clock.today().year, beneficiary=person.participant.name)
    retired = None
    if (done := request.args.get("retired", "")).isdigit():
        retired = uow.session.get(Retirement, int(done))
        retired = retired if retired is not None and retired.owner_id == _pid(person) else None
    return _retire_page(uow, person, form, retired=retired)


@bp.post("/retire")
@people.signed_in_page(MEMBER)
def retire_post(uow, person):
    form = RetireForm()
    preview = request.form.get("step") != "retire"
    if not form.validate():
        return _retire_page(uow, person, form, 400)
    try:
        retirement, _, _ = retirements.retire_block(uow, person.actor, **_claim(form))
        if not preview:
            return redirect(url_for("workspace.retire_page", retired=retirement.id), code=303)
        shown = _statement_of(retirement)
        uow.session.rollback()  # the preview: nothing written
    except RegistryError as error:
        uow.session.rollback()
        messages.apply(form, error, RETIRE_FIELDS)
        return _retire_page(uow, person, form, error.status)
    return _retire_page(uow, person, form, preview=shown)

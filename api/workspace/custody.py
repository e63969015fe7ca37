"""The generator's custody pages (R-W2, R-M1–R-M8): each account's balance and next
expiries, forms to record an input (a receipt) and an output, every receipt, output and
lot of the account page by page, and period closing. Thin views over the API's services
(``registry.custody.services.receive_input``, ``record_output``, ``periods.close_period``)
and request schemas (``api/custody/schemas.py``), in the page's unit of work; a refusal
rolls back and shows the rule and what to change (api/workspace/messages.py).
Moved out of ``api/workspace/generator.py`` (behaviour unchanged)."""

from __future__ import annotations


from flask import redirect, render_template, request, url_for
from sqlmodel import select

from api.custody.schemas import InputIn, OutputIn
from api.workspace import bp, messages, people
from api.workspace.forms.generator import ClosePeriodForm, OutputForm, ReceiptForm, choices
from api.workspace.pages import CHECKED, LIMIT, MASS_FIELDS, mass_body, member_participant
from api.workspace.schemas import Refused, submit
from registry.custody import book, periods
from registry.custody import rules as custody_rules
from registry.custody import services as custody
from registry.custody.models import CustodyAccount, CustodyClosing, CustodyOutput, CustodyReceipt
from registry.errors import RegistryError
from registry.models import Facility, Lot


#: What the custody page lists of an account, latest first, and how its paged list walks back:
#: (model, key column, filter column). The key is unique within the account, so "older than" pages.
LISTS = {"inputs": (CustodyReceipt, CustodyReceipt.seq, CustodyReceipt.account_id),
         "outputs": (CustodyOutput, CustodyOutput.id, CustodyOutput.account_id),
         "lots": (Lot, Lot.id, Lot.custody_account_id)}
LIST_NAMES = {"inputs": "receipts", "outputs": "outputs", "lots": "lots"}


def _latest(uow, what: str, account_id: int, before: int | None = None) -> tuple[list, int | None]:
    """Up to LIMIT rows of ``what`` of the account, latest first (older than ``before``), and the
    key to page on from, or None when there is nothing older."""
    model, key, owner = LISTS[what]
    query = select(model).where(owner == account_id)
    if before is not None:
        query = query.where(key < before)
    rows = list(uow.session.exec(query.order_by(key.desc()).limit(LIMIT + 1)))
    more = len(rows) > LIMIT
    rows = rows[:LIMIT]
    return rows, (getattr(rows[-1], key.key) if more else None)


def account_views(uow, actor, accounts, *, details: bool = True) -> list[dict]:
    """What the custody page shows of each account: balance, receipts, outputs, lots, periods."""
    today = uow.clock.today()
    out = []
    for a in accounts:
        try:
            balance = periods.balance(uow, actor, a.id)
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
            view["older"] = {}
            for what, name in LIST_NAMES.items():
                view[name], view["older"][what] = _latest(uow, what, a.id)
        out.append(view)
    return out


def _custody_forms(uow, account: CustodyAccount, names: dict, given: dict) -> dict:
    """The input and output forms of one account: ``given`` (a refused one, shown again) or blank ones."""
    today = uow.clock.today()
    forms = {"input": given.get("input") or ReceiptForm(formdata=None, prefix=f"in{account.id}", meta=CHECKED,
                                                         on=today),
             "output": given.get("output") or OutputForm(formdata=None, prefix=f"out{account.id}", meta=CHECKED,
                                                          on=today)}
    for form in forms.values():
        _site_choices(form, account, names)
    return forms


def _site_choices(form, account: CustodyAccount, names: dict) -> None:
    # R-M5: a multi-site account names the site of each event; one site is its own.
    form.facility_id.choices = choices([("", "choose the site")] + [
        (str(f), names.get(f, f"facility {f}")) for f in account.facility_ids])


def _custody_page(uow, person, status=200, failure=None, notice=None, refused=None):
    """``refused``: (account id, "input" | "output", form) shown again with its reasons."""
    pid = member_participant(person)
    accounts = list(uow.session.exec(select(CustodyAccount).where(CustodyAccount.participant_id == pid)
                                     .order_by(CustodyAccount.id)))
    names = dict(uow.session.exec(select(Facility.id, Facility.name).where(Facility.participant_id == pid)).all())
    given = {}
    if refused is not None:
        account_id, kind, form = refused
        given[account_id] = {kind: form}
    forms = {a.id: _custody_forms(uow, a, names, given.get(a.id, {})) for a in accounts}
    return render_template("workspace/custody.html", person=person, section="custody",
                           views=account_views(uow, person.actor, accounts), facility_names=names, forms=forms,
                           failure=failure, notice=notice, close_form=ClosePeriodForm()), status


CUSTODY_NOTICES = {"input": "The input is recorded; the account's credit below includes it.",
                   "output": "The output is recorded; the account's credit below is what is left."}


@bp.get("/custody")
@people.signed_in_page("member")
def custody_accounts(uow, person):
    n = request.args.get("closed", "")
    notice = (f"Period {n} is closed; its volume summary is below." if n.isdigit()
              else CUSTODY_NOTICES.get(request.args.get("recorded", "")))
    return _custody_page(uow, person, notice=notice)


def _event_body(form, party: str) -> dict:
    """The body the API's InputIn / OutputIn takes, from the form (empty text: omitted, as a client would)."""
    def text(field):
        value = (getattr(form, field).data or "").strip()
        return value or None

    body = {"on": form.on.data.isoformat() if form.on.data else None, party: text(party),
            "reference": text("reference"), "material_code": text("material_code"),
            "mass": mass_body(form.mass_value.data, form.mass_unit.data), "claim": text("claim")}
    if party == "supplier_name":
        body["supplier_certificate"] = text("supplier_certificate")
    site = form.facility_id.data or ""
    body["facility_id"] = int(site) if site.isdigit() else (site or None)
    return body


def _missing(uow, person, error: RegistryError):
    uow.session.rollback()
    return render_template("workspace/missing.html", person=person, section="custody",
                           refusal=messages.refusal(error)), error.status


def _record(uow, person, account_id: int, kind: str, form, schema, service):
    try:  # another's account, or none: not found, whatever the form says (R-M8, R-X4)
        book.get_account(uow, person.actor, account_id)
    except RegistryError as error:
        return _missing(uow, person, error)
    if not form.validate():
        return _custody_page(uow, person, 400, refused=(account_id, kind, form))
    party = "supplier_name" if kind == "input" else "customer"
    try:
        submit(uow, form, schema, _event_body(form, party), MASS_FIELDS,
               lambda **data: service(uow, person.actor, account_id, **data))
    except Refused as refusal:
        return _custody_page(uow, person, refusal.status, refused=(account_id, kind, form))
    return redirect(url_for("workspace.custody_accounts", recorded=kind) + f"#account-{account_id}", code=303)


@bp.post("/custody/<id:account_id>/inputs")
@people.signed_in_page("member")
def custody_input(uow, person, account_id):
    """Record a receipt (R-M2): the API's InputIn and ``custody.receive_input``."""
    form = ReceiptForm(prefix=f"in{account_id}", meta=CHECKED)
    form.facility_id.choices = []
    return _record(uow, person, account_id, "input", form, InputIn, custody.receive_input)


@bp.post("/custody/<id:account_id>/outputs")
@people.signed_in_page("member")
def custody_output(uow, person, account_id):
    """Record an output and its claim (R-M3, R-M4): the API's OutputIn and ``custody.record_output``."""
    form = OutputForm(prefix=f"out{account_id}", meta=CHECKED)
    form.facility_id.choices = []
    return _record(uow, person, account_id, "output", form, OutputIn, custody.record_output)


@bp.get("/custody/<id:account_id>/<any(inputs, outputs, lots):what>")
@people.signed_in_page("member")
def custody_list(uow, person, account_id, what):
    """All of an account's receipts, outputs or lots, LIMIT a page, latest first (the custody page shows the
    latest LIMIT and links here for older ones)."""
    try:
        account = book.get_account(uow, person.actor, account_id)
    except RegistryError as error:
        return _missing(uow, person, error)
    before = request.args.get("before", "")
    rows, older = _latest(uow, what, account.id, int(before) if before.isdigit() and len(before) < 16 else None)
    names = dict(uow.session.exec(select(Facility.id, Facility.name)
                                  .where(Facility.participant_id == account.participant_id)).all())
    return render_template("workspace/custody_list.html", person=person, section="custody", account=account,
                           what=what, rows=rows, older=older, first=not before, facility_names=names)


@bp.post("/custody/<id:account_id>/periods/<int:n>/close")
@people.signed_in_page("member")
def custody_close(uow, person, account_id, n):
    try:
        periods.close_period(uow, person.actor, account_id, n)
    except RegistryError as error:
        uow.session.rollback()
        return _custody_page(uow, person, error.status, failure=messages.refusal(error).text)
    return redirect(url_for("workspace.custody_accounts", closed=n) + f"#account-{account_id}", code=303)

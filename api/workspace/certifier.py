"""The certifier's page (R-W4, R-X10, R-M8): the certificates and additionality
determinations of the participants its body certifies, a form to record a
determination (``registry.determinations.record_determination``, the service the
API's POST /determinations uses, in the page's unit of work), and the custody
volume summaries of those participants for audits (RMS 6.4.4.4).

Which participants: those holding an RMS certificate of the certifier's body, or
listed as members of a group certificate of it (R-C6); recording is checked again
by the service (``not_certifying_body``, R-X10).

The body's own certificates carry forms to renew, amend, suspend, reinstate or revoke
them (R-C3, R-C6): ``registry.rms_certificates``' services, as the API's
``POST /rms-certificates/{number}/renew``, ``…/amend`` and ``…/suspend|reinstate|revoke`` call
them, through the same request schemas."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlmodel import select

from api.certificates import EVENTS, CertificateAmendmentIn, EventIn, RenewalIn
from api.determinations import DeterminationIn, WithdrawIn
from api.workspace import bp, people
from api.workspace.forms.certifier import (INVESTMENT_LINES, AmendForm, DeterminationForm, RenewForm, StatusForm,
                                           WithdrawForm)
from api.workspace.forms.generator import choices
from api.workspace.custody import account_views
from api.workspace.schemas import Refused, submit
from registry import certification, determinations, rms_certificates
from registry.custody import rules as custody_rules
from registry.custody.models import CustodyAccount
from registry.determinations import used_kg
from registry.errors import RegistryError
from registry.models import Determination, Facility, Participant, RmsCertificate
from registry.rms_certificates import certificates_of, versions_of

DETERMINATION_FIELDS = {"newness.operation_start": "operation_start", "newness.invested_on": "invested_on",
                        "newness.before": "before_value", "newness.after": "after_value",
                        "newness.basis": "basis", "class_b.0.test": "class_b_test",
                        "class_b.0.rationale": "class_b_rationale", "class_b.0.passed": "class_b_passed",
                        "evidence.0.sha256": "evidence_sha256", "evidence.0.description": "evidence_description"}


def certified_participants(uow, body_code: str | None) -> list[Participant]:
    """The participants the body certifies: holders and group members of its certificates."""
    if not body_code:
        return []
    ids: set[int] = set()
    for cert in uow.session.exec(select(RmsCertificate).where(RmsCertificate.body_code == body_code)):
        ids.add(cert.participant_id)
        ids |= set(versions_of(cert)[-1].members)
    if not ids:
        return []
    return list(uow.session.exec(select(Participant).where(Participant.id.in_(sorted(ids))).order_by(Participant.name)))


CHECKED = {"csrf": False}  # many forms on one page: the page's CSRF token is checked before the view (csrf.py)
CHANGES = {"renew": RenewForm, "amend": AmendForm, "status": StatusForm}
DONE = {"renew": "renewed", "amend": "amended", **EVENTS}


def _change_form(change: str, number: str, formdata=None, **data):
    return CHANGES[change](formdata=formdata, prefix=f"{change}-{number}", meta=CHECKED, **data)


def _change_forms(uow, entry) -> dict:
    """Empty forms for one certificate; the amendment's filled in with the scope in force."""
    today = uow.clock.today()
    group = entry.facility_scope == "group"
    sites = "" if group else "\n".join(f"{f['name']}; {f['address']}; {f['country']}" for f in entry.facilities)
    return {"renew": _change_form("renew", entry.number),
            "amend": _change_form("amend", entry.number, effective_on=today, activities=list(entry.activities),
                                  control_systems=list(entry.control_systems),
                                  product_groups="\n".join(entry.product_groups), sites=sites),
            "status": _change_form("status", entry.number, on=today)}


def _withdraw_form(determination_id: int, formdata=None) -> WithdrawForm:
    return WithdrawForm(formdata=formdata, prefix=f"withdraw-{determination_id}", meta=CHECKED)


def _page(uow, person, form: DeterminationForm | None = None, status: int = 200, notice: str | None = None,
          failed: tuple[str, str, object] | None = None, withdrawing: tuple[int, WithdrawForm] | None = None):
    participants = certified_participants(uow, person.user.body_code)
    ids = [p.id for p in participants]
    facilities = list(uow.session.exec(select(Facility).where(Facility.participant_id.in_(ids))
                                       .order_by(Facility.participant_id, Facility.id))) if ids else []
    by_participant: dict[int, list] = {}
    for f in facilities:
        by_participant.setdefault(f.participant_id, []).append(f)
    found: dict[int, list] = {}
    if facilities:
        for d in uow.session.exec(select(Determination).where(Determination.facility_id.in_([f.id for f in facilities]))
                                  .order_by(Determination.certification_year.desc(), Determination.id.desc())):
            found.setdefault(d.facility_id, []).append((d, used_kg(uow, d.facility_id, d.certification_year,
                                                                    d.line_id)))
    accounts = list(uow.session.exec(select(CustodyAccount).where(CustodyAccount.participant_id.in_(ids))
                                     .order_by(CustodyAccount.participant_id, CustodyAccount.id))) if ids else []
    custody: dict[int, list] = {}
    for view in account_views(uow, person.actor, accounts, details=False):
        custody.setdefault(view["account"].participant_id, []).append(view)
    if form is None:
        form = DeterminationForm(formdata=None, certification_year=str(uow.clock.today().year))
    form.facility_id.choices = choices([(str(f.id), f"{f.name} — {next(p.name for p in participants if p.id == f.participant_id)}")
                                         for f in facilities])
    withdraw = {d.id: _withdraw_form(d.id) for rows in found.values() for d, _ in rows
                if d.status == determinations.CURRENT}
    listed = {d.id for rows in found.values() for d, _ in rows}
    shown_apart = None  # a refused form of no row on the page: its reasons above the page
    if withdrawing is not None and withdrawing[0] in listed:
        withdraw[withdrawing[0]] = withdrawing[1]  # shown with its refusal, even if no longer current
    elif withdrawing is not None:
        shown_apart = withdrawing[1]
    certificates = certificates_of(uow, ids)
    changes = {c.number: _change_forms(uow, c) for certs in certificates.values() for c in certs
               if c.body_code == person.user.body_code}
    if failed is not None and failed[0] in changes:
        changes[failed[0]][failed[1]] = failed[2]
    elif failed is not None:  # not a certificate of the page: say why above it
        shown_apart = failed[2]
    failure = " ".join([*shown_apart.form_errors, *(e for f in shown_apart for e in f.errors)]) if shown_apart else None
    return render_template("workspace/certifier.html", person=person, section="certifier",
                           participants=participants, certificates=certificates, changes=changes,
                           failed=failed[:2] if failed else None, failure=failure, withdraw=withdraw,
                           withdrawing=withdrawing[0] if withdrawing else None,
                           facilities=by_participant, determinations=found, custody=custody, form=form,
                           audit_from=custody_rules.audit_window_start(uow.clock.today()),
                           notice=notice), status


def _is_number(text: str) -> bool:
    try:
        certification.parse_certificate_number(text)
    except RegistryError:
        return False
    return True


@bp.get("/certifier")
@people.signed_in_page("certifier")
def certifier(uow, person):
    recorded, withdrawn = request.args.get("recorded", ""), request.args.get("withdrawn", "")
    notice = f"Determination {recorded} is recorded." if recorded.isdigit() else None
    if withdrawn.isdigit():
        notice = f"Determination {withdrawn} is withdrawn: no more generation under it; ARCs already generated stay active."
    changed, done = request.args.get("certificate", ""), request.args.get("done", "")
    if done in DONE.values() and _is_number(changed):
        notice = f"Certificate {changed} is {done}."
    return _page(uow, person, notice=notice)


def _body(form: DeterminationForm) -> dict:
    def mass(value):
        value = (value or "").strip()
        return {"value": value, "unit": form.production_unit.data} if value else None

    year = (form.certification_year.data or "").strip()
    newness: dict = {"basis": form.basis.data}
    if form.basis.data == "new_operation":
        newness["operation_start"] = form.operation_start.data.isoformat() if form.operation_start.data else None
    elif form.basis.data == "financial":
        lines = [(getattr(form, f"investment_category_{i}").data, (getattr(form, f"investment_amount_{i}").data or "")
                  .strip()) for i in range(INVESTMENT_LINES)]
        newness.update(invested_on=form.invested_on.data.isoformat() if form.invested_on.data else None,
                       fair_market_value=(form.fair_market_value.data or "").strip() or None,
                       investments=[{"category": c, "amount": a} for c, a in lines if a])
    elif form.basis.data == "quality":
        newness.update(invested_on=form.invested_on.data.isoformat() if form.invested_on.data else None,
                       volume=mass(form.quality_volume.data),
                       price_increase=(form.price_increase.data or "").strip() or None,
                       market_increase=(form.market_increase.data or "").strip() or None,
                       reclassification=(form.reclassification.data or "").strip() or None)
    elif form.basis.data == "capacity":
        newness.update(invested_on=form.invested_on.data.isoformat() if form.invested_on.data else None,
                       before=mass(form.before_value.data), after=mass(form.after_value.data))
    newness = {k: v for k, v in newness.items() if v is not None}
    body = {
        "facility_id": int(form.facility_id.data) if (form.facility_id.data or "").isdigit() else form.facility_id.data,
        "certification_year": int(year) if year.isdigit() else year,
        "mandate_share": (form.mandate_share.data or "").strip(), "newness": newness,
        "class_b": [{"test": form.class_b_test.data, "passed": form.class_b_passed.data == "yes",
                     "rationale": (form.class_b_rationale.data or "").strip()}],
    }
    if (form.evidence_sha256.data or "").strip():
        body["evidence"] = [{"sha256": form.evidence_sha256.data.strip().lower(),
                             "description": (form.evidence_description.data or "").strip()}]
    return body


@bp.post("/certifier/determinations")
@people.signed_in_page("certifier")
def certifier_record(uow, person):
    form = DeterminationForm()
    if not form.validate():
        return _page(uow, person, form, 400)
    try:
        determination = submit(uow, form, DeterminationIn, _body(form), DETERMINATION_FIELDS,
                               lambda **data: determinations.record_determination(uow, person.actor, **data),
                               page="certifier")
    except Refused as refused:
        return _page(uow, person, form, refused.status)
    return redirect(url_for("workspace.certifier", recorded=determination.id) + "#determinations", code=303)


@bp.post("/certifier/determinations/<id:determination_id>/withdraw")
@people.signed_in_page("certifier")
def certifier_withdraw(uow, person, determination_id):
    """R-A7 (RMS 8.5.2): withdraw a determination, as ``POST /determinations/{id}/withdraw`` does."""
    form = _withdraw_form(determination_id, request.form)
    if not form.validate():
        return _page(uow, person, status=400, withdrawing=(determination_id, form))
    try:
        submit(uow, form, WithdrawIn, {"reason": (form.reason.data or "").strip() or None}, {},
               lambda **data: determinations.withdraw_determination(uow, person.actor, determination_id, **data),
               page="certifier")
    except Refused as refused:
        return _page(uow, person, status=refused.status, withdrawing=(determination_id, form))
    return redirect(url_for("workspace.certifier", withdrawn=determination_id) + "#determinations", code=303)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _change_body(change: str, form) -> tuple[dict, dict[str, str]]:
    """The API's request body of a certificate change, and its field names on the form."""
    def day(field):
        return field.data.isoformat() if field.data else None

    if change == "renew":
        return {"issued_on": day(form.issued_on), "expires_on": day(form.expires_on)}, {}
    if change == "status":
        return {"on": day(form.on), "reason": (form.reason.data or "").strip() or None}, {}
    body = {"effective_on": day(form.effective_on), "activities": list(form.activities.data or []),
            "control_systems": list(form.control_systems.data or []),
            "product_groups": _lines(form.product_groups.data)}
    sites = [[part.strip() for part in line.split(";")] for line in _lines(form.sites.data)]
    if sites:  # none given: the sites stay as they are (a group's are amended under members, with the API)
        body["facilities"] = [dict(zip(("name", "address", "country"), parts, strict=False)) for parts in sites]
    fields = {"facilities": "sites", "members": "sites"}
    for i in range(max(len(sites), 1)):
        for key in ("name", "address", "country"):
            fields[f"facilities.{i}.{key}"] = fields[f"facilities[{i}].{key}"] = "sites"
        fields[f"facilities.{i}"] = "sites"
    for name, values in (("activities", body["activities"]), ("control_systems", body["control_systems"])):
        for i in range(max(len(values), 1)):
            fields[f"{name}.{i}"] = fields[f"{name}[{i}]"] = name
    for i in range(max(len(body["product_groups"]), 1)):
        fields[f"product_groups.{i}"] = "product_groups"
    return body, fields


@bp.post("/certifier/certificates/<string:number>/<any(renew, amend, status):change>")
@people.signed_in_page("certifier")
def certifier_certificate(uow, person, number, change):
    """Renew, amend, or suspend / reinstate / revoke a certificate (R-C3, R-C6), as the API does."""
    form = _change_form(change, number, request.form)
    if not form.validate():
        return _page(uow, person, status=400, failed=(number, change, form))
    body, fields = _change_body(change, form)
    schema = {"renew": RenewalIn, "amend": CertificateAmendmentIn, "status": EventIn}[change]
    if change == "renew":
        service, done = rms_certificates.renew_certificate, DONE["renew"]
    elif change == "amend":
        service, done = rms_certificates.amend_certificate, DONE["amend"]
    else:
        kind = done = EVENTS[form.action.data]

        def service(uow, actor, number, **data):
            return rms_certificates.add_event(uow, actor, number, kind=kind, **data)
    try:
        submit(uow, form, schema, body, fields, lambda **data: service(uow, person.actor, number, **data))
    except Refused as refused:
        return _page(uow, person, status=refused.status, failed=(number, change, form))
    return redirect(url_for("workspace.certifier", certificate=number, done=done) + "#certificates", code=303)

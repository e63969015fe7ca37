"""Authentication and authorization on every route (R-P4, R-P5, R-X4).

Every (method, rule) of ``app.url_map`` under /api/v1 has an entry in ROUTES
saying what each role gets:

* ``anonymous``   — no Authorization header;
* ``other``       — a member of another participant (B);
* ``member``      — a member of participant A, which owns every object aimed at;
* ``certifier``   — a user of the certification body (NSF) that certified A;
* ``admin``       — the registry administrator.

An expected value is an HTTP status (a refusal: 401, 403, or 404 -- what
R-X4 prescribes for objects the caller may not see, whose existence is not
revealed), or ``Allowed``: the request got past authentication and
authorization and got exactly the answer named -- a success (200/201/204), or
the one domain answer (status and problem code) the route's state gives it,
e.g. a second transfer of a block the member has just moved is 422
``block_not_active``. A write with no token needed (a witness cosignature) is
answered on its merits, also with one exact answer.

Requests carry valid bodies: the parser validates a body before the view runs,
so a valid body is what makes the test reach the authentication check. Roles
that are refused are tried first, so a success that changes state (a
suspension, a split block) comes after the refusals.

``test_every_route_is_classified`` fails when a route is added without an
entry here: every new route must say who may call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from api.docs_assets import RELEASE as DOCS_RELEASE
from chainlog.checkpoint import cosigner_verifier
from chainlog.keys import Signer
from tests.api.driver import DIGEST, kg, t


@dataclass(frozen=True)
class Allowed:
    """Past authentication and authorization, answered exactly so."""

    status: int
    code: str | None = None  # the problem code of a domain answer (4xx)


OK, CREATED, NO_CONTENT = Allowed(200), Allowed(201), Allowed(204)
ROLES = ("anonymous", "other", "member", "certifier", "admin")
PUBLIC = dict.fromkeys(ROLES, OK)


@dataclass
class World:
    a: int
    b: int
    tokens: dict
    member_user: int
    spare_token: int
    certificate: str
    facility: int
    determination: int
    lot: int
    serial: str  # a block held by A, its generator
    retirement: int
    open_lot: int  # A's lot with 5 t sold and not generated, 5 t unsold
    pending: int  # a participant not yet activated
    witness_vkey: str  # a witness key not yet registered
    account: int  # A's mass-balance custody account, 5 t of credit, period 1 (Feb 2026) ended
    receipt: int  # the account's receipt: a new lot at A's facility cites it (R-M6)
    webhook: int  # A's webhook endpoint (R-N1)


@pytest.fixture
def world(driver) -> World:
    gen = driver.generator("Acme Recycling")
    b = driver.participant("Brand Co", "DE")
    other = driver.member(b["id"])
    user = driver.ok(f"/participants/{gen.id}/users", {"email": "planner@acme.example"})
    member = driver.ok(f"/users/{user['id']}/tokens", {})["token"]
    spare = driver.ok(f"/users/{user['id']}/tokens", {})["id"]
    lot = driver.lot(member, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(member, lot["id"], t(10), on=lot["processed_on"])
    block = driver.generate(member, lot["id"])
    moved = driver.ok("/transfers", {"serial": block["serial"], "quantity": "2.000",
                                     "to_participant_id": b["id"]}, member)
    retirement = driver.ok("/retirements", {"serial": moved["moved"]["serial"], "quantity": "1.000",
                                            "beneficiary": "Brand Co", "claim_type": "general",
                                            "reporting_year": 2026}, other)
    open_lot = driver.lot(member, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(member, open_lot["id"], t(5), on=open_lot["processed_on"])
    pending = driver.participant("Pending Co", "FR", activate=False)
    witness = Signer.generate("auditor.example/w1")
    account = driver.ok("/custody/accounts", {
        "participant_id": gen.id, "product_group": "PP resin", "control_system": "mass-balance",
        "facility_ids": [gen.facility_id], "starts_on": "2026-02-01", "period_months": 1}, member)["id"]
    receipt = driver.ok(f"/custody/accounts/{account}/inputs", {
        "on": "2026-02-02", "supplier_name": "Acme Recycling", "supplier_certificate": gen.certificate,
        "reference": "INV-AUTHZ", "material_code": "PC_P3.1.9", "mass": t(5), "claim": "RMS 100% PC MB"}, member)["id"]
    webhook = driver.ok("/webhooks", {"url": "https://hooks.acme.invalid/arc"}, member)["id"]
    return World(webhook=webhook, account=account, receipt=receipt, a=gen.id, b=b["id"], member_user=user["id"], spare_token=spare,
                 tokens={"anonymous": None, "other": other, "member": member,
                         "certifier": gen.certifier, "admin": driver.admin},
                 certificate=gen.certificate, facility=gen.facility_id,
                 determination=gen.determination_id, lot=lot["id"], serial=moved["remainder"]["serial"],
                 retirement=retirement["id"], open_lot=open_lot["id"], pending=pending["id"],
                 witness_vkey=cosigner_verifier(witness.name, witness.public_key_bytes).vkey)


def _lot_body(w: World) -> dict:
    return {"facility_id": w.facility, "reference": "LOT-AUTHZ", "material_code": "PC_P3.1.9",
            "mass": t(5), "non_plastic_fraction": "0.01", "processed_on": "2026-02-03",
            "rms_certificate": w.certificate,
            "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": t(6)}],
                           "transformation": "physical", "description": "sort, wash, extrude",
                           "factor": "83.333", "justification": "measured yield",
                           "outputs": [{"material_code": "PC_P3.1.9", "mass": t(5)}]},
            "evidence": [DIGEST],
            # the facility keeps a custody account for PP resin: a lot there is its output (R-M6)
            "custody_account_id": w.account, "receipts": [{"receipt_id": w.receipt}]}


def _access(anonymous, other, member, certifier, admin) -> dict:
    return dict(zip(ROLES, (anonymous, other, member, certifier, admin), strict=True))


def _answers(access: dict, **allowed: Allowed) -> dict:
    """``access`` with the exact answers of its allowed roles (in the order the
    test calls them: member, certifier, admin) where they are not a plain 200."""
    assert all(isinstance(access[role], Allowed) for role in allowed), (access, allowed)
    return {**access, **allowed}


ADMIN_ONLY = _access(401, 403, 403, 403, OK)
CERTIFIER = _access(401, 403, 403, OK, OK)
OWNER_OF_PUBLIC_OBJECT = _access(401, 403, OK, 403, OK)  # blocks are public: someone else's is 403
OWNER_HIDDEN = _access(401, 404, OK, 404, OK)  # R-X4: others learn nothing
OWNER_CERTIFIER_SEES = _access(401, 404, OK, 403, OK)  # certifiers see facilities and lots, may not act

# (method, rule) -> (request builder, expected access per role)
ROUTES = {
    ("GET", "/api/v1/openapi.json"): (lambda w: ("/openapi.json", None), PUBLIC),
    ("GET", "/api/v1/docs"): (lambda w: ("/docs", None), PUBLIC),
    ("GET", "/api/v1/docs/assets/<release>/<name>"): (
        lambda w: (f"/docs/assets/{DOCS_RELEASE}/swagger-ui-bundle.js", None), PUBLIC),  # R-X8: served here
    ("GET", "/api/v1/health"): (lambda w: ("/health", None), PUBLIC),
    # participants, users, tokens
    ("POST", "/api/v1/participants"): (
        lambda w: ("/participants", {"name": "New Co", "country": "FR", "gpp_signed_on": "2025-06-01"}),
        _answers(ADMIN_ONLY, admin=CREATED)),
    ("GET", "/api/v1/participants/<id:participant_id>"): (lambda w: (f"/participants/{w.a}", None),
                                                           OWNER_HIDDEN),
    # RMS 8.1.4: contacts by the participant's members too (name and address: admin only)
    ("PATCH", "/api/v1/participants/<id:participant_id>"): (
        lambda w: (f"/participants/{w.a}", {"contacts": [{"name": "Ops", "email": "ops@acme.example"}]}),
        OWNER_CERTIFIER_SEES),
    ("POST", "/api/v1/participants/<id:participant_id>/activate"): (
        lambda w: (f"/participants/{w.pending}/activate", None), ADMIN_ONLY),
    ("POST", "/api/v1/participants/<id:participant_id>/suspend"): (
        lambda w: (f"/participants/{w.a}/suspend", {"reason": "audit"}), ADMIN_ONLY),
    ("POST", "/api/v1/participants/<id:participant_id>/users"): (
        lambda w: (f"/participants/{w.a}/users", {"email": "new@acme.example"}), _answers(ADMIN_ONLY, admin=CREATED)),
    ("GET", "/api/v1/participants/<id:participant_id>/holdings"): (
        lambda w: (f"/participants/{w.a}/holdings", None), OWNER_HIDDEN),
    ("POST", "/api/v1/users"): (
        lambda w: ("/users", {"email": "auditor@scs.example", "role": "certifier", "body_code": "SCS"}),
        _answers(ADMIN_ONLY, admin=CREATED)),
    ("POST", "/api/v1/users/<id:user_id>/tokens"): (lambda w: (f"/users/{w.member_user}/tokens", {}),
                                                     _answers(OWNER_HIDDEN, member=CREATED, admin=CREATED)),
    ("GET", "/api/v1/users/<id:user_id>/tokens"): (lambda w: (f"/users/{w.member_user}/tokens", None),
                                                    OWNER_HIDDEN),  # R-X7: a user lists its own
    ("POST", "/api/v1/users/<id:user_id>/disable"): (lambda w: (f"/users/{w.member_user}/disable", None),
                                                      ADMIN_ONLY),  # R-X7
    ("POST", "/api/v1/users/<id:user_id>/enable"): (lambda w: (f"/users/{w.member_user}/enable", None),
                                                     ADMIN_ONLY),
    # Revoking a revoked token again is idempotent.
    ("DELETE", "/api/v1/tokens/<id:token_id>"): (lambda w: (f"/tokens/{w.spare_token}", None),
                                                  _answers(OWNER_HIDDEN, member=NO_CONTENT, admin=NO_CONTENT)),
    # certification
    ("POST", "/api/v1/rms-certificates"): (
        lambda w: ("/rms-certificates", {
            "participant_id": w.a, "number": "RMS-NSF-99999", "issued_on": "2025-01-01",
            "expires_on": "2027-12-31", "activities": ["reprocessing"], "facility_scope": "single-site",
            "product_groups": ["PP resin"], "control_systems": ["mass-balance"]}),
        _answers(CERTIFIER, certifier=CREATED, admin=Allowed(409, "certificate_exists"))),
    ("GET", "/api/v1/rms-certificates"): (lambda w: (f"/rms-certificates?participant={w.a}", None), PUBLIC),
    ("GET", "/api/v1/rms-certificates/<string:number>"): (lambda w: (f"/rms-certificates/{w.certificate}", None),
                                                          PUBLIC),  # R-C4: the public register
    # R-C6: the second success (the admin's) repeats the certifier's: the periods then overlap
    ("POST", "/api/v1/rms-certificates/<string:number>/renew"): (
        lambda w: (f"/rms-certificates/{w.certificate}/renew", {"issued_on": "2030-01-01", "expires_on": "2031-12-31"}),
        _answers(CERTIFIER, certifier=OK, admin=Allowed(422, "period_overlaps"))),
    ("POST", "/api/v1/rms-certificates/<string:number>/amend"): (
        lambda w: (f"/rms-certificates/{w.certificate}/amend", {"effective_on": "2026-03-02",
                                                                "product_groups": ["PP resin"]}),
        CERTIFIER),
    ("POST", "/api/v1/rms-certificates/<string:number>/<any(revoke, suspend, reinstate):action>"): (
        lambda w: (f"/rms-certificates/{w.certificate}/suspend", {"on": "2026-03-01", "reason": "audit"}),
        CERTIFIER),
    ("POST", "/api/v1/determinations"): (
        lambda w: ("/determinations", {
            "facility_id": w.facility, "certification_year": 2027, "mandate_share": "0",
            "newness": {"basis": "new_operation", "operation_start": "2024-05-01"},
            "class_b": [{"test": "financial", "passed": True, "rationale": "IRR", "evidence": [DIGEST]}],
            "evidence": [DIGEST]}),
        _answers(CERTIFIER, certifier=CREATED, admin=CREATED)),
    ("GET", "/api/v1/determinations/<id:determination_id>"): (
        lambda w: (f"/determinations/{w.determination}", None), _access(401, 404, OK, OK, OK)),
    ("POST", "/api/v1/determinations/<id:determination_id>/withdraw"): (
        lambda w: (f"/determinations/{w.determination}/withdraw", {"reason": "error"}),
        _answers(CERTIFIER, admin=Allowed(422, "determination_not_current"))),  # withdrawn by the certifier
    # facilities, lots, generation
    ("POST", "/api/v1/facilities"): (
        lambda w: ("/facilities", {"participant_id": w.a, "name": "Plant 2", "address": "2 Mill Rd",
                                   "country": "US", "capacity": t(100)}),
        _access(401, 403, CREATED, 403, CREATED)),
    ("POST", "/api/v1/facilities/<id:facility_id>/lines"): (
        lambda w: (f"/facilities/{w.facility}/lines", {"name": "Line B", "capacity": kg(100)}),
        _answers(OWNER_CERTIFIER_SEES, member=CREATED, admin=CREATED)),
    ("POST", "/api/v1/lots"): (lambda w: ("/lots", _lot_body(w)),
                               _answers(OWNER_CERTIFIER_SEES, member=CREATED,
                                        admin=Allowed(409, "lot_reference_taken"))),
    ("GET", "/api/v1/lots/<id:lot_id>"): (lambda w: (f"/lots/{w.lot}", None), _access(401, 404, OK, OK, OK)),
    ("POST", "/api/v1/lots/<id:lot_id>/dispositions"): (
        lambda w: (f"/lots/{w.open_lot}/dispositions", {"kind": "sale", "on": "2026-02-15",
                                                        "counterparty": "Brand Co", "mass": kg(1)}),
        _answers(OWNER_CERTIFIER_SEES, member=CREATED, admin=CREATED)),
    # The member generates the open lot's sold 5 t; nothing is left for the admin's request.
    ("POST", "/api/v1/generations"): (lambda w: ("/generations", {"lot_id": w.open_lot}),
                                      _answers(OWNER_CERTIFIER_SEES, member=CREATED,
                                               admin=Allowed(422, "lot_over_allocated"))),
    # blocks and trading
    ("GET", "/api/v1/blocks"): (lambda w: (f"/blocks?owner={w.a}", None), OWNER_OF_PUBLIC_OBJECT),
    ("GET", "/api/v1/blocks/<string:serial>"): (lambda w: (f"/blocks/{w.serial}", None), PUBLIC),
    ("GET", "/api/v1/blocks/<string:serial>/provenance"): (lambda w: (f"/blocks/{w.serial}/provenance", None),
                                                           PUBLIC),
    ("POST", "/api/v1/blocks/<string:serial>/cancel"): (lambda w: (f"/blocks/{w.serial}/cancel",
                                                                   {"reason": "issued in error"}), ADMIN_ONLY),
    # R-C5: the administrator decides a dispute (this block is not disputed); anyone reads a
    # block's disputes; the certifier of the body lists what its findings affected.
    ("POST", "/api/v1/blocks/<string:serial>/dispute/<any(cancel, clear):decision>"): (
        lambda w: (f"/blocks/{w.serial}/dispute/clear", {"reason": "certifier's word"}),
        _answers(ADMIN_ONLY, admin=Allowed(409, "block_not_disputed"))),
    ("GET", "/api/v1/blocks/<string:serial>/disputes"): (lambda w: (f"/blocks/{w.serial}/disputes", None), PUBLIC),
    ("GET", "/api/v1/rms-certificates/<string:number>/affected"): (
        lambda w: (f"/rms-certificates/{w.certificate}/affected", None), CERTIFIER),
    # The member's success splits the block: the admin's request then finds it no longer active.
    ("POST", "/api/v1/transfers"): (
        lambda w: ("/transfers", {"serial": w.serial, "quantity": "1.000", "to_participant_id": w.b}),
        _answers(OWNER_OF_PUBLIC_OBJECT, member=CREATED, admin=Allowed(422, "block_not_active"))),
    # R-T7: as the single requests, the block named by item 0.
    ("POST", "/api/v1/transfers/bulk"): (
        lambda w: ("/transfers/bulk", {"items": [{"serial": w.serial, "quantity": "1.000", "to_participant_id": w.b}]}),
        _answers(OWNER_OF_PUBLIC_OBJECT, member=CREATED, admin=Allowed(422, "block_not_active"))),
    ("POST", "/api/v1/retirements/bulk"): (
        lambda w: ("/retirements/bulk", {"beneficiary": "Acme", "claim_type": "general", "reporting_year": 2026,
                                         "items": [{"serial": w.serial, "quantity": "1.000"}]}),
        _answers(OWNER_OF_PUBLIC_OBJECT, member=CREATED, admin=Allowed(422, "block_not_active"))),
    ("GET", "/api/v1/retirements/bulk/<id:bulk_id>"): (
        lambda w: ("/retirements/bulk/999999", None), dict.fromkeys(ROLES, Allowed(404, "bulk_retirement_not_found"))),
    # R-T6: a participant's own offers; an offer is visible to its two parties only (R-X4: 404 to others).
    ("GET", "/api/v1/offers"): (lambda w: ("/offers?role=recipient", None), _access(401, OK, OK, 403, 403)),
    ("GET", "/api/v1/offers/<id:offer_id>"): (lambda w: ("/offers/999999", None), _access(401, 404, 404, 404, 404)),
    **{("POST", f"/api/v1/offers/<id:offer_id>/{action}"): (
        lambda w, action=action: (f"/offers/999999/{action}", None), _access(401, 404, 404, 404, 404))
       for action in ("accept", "reject", "withdraw")},
    ("GET", "/api/v1/retirements"): (lambda w: ("/retirements", None), PUBLIC),
    ("POST", "/api/v1/retirements"): (
        lambda w: ("/retirements", {"serial": w.serial, "quantity": "1.000", "beneficiary": "Acme",
                                    "claim_type": "general", "reporting_year": 2026}),
        _answers(OWNER_OF_PUBLIC_OBJECT, member=CREATED, admin=Allowed(422, "block_not_active"))),
    ("GET", "/api/v1/retirements/<id:retirement_id>"): (lambda w: (f"/retirements/{w.retirement}", None),
                                                         PUBLIC),
    # R-N4: an account statement is the participant's own (R-X4: others learn nothing)
    ("GET", "/api/v1/participants/<id:participant_id>/statement"): (
        lambda w: (f"/participants/{w.a}/statement?from=2026-01-01&to=2026-12-31", None), OWNER_HIDDEN),
    # R-R7: only the retiring participant (Brand Co, "other" here) amends; not its generator, nor an admin
    ("POST", "/api/v1/retirements/<id:retirement_id>/amendments"): (
        lambda w: (f"/retirements/{w.retirement}/amendments", {"statement": "amended"}),
        _access(401, CREATED, 403, 403, 403)),
    # the transparency log and witnesses
    ("GET", "/api/v1/log/key"): (lambda w: ("/log/key", None), PUBLIC),
    ("GET", "/api/v1/log/checkpoint"): (lambda w: ("/log/checkpoint", None), PUBLIC),
    ("GET", "/api/v1/log/entries"): (lambda w: ("/log/entries?start=0&end=3", None), PUBLIC),
    ("GET", "/api/v1/log/proof/inclusion"): (lambda w: ("/log/proof/inclusion?index=0&size=2", None), PUBLIC),
    ("GET", "/api/v1/log/proof/consistency"): (lambda w: ("/log/proof/consistency?first=1&second=2", None),
                                               PUBLIC),
    ("GET", "/api/v1/witnesses"): (lambda w: ("/witnesses", None), PUBLIC),
    ("POST", "/api/v1/witnesses"): (lambda w: ("/witnesses", {"vkey": w.witness_vkey}),
                                    _answers(ADMIN_ONLY, admin=CREATED)),
    # No token by design: the witness's signature authenticates the cosignature (R-L9), so
    # every caller gets the same answer on the merits: no checkpoint of that size was signed.
    ("POST", "/api/v1/log/cosignatures"): (
        lambda w: ("/log/cosignatures", {"checkpoint_size": 1, "cosignature": "— witness AAAA"}),
        dict.fromkeys(ROLES, Allowed(404, "unknown_checkpoint"))),
    ("GET", "/api/v1/admin/integrity"): (lambda w: ("/admin/integrity", None), ADMIN_ONLY),
    # chain of custody (R-M8): the participant writes; its certifier and admins read
    ("POST", "/api/v1/custody/accounts"): (
        lambda w: ("/custody/accounts", {"participant_id": w.a, "product_group": "PE resin",
                                         "control_system": "mass-balance", "facility_ids": [w.facility],
                                         "starts_on": "2026-01-01", "period_months": 3}),
        _access(401, 403, CREATED, 403, CREATED)),
    ("GET", "/api/v1/custody/accounts/<id:account_id>"): (lambda w: (f"/custody/accounts/{w.account}", None),
                                                          _access(401, 404, OK, OK, OK)),
    ("POST", "/api/v1/custody/accounts/<id:account_id>/inputs"): (
        lambda w: (f"/custody/accounts/{w.account}/inputs", {
            "on": "2026-03-01", "supplier_name": "Virgin Co", "reference": "INV-V", "material_code": "PC_P3.1.9",
            "mass": t(1)}),
        _answers(OWNER_CERTIFIER_SEES, member=CREATED, admin=CREATED)),
    ("POST", "/api/v1/custody/accounts/<id:account_id>/outputs"): (
        lambda w: (f"/custody/accounts/{w.account}/outputs", {
            "on": "2026-03-01", "customer": "Brand Co", "reference": "SO-1", "material_code": "PC_P3.1.9",
            "mass": t(3), "claim": "RMS 100% PC MB"}),
        # the member draws 3 t of the 5 t credit; the admin's 3 t more would overdraw it
        _answers(OWNER_CERTIFIER_SEES, member=CREATED, admin=Allowed(422, "insufficient_credit"))),
    ("GET", "/api/v1/custody/accounts/<id:account_id>/balance"): (
        lambda w: (f"/custody/accounts/{w.account}/balance?on=2026-03-02", None), _access(401, 404, OK, OK, OK)),
    ("POST", "/api/v1/custody/accounts/<id:account_id>/periods/<int:n>/close"): (
        lambda w: (f"/custody/accounts/{w.account}/periods/1/close", None),
        _answers(OWNER_CERTIFIER_SEES, member=CREATED, admin=Allowed(409, "period_closed"))),
    ("GET", "/api/v1/custody/accounts/<id:account_id>/periods"): (
        lambda w: (f"/custody/accounts/{w.account}/periods", None), _access(401, 404, OK, OK, OK)),
    ("GET", "/api/v1/custody/accounts/<id:account_id>/periods/<int:n>"): (
        lambda w: (f"/custody/accounts/{w.account}/periods/1", None),
        _access(401, 404, Allowed(404, "period_not_closed"), Allowed(404, "period_not_closed"),
                Allowed(404, "period_not_closed"))),
    # webhooks and the event feed (R-N1, R-N2): a participant's members manage its own; admins read
    ("POST", "/api/v1/webhooks"): (lambda w: ("/webhooks", {"url": "https://hooks.example.invalid/arc"}),
                                   _access(401, CREATED, CREATED, 403, 403)),
    ("GET", "/api/v1/webhooks"): (lambda w: ("/webhooks", None), _access(401, OK, OK, 403, 403)),
    ("GET", "/api/v1/webhooks/<id:webhook_id>"): (lambda w: (f"/webhooks/{w.webhook}", None), OWNER_HIDDEN),
    ("DELETE", "/api/v1/webhooks/<id:webhook_id>"): (lambda w: (f"/webhooks/{w.webhook}", None),
                                                     _access(401, 404, NO_CONTENT, 404, 403)),
    ("POST", "/api/v1/webhooks/<id:webhook_id>/<any(disable, enable):action>"): (
        lambda w: (f"/webhooks/{w.webhook}/disable", None), _access(401, 404, OK, 404, 403)),
    ("GET", "/api/v1/webhooks/<id:webhook_id>/deliveries"): (
        lambda w: (f"/webhooks/{w.webhook}/deliveries", None), OWNER_HIDDEN),
    ("GET", "/api/v1/events"): (lambda w: ("/events", None), _access(401, OK, OK, 403, 403)),
}


def _routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(app):
    routes = _routes(app)
    assert not routes - ROUTES.keys(), f"routes without an access entry: {sorted(routes - ROUTES.keys())}"
    assert not ROUTES.keys() - routes, f"entries for routes that no longer exist: {sorted(ROUTES.keys() - routes)}"


def _call(client, method: str, path: str, body, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": body} if body is not None else {}
    return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)


def _assert_problem(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert body["status"] == status and body["code"] and body["title"], body


@pytest.mark.parametrize(("method", "rule"), sorted(ROUTES), ids=[f"{m} {r}" for m, r in sorted(ROUTES)])
def test_route_access(client, world, method, rule):
    build, access = ROUTES[(method, rule)]
    path, body = build(world)
    if access["anonymous"] == 401:
        # Authentication is checked on every protected route, whatever the token's defect.
        _assert_problem(_call(client, method, path, body, "not-a-token"), 401)
    # Refusals first, then the roles that succeed (a success may change what follows).
    for role in sorted(ROLES, key=lambda role: isinstance(access[role], Allowed)):
        response = _call(client, method, path, body, world.tokens[role])
        expected = access[role]
        where = f"{method} {path} as {role}"
        if isinstance(expected, Allowed):
            assert response.status_code == expected.status, (where, response.get_data(as_text=True))
            if expected.code is not None:
                assert response.get_json()["code"] == expected.code, (where, response.get_json())
            else:
                assert expected.status < 300
        else:
            assert response.status_code == expected, (where, response.get_data(as_text=True))
            _assert_problem(response, expected)


@pytest.mark.parametrize(("method", "rule"), sorted(k for k, v in ROUTES.items() if v[1]["anonymous"] == 401),
                         ids=lambda value: str(value))
def test_write_without_token_changes_nothing(client, world, engine, method, rule):
    """An anonymous write is refused before anything is written."""
    from tests.api.driver import snapshot

    build, _ = ROUTES[(method, rule)]
    path, body = build(world)
    before = snapshot(engine)
    _assert_problem(_call(client, method, path, body, None), 401)
    assert snapshot(engine) == before


def test_certifier_may_not_list_every_participants_blocks(client, world):
    """GET /blocks without ``owner`` lists the caller's own participant's; a
    certifier has none and used to get everyone's blocks (R-P4)."""
    _assert_problem(_call(client, "GET", "/blocks", None, world.tokens["certifier"]), 403)
    assert _call(client, "GET", "/blocks", None, world.tokens["admin"]).status_code == 200
    own = _call(client, "GET", "/blocks", None, world.tokens["member"]).get_json()["items"]
    assert own and all(block["owner_id"] == world.a for block in own)


# --- The explorer's pages (api/pages/) and the workspace (api/workspace/): HTML outside /api/v1 ---
# Public pages answer anyone. Workspace and admin pages take no bearer header: a
# person signs in (R-W1) and the browser keeps a server-side session's secret in a
# cookie. Here each role's user gets a signed-in session directly (the sign-in itself
# is tested in tests/workspace/); anyone not signed in is sent (303) to the sign-in
# page, a signed-in person of another role is refused. Every POST carries the form's
# CSRF token (a POST without it is refused: tests/workspace/test_signin.py).
PAGE_PUBLIC = "public page"
PAGE_SIGNED_IN = "any person signed in"
PAGE_ADMIN = "administrator page"
PAGE_SIGN_IN = "sign-in step: answered on what is posted"
PAGE_MEMBER = "a participant's member: its own participant's page"
PAGE_MEMBER_OBJECT = "a participant's member: about one object of its participant (another's: 403 or 404)"
PAGE_CERTIFIER = "a certification body's certifier"
PAGE_SIGNED_IN_OBJECT = "any person signed in: about one object of theirs (another's or none: 404)"
PAGE_READER_OBJECT = "whoever reads the object: its participant's members, its certifier, admins (others: 404)"

PAGE_ROUTES = {
    ("GET", "/"): (lambda w: "/", PAGE_PUBLIC),
    ("GET", "/static/<path:filename>"): (lambda w: "/static/site.css", PAGE_PUBLIC),
    ("GET", "/certificates"): (lambda w: f"/certificates?serial={w.serial}", PAGE_PUBLIC),
    ("GET", "/certificates/<string:serial>"): (lambda w: f"/certificates/{w.serial}", PAGE_PUBLIC),
    ("GET", "/certificates/<string:serial>/proof.json"): (lambda w: f"/certificates/{w.serial}/proof.json",
                                                          PAGE_PUBLIC),
    ("GET", "/retirements"): (lambda w: "/retirements", PAGE_PUBLIC),
    ("GET", "/retirements/<id:retirement_id>"): (lambda w: f"/retirements/{w.retirement}", PAGE_PUBLIC),
    ("GET", "/retirements/<id:retirement_id>/proof.json"): (lambda w: f"/retirements/{w.retirement}/proof.json",
                                                             PAGE_PUBLIC),
    # R-T7: public. The world holds no bulk retirement, so this visits the single statement it links from;
    # the bulk page itself is tested in tests/api/test_bulk.py.
    ("GET", "/retirements/bulk/<id:bulk_id>"): (lambda w: f"/retirements/{w.retirement}", PAGE_PUBLIC),
    ("GET", "/participants"): (lambda w: "/participants", PAGE_PUBLIC),
    ("GET", "/rms-certificates"): (lambda w: f"/rms-certificates?participant={w.a}", PAGE_PUBLIC),  # R-C4
    ("GET", "/rms-certificates/<string:number>"): (lambda w: f"/rms-certificates/{w.certificate}", PAGE_PUBLIC),
    ("GET", "/admin/login"): (lambda w: "/admin/login", PAGE_SIGN_IN),
    ("GET", "/admin"): (lambda w: "/admin", PAGE_ADMIN),
    ("POST", "/admin/participants/<id:participant_id>/activate"): (
        lambda w: f"/admin/participants/{w.pending}/activate", PAGE_ADMIN),
    ("GET", "/workspace/sign-in"): (lambda w: "/workspace/sign-in", PAGE_SIGN_IN),
    ("POST", "/workspace/sign-in"): (lambda w: "/workspace/sign-in", PAGE_SIGN_IN),
    ("GET", "/workspace/sign-in/code"): (lambda w: "/workspace/sign-in/code", PAGE_SIGN_IN),
    ("POST", "/workspace/sign-in/code"): (lambda w: "/workspace/sign-in/code", PAGE_SIGN_IN),
    ("GET", "/workspace/sign-in/enrol"): (lambda w: "/workspace/sign-in/enrol", PAGE_SIGN_IN),
    ("POST", "/workspace/sign-in/enrol"): (lambda w: "/workspace/sign-in/enrol", PAGE_SIGN_IN),
    ("POST", "/workspace/sign-out"): (lambda w: "/workspace/sign-out", PAGE_SIGN_IN),
    ("GET", "/workspace/reset/<string:secret>"): (lambda w: "/workspace/reset/rst_unknown", PAGE_SIGN_IN),
    ("POST", "/workspace/reset/<string:secret>"): (lambda w: "/workspace/reset/rst_unknown", PAGE_SIGN_IN),
    ("GET", "/workspace"): (lambda w: "/workspace", PAGE_SIGNED_IN),
    ("GET", "/workspace/account"): (lambda w: "/workspace/account", PAGE_SIGNED_IN),
    ("POST", "/workspace/account/password"): (lambda w: "/workspace/account/password", PAGE_SIGNED_IN),
    ("GET", "/workspace/account/two-factor"): (lambda w: "/workspace/account/two-factor", PAGE_SIGNED_IN),
    ("POST", "/workspace/account/two-factor"): (lambda w: "/workspace/account/two-factor", PAGE_SIGNED_IN),
    ("POST", "/workspace/account/two-factor/disable"): (lambda w: "/workspace/account/two-factor/disable",
                                                        PAGE_SIGNED_IN),
    ("POST", "/workspace/account/recovery-codes"): (lambda w: "/workspace/account/recovery-codes", PAGE_SIGNED_IN),
    ("GET", "/workspace/users"): (lambda w: "/workspace/users", PAGE_ADMIN),
    ("POST", "/workspace/users/<id:user_id>/disable"): (lambda w: f"/workspace/users/{w.member_user}/disable",
                                                        PAGE_ADMIN),
    ("POST", "/workspace/users/<id:user_id>/enable"): (lambda w: f"/workspace/users/{w.member_user}/enable",
                                                       PAGE_ADMIN),
    ("POST", "/workspace/users/<id:user_id>/reset-link"): (lambda w: f"/workspace/users/{w.member_user}/reset-link",
                                                           PAGE_ADMIN),
    ("POST", "/workspace/users"): (lambda w: "/workspace/users", PAGE_ADMIN),
    ("GET", "/workspace/participants"): (lambda w: "/workspace/participants", PAGE_ADMIN),
    ("POST", "/workspace/participants"): (lambda w: "/workspace/participants", PAGE_ADMIN),
    ("POST", "/workspace/participants/<id:participant_id>/activate"): (
        lambda w: f"/workspace/participants/{w.pending}/activate", PAGE_ADMIN),
    ("POST", "/workspace/participants/<id:participant_id>/suspend"): (
        lambda w: f"/workspace/participants/{w.b}/suspend", PAGE_ADMIN),
    ("GET", "/workspace/account/tokens"): (lambda w: "/workspace/account/tokens", PAGE_SIGNED_IN),
    ("POST", "/workspace/account/tokens"): (lambda w: "/workspace/account/tokens", PAGE_SIGNED_IN),
    ("POST", "/workspace/account/tokens/<id:token_id>/revoke"): (
        lambda w: f"/workspace/account/tokens/{w.spare_token}/revoke", PAGE_SIGNED_IN_OBJECT),
    # R-W2, R-W3: a participant's member
    **{("GET", f"/workspace/{page}"): (lambda w, page=page: f"/workspace/{page}", PAGE_MEMBER)
       for page in ("holdings", "transfer", "offers", "retire", "statement", "facilities", "lots", "lots/new",
                    "custody", "webhooks")},
    **{("POST", f"/workspace/{page}"): (lambda w, page=page: f"/workspace/{page}", PAGE_MEMBER)
       for page in ("transfer", "transfer/bulk", "transfer/preview", "retire", "lots/new", "webhooks")},
    ("GET", "/workspace/downloads/<any(holdings, blocks, retirements, statement):what>.<any(csv, xlsx):fmt>"): (
        lambda w: "/workspace/downloads/blocks.xlsx", PAGE_MEMBER),
    ("GET", "/workspace/lots/<id:lot_id>"): (lambda w: f"/workspace/lots/{w.lot}", PAGE_MEMBER_OBJECT),
    ("POST", "/workspace/lots/<id:lot_id>/dispositions"): (lambda w: f"/workspace/lots/{w.lot}/dispositions",
                                                           PAGE_MEMBER_OBJECT),
    ("POST", "/workspace/lots/<id:lot_id>/generate"): (lambda w: f"/workspace/lots/{w.lot}/generate",
                                                       PAGE_MEMBER_OBJECT),
    ("POST", "/workspace/custody/<id:account_id>/periods/<int:n>/close"): (
        lambda w: f"/workspace/custody/{w.account}/periods/1/close", PAGE_MEMBER_OBJECT),
    ("POST", "/workspace/custody/<id:account_id>/inputs"): (
        lambda w: f"/workspace/custody/{w.account}/inputs", PAGE_MEMBER_OBJECT),
    ("POST", "/workspace/custody/<id:account_id>/outputs"): (
        lambda w: f"/workspace/custody/{w.account}/outputs", PAGE_MEMBER_OBJECT),
    ("GET", "/workspace/custody/<id:account_id>/<any(inputs, outputs, lots):what>"): (
        lambda w: f"/workspace/custody/{w.account}/inputs", PAGE_MEMBER_OBJECT),
    ("POST", "/workspace/offers/<id:offer_id>/<any(accept, reject, withdraw):action>"): (
        lambda w: "/workspace/offers/999999/accept", PAGE_MEMBER_OBJECT),  # none: 404 for every member
    ("POST", "/workspace/webhooks/<id:webhook_id>/<any(disable, enable, delete):action>"): (
        lambda w: f"/workspace/webhooks/{w.webhook}/disable", PAGE_MEMBER_OBJECT),
    # R-W4
    ("GET", "/workspace/certifier"): (lambda w: "/workspace/certifier", PAGE_CERTIFIER),
    ("POST", "/workspace/certifier/determinations"): (lambda w: "/workspace/certifier/determinations",
                                                      PAGE_CERTIFIER),
    ("POST", "/workspace/certifier/determinations/<id:determination_id>/withdraw"): (
        lambda w: f"/workspace/certifier/determinations/{w.determination}/withdraw", PAGE_CERTIFIER),
    # R-C6, R-C3: renew, amend, suspend / reinstate / revoke a certificate of the certifier's body
    ("POST", "/workspace/certifier/certificates/<string:number>/<any(renew, amend, status):change>"): (
        lambda w: f"/workspace/certifier/certificates/{w.certificate}/renew", PAGE_CERTIFIER),
    # R-M8: an account's closed periods for an audit (the certifier's page and the participant's)
    ("GET", "/workspace/custody/<id:account_id>/periods.<any(csv, xlsx):fmt>"): (
        lambda w: f"/workspace/custody/{w.account}/periods.xlsx", PAGE_READER_OBJECT),
}


def _page_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if not rule.rule.startswith("/api/v1/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_page_route_is_classified(app):
    routes = _page_routes(app)
    assert not routes - PAGE_ROUTES.keys(), f"pages without an access entry: {sorted(routes - PAGE_ROUTES.keys())}"
    assert not PAGE_ROUTES.keys() - routes, f"entries for pages that no longer exist: {sorted(PAGE_ROUTES.keys() - routes)}"


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 303 and "/workspace/sign-in" in response.headers["Location"]


def _signed_in_browser(app, engine, clock, token):
    """A browser signed in as the token's user (a session opened directly, as after R-W1's steps)."""
    from registry.accounts import sessions
    from registry.db import UnitOfWork, session_factory
    from registry.identity import authenticate_token

    client = app.test_client()
    if token is None:
        return client
    with UnitOfWork(session_factory(engine), clock) as uow:
        _, user = authenticate_token(uow, token)
        secret = sessions.open_session(uow, user_id=user.id, method=sessions.PASSWORD_TOTP,
                                       lifetimes=sessions.Lifetimes(timedelta(hours=1), timedelta(hours=1)))
        uow.commit()
    client.set_cookie("arcreg_session", secret)
    return client


def _csrf(client) -> str:
    import re

    for page in ("/workspace/account", "/workspace/sign-in"):
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(page).get_data(as_text=True))
        if found:
            return found.group(1)
    raise AssertionError("no CSRF token")


@pytest.mark.parametrize(("method", "rule"), sorted(PAGE_ROUTES), ids=[f"{m} {r}" for m, r in sorted(PAGE_ROUTES)])
def test_page_access(app, world, engine, clock, method, rule):
    build, access = PAGE_ROUTES[(method, rule)]
    path = build(world)
    for role in ROLES:
        client = _signed_in_browser(app, engine, clock, world.tokens[role])  # each role its own browser
        form = {"csrf_token": _csrf(client)} if method == "POST" else None
        response = client.open(path, method=method, data=form)
        where = f"{method} {path} as {role}"
        assert response.status_code < 500, (where, response.get_data(as_text=True))
        if access == PAGE_PUBLIC:
            assert response.status_code not in (401, 403, 404), where
        elif access == PAGE_SIGN_IN:
            # A form, a redirect to the next step or back to the sign-in, a refusal of the empty
            # form, or an unknown reset link's 410: never a page that needed a sign-in.
            assert response.status_code in (200, 303, 400, 410), (where, response.status_code)
        elif role == "anonymous":
            assert _sent_to_sign_in(response), (where, response.status_code)
        elif access in (PAGE_MEMBER, PAGE_MEMBER_OBJECT, PAGE_CERTIFIER):
            allowed = {PAGE_MEMBER: ("member", "other"), PAGE_MEMBER_OBJECT: ("member",),
                       PAGE_CERTIFIER: ("certifier",)}[access]
            if role in allowed:
                assert not _sent_to_sign_in(response), where
                refused = (401, 403) if "/999999/" in path else (401, 403, 404)  # the offer route names none
                assert response.status_code not in refused, (where, response.status_code)
            elif access == PAGE_MEMBER_OBJECT and role == "other":
                assert response.status_code in (403, 404), (where, response.status_code)
            else:
                assert response.status_code == 403, (where, response.status_code)
        elif access == PAGE_READER_OBJECT:
            expected = (200,) if role in ("member", "certifier", "admin") else (404,)
            assert response.status_code in expected, (where, response.status_code)
        elif access == PAGE_SIGNED_IN_OBJECT:
            assert not _sent_to_sign_in(response) and response.status_code not in (401, 403), where
        elif access == PAGE_SIGNED_IN or role == "admin":
            assert response.status_code < 500 and not _sent_to_sign_in(response), where
            assert response.status_code not in (401, 403, 404), (where, response.status_code)
        else:  # an administrator page, someone else signed in
            assert _sent_to_sign_in(response) or response.status_code == 403, (where, response.status_code)

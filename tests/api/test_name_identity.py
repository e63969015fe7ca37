"""R-R5 through the HTTP API on SQLite and PostgreSQL: product claims add up
per (beneficiary, product, reporting year) identity, look-alike names are
refused everywhere with nothing written, beneficiary search uses the identity
key (R-R8), and replay re-checks both rules (R-L7c). The reproductions of
issue 15 item 5 and issue 20 item 7."""

from __future__ import annotations

from decimal import Decimal

import pytest

from registry import retirements
from registry.claims import CompositionItem
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.errors import InvalidInput
from registry.identity import actor_of, authenticate
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import kg, snapshot, t
from tests.api.test_errors_and_health import assert_problem

PE = "PC_P3.1.5"
FULLWIDTH_SOCIETE = "Ｓｏｃｉéｔé　Ｇéｎéｒａｌｅ"


def _pe_block(driver, gen, tonnes) -> str:
    """A fresh active PE block of ``tonnes`` held by its generator."""
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, PE, t(tonnes))
    driver.sell(gen.token, lot["id"], t(tonnes), on=lot["processed_on"])
    return driver.generate(gen.token, lot["id"])["serial"]


def _claim(serial, quantity, *, beneficiary="Acme Foods", product="Tub", pe=t(5), year=2026) -> dict:
    return {"serial": serial, "quantity": quantity, "beneficiary": beneficiary, "claim_type": "product",
            "reporting_year": year, "product": {"name": product, "composition": [{"arc_type": "PE", "mass": pe}]}}


def _retire(driver, token, body) -> str:
    """Retire; return the serial of what stays active."""
    done = driver.ok("/retirements", body, token)
    return done["remainder"]["serial"] if done["remainder"] else None


def _refused(driver, engine, token, path, body, status, code, field=None) -> dict:
    before = snapshot(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert snapshot(engine) == before  # R-X2: nothing written
    if field is not None:
        assert problem["rule"] == "R-R5" and list(problem["errors"]) == [field], problem
    return problem


def test_a_new_reporting_year_starts_afresh(driver, engine):
    """Issue 15.5: 80 PE retired for "Tray" (PE 100 t) in one reporting year;
    the same product in the next year was refused with exceeds_product_mass."""
    gen = driver.generator()
    serial = _pe_block(driver, gen, 300)
    tray = {"beneficiary": "Brand Co", "product": "Tray", "pe": t(100)}
    serial = _retire(driver, gen.token, _claim(serial, "80", **tray, year=2026))
    _refused(driver, engine, gen.token, "/retirements", _claim(serial, "20.001", **tray, year=2026),
             422, "exceeds_product_mass")
    serial = _retire(driver, gen.token, _claim(serial, "80", **tray, year=2027))  # a new year: afresh
    serial = _retire(driver, gen.token, _claim(serial, "20", **tray, year=2027))  # adds up to 100 t
    _refused(driver, engine, gen.token, "/retirements", _claim(serial, "0.001", **tray, year=2027),
             422, "exceeds_product_mass")
    serial = _retire(driver, gen.token, _claim(serial, "20", **tray, year=2026))  # 2026 still had 20 t
    # A genuinely different product is a different product; another beneficiary too.
    serial = _retire(driver, gen.token, _claim(serial, "50", **{**tray, "product": "Tray 2025"}, year=2026))
    _retire(driver, gen.token, _claim(serial, "50", **{**tray, "beneficiary": "Other Brand"}, year=2026))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"beneficiary": "Acme Foods\u200b"}, "beneficiary"),  # zero-width space
    ({"beneficiary": "\u0410cme Foods"}, "beneficiary"),  # Cyrillic А
    ({"beneficiary": "Acme \u202eFoods"}, "beneficiary"),  # right-to-left override
    ({"product": "Tub\u200b"}, "product.name"),
    ({"product": "T\u0443b"}, "product.name"),  # Cyrillic у
    ({"product": "\u2066Tub\u2069"}, "product.name"),  # bidirectional isolates
])
def test_look_alike_names_are_refused_and_cannot_dodge_a_cap(driver, engine, overrides, field):
    """Issue 15.5: after "Acme Foods" / "Tub" was capped at 5 t, each look-alike
    retired another 5 t. Now each is refused with name_not_allowed, nothing written."""
    gen = driver.generator()
    serial = _pe_block(driver, gen, 10)
    serial = _retire(driver, gen.token, _claim(serial, "5"))  # the cap: 5 t of PE
    _refused(driver, engine, gen.token, "/retirements", _claim(serial, "5", **overrides), 400,
             "name_not_allowed", field)


@pytest.mark.parametrize("overrides", [
    {"beneficiary": "Acme\u00a0Foods"},  # no-break space: white space, the same identity
    {"beneficiary": "ACME  FOODS"},
    {"beneficiary": "Ａｃｍｅ Ｆｏｏｄｓ"},  # fullwidth
    {"product": "TUB"},
    {"product": " tub "},
])
def test_spellings_of_the_same_identity_add_up(driver, engine, overrides):
    gen = driver.generator()
    serial = _pe_block(driver, gen, 10)
    serial = _retire(driver, gen.token, _claim(serial, "4"))
    _refused(driver, engine, gen.token, "/retirements", _claim(serial, "1.001", **overrides), 422,
             "exceeds_product_mass")
    _retire(driver, gen.token, _claim(serial, "1", **overrides))


def test_restating_the_composition_cannot_lift_the_cap(driver, engine):
    """R-R5: the composition is the product's mass for the reporting year."""
    gen = driver.generator()
    serial = _pe_block(driver, gen, 20)
    serial = _retire(driver, gen.token, _claim(serial, "3"))
    problem = _refused(driver, engine, gen.token, "/retirements", _claim(serial, "5", pe=t(10)), 422,
                       "composition_changed")
    assert problem["rule"] == "R-R5" and list(problem["errors"]) == ["product.composition"]
    serial = _retire(driver, gen.token, _claim(serial, "2", pe=kg("5000.000")))  # the same mass, other unit
    _retire(driver, gen.token, _claim(serial, "10", pe=t(10), year=2027))  # a new year, a new statement


@pytest.mark.parametrize("name", ["Acme\u202eRecycling", "Acme Recycling\u200b", "\u0410cme Recycling",
                                  "Acme\u00adRecycling"])
def test_participant_names_are_checked(driver, engine, name):
    _refused(driver, engine, driver.admin, "/participants",
             {"name": name, "country": "US", "gpp_signed_on": "2025-06-01"}, 400, "name_not_allowed", "name")


@pytest.mark.parametrize("reference", ["LOT-1\u200b", "LOT\u202e-1", "L\u041eT-1"])  # ZWSP, RLO, Cyrillic О
def test_lot_references_are_checked(driver, engine, reference):
    gen = driver.generator()
    before = snapshot(engine)
    response = driver.post("/lots", {**_lot_body(driver, gen), "reference": reference}, gen.token)
    problem = assert_problem(response, 400, "name_not_allowed")
    assert list(problem["errors"]) == ["reference"] and problem["rule"] == "R-R5"
    assert snapshot(engine) == before


def _lot_body(driver, gen) -> dict:
    """The body driver.lot posts, without posting it."""
    captured = {}
    driver_ok = driver.ok
    try:
        driver.ok = lambda path, body, token=None, status=201: captured.setdefault("body", body)
        driver.lot(gen.token, gen.facility_id, gen.certificate)
    finally:
        driver.ok = driver_ok
    return captured["body"]


def test_beneficiary_search_uses_the_identity_key(driver):
    """Issue 20.7: SQLite found one, PostgreSQL two; both find all four (R-R8)."""
    gen = driver.generator()
    serial = _pe_block(driver, gen, 10)
    made = []
    for beneficiary in ("Société Générale", "SOCIÉTÉ GÉNÉRALE", "Société  Générale", FULLWIDTH_SOCIETE,
                        "Societe Generale"):
        done = driver.ok("/retirements", {"serial": serial, "quantity": "1", "beneficiary": beneficiary,
                                          "claim_type": "general", "reporting_year": 2026}, gen.token)
        made.append(done["id"])
        serial = done["remainder"]["serial"]
    for query in ("Société Générale", "société générale", "SOCIÉTÉ  GÉNÉRALE ", FULLWIDTH_SOCIETE,
                  "Socie\u0301te\u0301 Ge\u0301ne\u0301rale"):
        response = driver.client.get("/api/v1/retirements", query_string={"beneficiary": query})
        assert [r["id"] for r in response.get_json()["items"]] == made[:4], query
        # The record keeps the name as written.
    assert [driver.get(f"/retirements/{i}").get_json()["beneficiary"] for i in made[:2]] == [
        "Société Générale", "SOCIÉTÉ GÉNÉRALE"]
    response = driver.client.get("/api/v1/retirements", query_string={"beneficiary": "Societe Generale"})
    assert [r["id"] for r in response.get_json()["items"]] == made[4:]  # accents are not folded


def test_a_domain_caller_passing_a_product_claim_is_checked_too(driver, engine, clock):
    """R-R5 in the service, not only at the API's edge (registry.retirements.ProductClaim)."""
    gen = driver.generator()
    serial = _pe_block(driver, gen, 10)
    before = snapshot(engine)
    with UnitOfWork(session_factory(engine), clock) as uow:
        actor = actor_of(authenticate(uow, gen.token))
        with pytest.raises(InvalidInput) as refused:
            retirements.retire(uow, actor, serial=serial, quantity=Decimal(1), beneficiary="Acme Foods",
                               claim_type="product", reporting_year=2026,
                               product=retirements.ProductClaim("Tub\u200b", (CompositionItem("PE", Decimal(5000)),)))
    assert (refused.value.code, refused.value.field) == ("name_not_allowed", "product.name")
    assert snapshot(engine) == before


def _bypass_cap(monkeypatch):
    monkeypatch.setattr(retirements.claims, "check_product_claim", lambda *args, **kwargs: None)


def _bypass_names(monkeypatch):
    monkeypatch.setattr(retirements, "check_name", lambda field, text: text.strip())


@pytest.mark.parametrize(("bypass", "second"), [
    (_bypass_cap, {"product": "TUB"}),  # 5 t + 5 t against a 5 t product
    (_bypass_names, {"beneficiary": "Acme Foods\u200b", "product": "Lid"}),  # not Tub: the key caps that
    (_bypass_names, {"product": "T\u0443b"}),
])
def test_replay_refuses_a_signed_log_that_breaks_the_rule(driver, engine, db_url, tmp_path, monkeypatch,
                                                          bypass, second):
    """R-L7c: a registry whose writer skipped the check (an older version, or a
    tampering operator with the signing key) holds a correctly signed entry
    that breaks R-R5; `arcreg verify`'s replay fails at that entry, naming the rule."""
    gen = driver.generator()
    serial = _pe_block(driver, gen, 10)
    serial = _retire(driver, gen.token, _claim(serial, "5"))
    bypass(monkeypatch)
    bad = driver.ok("/retirements", _claim(serial, "5", **second), gen.token)
    monkeypatch.undo()
    assert driver.get(f"/retirements/{bad['id']}").status_code == 200  # signs a checkpoint covering it
    verifier = load_signer(Config(database_url=db_url, signing_key_file=tmp_path / "key.pem")).verifier
    with session_factory(engine)() as session:
        report = verify_registry(session, [verifier], record=False)
    assert not report.ok
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", bad["log"]["index"]), report.failure()
    assert "R-R5" in str(report.error)

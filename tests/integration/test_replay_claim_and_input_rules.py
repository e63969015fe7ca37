"""R-L7c for R-R4/R-R8: a correctly signed log whose retirement records a claim
the services refuse — a claim date more than a year after the retirement, a
claimed status above the certificates' — is reported by `arcreg verify` at
that entry, naming the rule. The entries are written by the services with the
check bypassed, as a writer that skipped it would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from chainlog import store
from registry import claims, retirements, statements
from registry.errors import RegistryError
from registry.replay import claim_rules, name_rules
from registry.replay.state import State
from chainlog.errors import VerificationError
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry import demo
from registry.demo import build_demo
from registry.identity import actor_of
from registry.models import Block, User
from tests.integration.test_verify import START, _checkpoint, run_verify
from tests.integration.test_verify_replay import verifier_signer

def _retire_bypassing(engine, config, monkeypatch, module, check: str, **claim) -> int:
    build_demo(engine, config)
    clock = FrozenClock(START)
    _checkpoint(engine, config, clock)
    monkeypatch.setattr(module, check, lambda *args, **kwargs: None)
    with UnitOfWork(session_factory(engine), clock) as uow:
        block = uow.session.exec(select(Block).where(Block.state == "active", Block.arc_type == "PP")
                                 .order_by(Block.serial)).first()
        owner = uow.session.exec(select(User).where(User.participant_id == block.owner_id)).first()
        done = retirements.retire(uow, actor_of(owner), serial=block.serial, quantity=Decimal("1"),
                                  beneficiary="Brand", claim_type="general",
                                  reporting_year=block.generation_year, **claim)
        store.sign_checkpoint(uow.session, verifier_signer(config), config.log_origin, clock.now())
        uow.commit()
        return done.log_index


@pytest.mark.parametrize("module,check,claim_date,rule", [
    (statements, "check_claim_date_within_year", date(2099, 1, 1), "R-R8"),  # more than a year after
    (claims, "check_claim_date", date(2000, 1, 1), "R-R4"),  # before the retirement
])
def test_a_rule_breaking_claim_date_in_a_signed_log_is_a_finding(engine, db_url, tmp_path, monkeypatch,
                                                                 module, check, claim_date, rule):
    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    index = _retire_bypassing(engine, config, monkeypatch, module, check, claim_date=claim_date)
    monkeypatch.undo()
    report = run_verify(engine, config)
    assert any(f.index == index and rule in str(f) for f in report.findings), report.failure()


_TUB = {"name": "Tub", "composition": [{"arc_type": "PP", "mass": {"value": "500.000", "unit": "kg"}}]}


def _retired_entry(arc_code: str, claim_type: str, **claim) -> dict:
    """A ``block.retired`` payload's claim (a product claim names the product "Tub" unless ``claim`` says)."""
    named = {"product": _TUB} if claim_type == "product" else {}
    return {"retired_on": "2026-03-02", "retired": {"arc_code": arc_code},
            "claim": {"type": claim_type, "claim_date": None, **named, **claim}}


@pytest.mark.parametrize("arc_code,claim_type,claim,code", [
    ("PI_P_PP_ARC", "product", {"claimed_status": "PC"}, "claimed_status_too_high"),
    ("PC_P_PP_ARC", "general", {"claimed_status": "PC"}, "product_claim_only"),
    ("PC_P_PP_ARC", "general", {"label_approval_ref": "LA-1"}, "product_claim_only"),
    ("PC_P_PP_ARC", "product", {"product": None}, "composition_required"),  # R-R3: no product named
    ("PC_P_PP_ARC", "general", {"product": _TUB}, "product_not_allowed"),  # R-R3
])
def test_replay_refuses_product_claim_details_the_services_refuse(arc_code, claim_type, claim, code):
    with pytest.raises(RegistryError) as refused:
        claim_rules.check("block.retired", _retired_entry(arc_code, claim_type, **claim))
    assert refused.value.code == code


def test_a_general_claim_naming_a_product_in_a_signed_log_is_a_finding(engine, db_url, tmp_path, monkeypatch):
    """R-R3, R-L7c: a general claim naming a product would read like a verified product claim (R-R2),
    unchecked against the product's composition: written with the check bypassed, verify reports it at
    its entry."""
    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    index = _retire_bypassing(engine, config, monkeypatch, claims, "check_product_named",
                              product={"name": "Tub", "composition": [{"arc_type": "PP", "mass": Decimal(5000)}]})
    monkeypatch.undo()
    report = run_verify(engine, config)
    assert any(f.index == index and "R-R3: a general claim names no product" in str(f)
               for f in report.findings), report.failure()


def test_replay_accepts_a_lesser_claimed_status():
    claim_rules.check("block.retired", _retired_entry("PC_P_PP_ARC", "product", claimed_status="PI",
                                                      label_approval_ref="LA-1"))


@pytest.mark.parametrize("claim, code, field", [
    ({"location": {"country": "DE", "subdivision": "FR-IDF"}}, "subdivision_not_in_country", "claim.location.subdivision"),
    ({"location": "Germany"}, "invalid_location", "claim.location"),
    ({"period": {"from": "2026-03-01", "to": "2026-01-01"}}, "period_reversed", "claim.period"),
])
def test_replay_refuses_a_claim_location_or_period_the_services_refuse(claim, code, field):
    """R-R6: the retirement's claim location and period are re-checked with the services' parsers,
    naming the claim's field."""
    with pytest.raises(RegistryError) as refused:
        claim_rules.check("block.retired", _retired_entry("PC_P_PP_ARC", "product", **claim))
    assert (refused.value.code, refused.value.field.startswith(field)) == (code, True)


def test_replay_accepts_a_claim_location_and_period_the_services_accept():
    claim_rules.check("block.retired", _retired_entry("PC_P_PP_ARC", "product", location={"country": "DE",
                                                                                          "subdivision": "DE-BY"},
                                                      period={"from": "2026-01-01", "to": "2026-03-01"}))


def test_a_lot_citing_an_input_under_an_invalid_supplier_certificate_is_a_finding(engine, db_url, tmp_path, monkeypatch):
    """R-B8 in replay: a signed `lot.registered` entry whose input cites a certificate of the register on a
    day it was not yet valid (received 2000-01-01) is reported at its index; the same entry citing a number
    not in the register is not."""
    from tests.integration.test_replay_rules_double_counting import _append_signed
    from tests.integration.test_verify_replay import _entries

    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    monkeypatch.setattr(demo, "_custody", lambda *args: None)  # its lots sit at Lakes' plant: no custody account
    build_demo(engine, config)
    _checkpoint(engine, config, FrozenClock(START))
    entries = _entries(engine)
    lot = next(e for e in entries if e["type"] == "lot.registered")["payload"]
    top = max(e["payload"]["lot"] for e in entries if e["type"] == "lot.registered")

    def lot_citing(lot_id: int, number: str) -> dict:
        return {**lot, "lot": lot_id, "reference": f"REPLAY-{lot_id}", "inputs": [
            {"supplier_certificate": number, "reference": "INV-9", "material_code": "PC_P5.1.6",
             "mass_kg": "1000.000", "received_on": "2000-01-01"}]}

    bad = _append_signed(engine, config, "lot.registered", lot_citing(top + 1, "RMS-NSF-00311"))
    unknown = _append_signed(engine, config, "lot.registered", lot_citing(top + 2, "RMS-ZZZ-99999"))
    report = run_verify(engine, config)
    assert any(f.index == bad and "R-B8" in str(f) for f in report.findings), report.failure()
    assert not any(f.index == unknown for f in report.findings), report.failure()


# --- registry/replay/name_rules.py: a product's composition (R-R3, R-R5), entry by entry ----------------


@pytest.fixture
def state():
    s = State()
    yield s
    s.close()


def _product_retired(year: int, quantity: str, *composition: tuple[str, str], arc_type: str = "PE",
                     product: str = "Tub") -> dict:
    """A ``block.retired`` payload: ``quantity`` ``arc_type`` certificates claimed for Acme Foods'
    ``product`` in ``year``, composed of (ARC type, kg as the log writes it) items."""
    return {"beneficiary": "Acme Foods", "retired": {"arc_type": arc_type, "quantity": quantity},
            "claim": {"type": "product", "reporting_year": year,
                      "product": {"name": product, "composition": [
                          {"arc_type": type_, "mass": {"value": kg, "unit": "kg"}} for type_, kg in composition]}}}


def test_replay_adds_up_a_composition_that_repeats_a_type(state):
    """R-R3: repeated types add up (`claims.composition_by_type`): 1 t of PE and 1 t of PE hold 2 PE
    certificates; a third is refused at its entry."""
    name_rules.check(state, 7, "block.retired", _product_retired(2026, "2", ("PE", "1000.000"), ("PE", "1000.000")))
    with pytest.raises(VerificationError) as refused:
        name_rules.check(state, 8, "block.retired", _product_retired(2026, "1", ("PE", "1000.000"),
                                                                     ("PE", "1000.000")))
    assert refused.value.index == 8 and "R-R5" in str(refused.value)


def test_replay_keeps_a_product_s_composition_per_reporting_year(state):
    """R-R5: the composition is the product's mass for the year: "Tub" may hold 5 t of PE in 2026 and
    8 t in 2027; restated as 8 t within 2026 it is refused at its entry."""
    name_rules.check(state, 7, "block.retired", _product_retired(2026, "1", ("PE", "5000.000")))
    name_rules.check(state, 8, "block.retired", _product_retired(2027, "1", ("PE", "8000.000")))
    with pytest.raises(VerificationError) as refused:
        name_rules.check(state, 9, "block.retired", _product_retired(2026, "1", ("PE", "8000.000")))
    assert refused.value.index == 9 and "earlier 5000.000 kg" in str(refused.value)


def test_replay_counts_each_product_s_certificates_against_its_own_mass(state):
    """R-R5: the cap is per (beneficiary, product, year, type): "Tub" and "Lid", 1 t of PE each, hold one
    PE certificate each; a second for "Tub" is refused at its entry."""
    name_rules.check(state, 7, "block.retired", _product_retired(2026, "1", ("PE", "1000.000")))
    name_rules.check(state, 8, "block.retired", _product_retired(2026, "1", ("PE", "1000.000"), product="Lid"))
    with pytest.raises(VerificationError) as refused:
        name_rules.check(state, 9, "block.retired", _product_retired(2026, "1", ("PE", "1000.000")))
    assert refused.value.index == 9 and "'Tub'" in str(refused.value) and "R-R5" in str(refused.value)


def test_replay_counts_a_type_first_stated_beside_another_from_zero(state):
    """R-R5: "Tub" of 5 t PE and 3 t PP: after a PE retirement, 3 PP certificates fit the PP stated with
    it; a fourth is refused at its entry."""
    tub = (("PE", "5000.000"), ("PP", "3000.000"))
    name_rules.check(state, 7, "block.retired", _product_retired(2026, "1", *tub))
    name_rules.check(state, 8, "block.retired", _product_retired(2026, "3", *tub, arc_type="PP"))
    with pytest.raises(VerificationError) as refused:
        name_rules.check(state, 9, "block.retired", _product_retired(2026, "1", *tub, arc_type="PP"))
    assert refused.value.index == 9 and "4.000 PP certificates" in str(refused.value)


@pytest.mark.parametrize("quantity, kg, says", [("1", 5000, "mass must be"), (1, "5000.000", "quantity must be")])
def test_replay_refuses_a_product_claim_s_quantities_that_are_not_decimal_strings(state, quantity, kg, says):
    """R-U3: the composition's masses and the retired quantity are decimal strings, never numbers:
    refused at the entry (the quantity, read first by the block's own replay, is checked here too)."""
    with pytest.raises(VerificationError) as refused:
        name_rules.check(state, 7, "block.retired", _product_retired(2026, quantity, ("PE", kg)))
    assert refused.value.index == 7 and f"{says} a decimal string" in str(refused.value)


def test_replay_checks_the_names_the_services_check(state):
    """R-R5 covers the names that claims and certificates carry (participants, lot references,
    beneficiaries, products). A facility's name is taken as written by the services (R-G5 matches it with
    its certificate's sites exactly, so a look-alike matches nothing): replay does likewise."""
    look_alike = "Pl\u0430nt 1"  # a Cyrillic "а" among Latin letters
    name_rules.check(state, 7, "facility.registered", {"name": look_alike})
    with pytest.raises(VerificationError) as refused:
        name_rules.check(state, 8, "participant.registered", {"name": look_alike})
    assert refused.value.index == 8 and "R-R5" in str(refused.value)

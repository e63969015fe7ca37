"""Corrections (SPEC §11, R-E5, RMS 8.6.2): the administrator cancels a block
still held by its generator; the lot's ARC-eligible mass and the
determination's volume come back; every refusal writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import chainlog.store
from registry.db import session_factory
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem

REASON = {"reason": "lot mass registered in lb as kg (RMS 8.6.2)"}


def _lot(driver, gen, mass=t(10), **overrides) -> dict:
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=mass, **overrides)
    driver.sell(gen.token, lot["id"], mass)
    return lot


def _cancel(driver, serial, token=None, body=REASON, status=200):
    return driver.ok(f"/blocks/{serial}/cancel", body, token or driver.admin, status=status)


def _refused(driver, engine, serial, status, code, token=None, body=REASON) -> None:
    before = snapshot(engine)
    response = driver.post(f"/blocks/{serial}/cancel", body, token if token is not None else driver.admin)
    assert_problem(response, status, code)
    assert snapshot(engine) == before  # R-X2: nothing written


def _balances(driver, gen, lot_id) -> tuple[str, str, bool, str]:
    lot = driver.get(f"/lots/{lot_id}", gen.token).get_json()
    determination = driver.get(f"/determinations/{gen.determination_id}", gen.token).get_json()
    return lot["eligible_kg"], lot["used_kg"], lot["disclaimer_required"], determination["used_kg"]


def test_cancel_restores_the_lot_and_the_determination(driver, engine):
    gen = driver.generator()
    lot = _lot(driver, gen)
    assert _balances(driver, gen, lot["id"]) == ("10000.000", "0.000", False, "0.000")
    block = driver.generate(gen.token, lot["id"], mass=t(4))
    assert _balances(driver, gen, lot["id"]) == ("6000.000", "4000.000", False, "4000.000")

    cancelled = _cancel(driver, block["serial"])
    assert cancelled["serial"] == block["serial"] and cancelled["state"] == "cancelled"
    assert driver.get(f"/blocks/{block['serial']}").get_json()["state"] == "cancelled"
    assert _balances(driver, gen, lot["id"]) == ("10000.000", "0.000", False, "0.000")

    with session_factory(engine)() as session:
        entry = chainlog.store.entry(session, chainlog.store.size(session) - 1)
    assert entry.type == "block.cancelled" and entry.actor.startswith("user:")
    assert entry.payload["serial"] == block["serial"] and entry.payload["state"] == "cancelled"
    assert entry.payload["reason"] == REASON["reason"]
    assert entry.payload["prev"] == block["log"]  # R-L2b: the block's generation entry
    assert entry.payload["lot_used_kg"] == "0.000" and entry.payload["determination_used_kg"] == "0.000"
    assert cancelled["log"] == {"index": entry.index, "leaf_hash": entry.leaf_hash.hex()}

    # The restored mass generates again: all of it, which needs the disclaimer (R-B5) ...
    again = driver.generate(gen.token, lot["id"])
    assert again["quantity"] == "10.000"
    assert _balances(driver, gen, lot["id"]) == ("0.000", "10000.000", True, "10000.000")
    # ... which a cancellation lifts, since the lot is no longer fully used.
    _cancel(driver, again["serial"])
    assert _balances(driver, gen, lot["id"]) == ("10000.000", "0.000", False, "0.000")


def test_cancel_the_generators_remainder_after_a_transfer(driver):
    gen = driver.generator()
    lot = _lot(driver, gen)
    block = driver.generate(gen.token, lot["id"], mass=t(5))
    brand = driver.participant("Brand Co")
    result = driver.ok("/transfers", {"serial": block["serial"], "quantity": "2.000",
                                      "to_participant_id": brand["id"]}, gen.token)
    remainder = result["remainder"]
    _cancel(driver, remainder["serial"])
    # Only the remainder's base mass (3 t) comes back; the buyer's 2 t stay used.
    assert _balances(driver, gen, lot["id"]) == ("8000.000", "2000.000", False, "2000.000")
    assert driver.get(f"/blocks/{result['moved']['serial']}").get_json()["state"] == "active"


def test_cancel_restores_the_post_consumer_component(driver):
    gen = driver.generator()
    lot = _lot(driver, gen, mass=t(10), pc_mass=t(6), pi_mass=t(4))
    block = driver.generate(gen.token, lot["id"], mass=t(2), component="PC")
    assert block["recycled_status"] == "PC"
    before = driver.get(f"/lots/{lot['id']}", gen.token).get_json()["components"]
    assert before["PC"]["used_kg"] == "2000.000" and before["PI"]["used_kg"] == "0.000"
    _cancel(driver, block["serial"])
    after = driver.get(f"/lots/{lot['id']}", gen.token).get_json()["components"]
    assert after["PC"]["used_kg"] == "0.000" and after["PC"]["eligible_kg"] == "6000.000"
    assert after["PI"]["eligible_kg"] == "4000.000"


def test_refusals_write_nothing(driver, engine, clock):
    gen = driver.generator()
    lot = _lot(driver, gen, mass=t(20))
    block = driver.generate(gen.token, lot["id"], mass=t(4))
    serial = block["serial"]

    # R-P4: administrators only; a member, even the generator's, and a certifier are refused.
    _refused(driver, engine, serial, 403, "forbidden_role", token=gen.token)
    _refused(driver, engine, serial, 403, "forbidden_role", token=gen.certifier)
    _refused(driver, engine, serial, 401, "missing_token", token="")
    _refused(driver, engine, serial, 400, "invalid_input", body={"reason": "   "})
    _refused(driver, engine, serial, 400, "invalid_input", body={})
    _refused(driver, engine, "PC_P_PP_ARC-2026-999-000000000001-000000000001", 404, "block_not_found")

    # Held by someone else: sold ARCs are the buyer's (RMS 8.6.2).
    brand = driver.participant("Brand Co")
    sold = driver.generate(gen.token, lot["id"], mass=t(3))
    driver.ok("/transfers", {"serial": sold["serial"], "quantity": sold["quantity"],
                             "to_participant_id": brand["id"]}, gen.token)
    _refused(driver, engine, sold["serial"], 422, "not_held_by_generator")

    # A split parent is history, not a holding (R-T1) ...
    split = driver.generate(gen.token, lot["id"], mass=t(3))
    driver.ok("/transfers", {"serial": split["serial"], "quantity": "1.000",
                             "to_participant_id": brand["id"]}, gen.token)
    _refused(driver, engine, split["serial"], 422, "block_not_active")
    # ... a retired block is final (RMS 8.8.3) ...
    retired = driver.generate(gen.token, lot["id"], mass=t(2))
    driver.ok("/retirements", {"serial": retired["serial"], "quantity": retired["quantity"],
                               "beneficiary": "Acme", "claim_type": "general", "reporting_year": 2026},
              gen.token)
    _refused(driver, engine, retired["serial"], 422, "block_not_active")
    # ... and so is a cancelled one.
    _cancel(driver, serial)
    _refused(driver, engine, serial, 422, "block_not_active")

    # Past its use period a block is expired in all but name, job or no job (R-E2).
    late = driver.generate(gen.token, lot["id"], mass=t(1))
    clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    _refused(driver, engine, late["serial"], 422, "outside_use_period")

"""R-L7c on served proofs of a PC/PI split lot: every generation the registry
made passes `registry.proof_rules`, exactly where the proof determines the
component's used mass, within rounding where it cannot."""

from __future__ import annotations

from decimal import Decimal

from chainlog.keys import parse_vkey
from chainlog.provenance import verify_provenance
from registry.proof_rules import check_proof
from tests.api.driver import t


def kg(value: str) -> dict:
    return {"value": value, "unit": "kg"}


def test_every_generation_of_a_split_lot_passes_the_proof_rules(driver):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.9", t(20), pc_mass=t(12), pi_mass=t(8),
                     non_plastic_fraction="0.05")  # R-K5: the cap makes the quantities fractional
    driver.sell(gen.token, lot["id"], t(20))
    plan = [("PI", "3333.700"), ("PC", "5555.500"), ("PI", "4666.300"), ("PC", "6444.500")]
    blocks = [driver.generate(gen.token, lot["id"], mass=kg(mass), component=part) for part, mass in plan]
    verifier = parse_vkey(driver.get("/log/key").get_json()["vkey"])
    exact = []
    for block in blocks:
        proof = driver.get(f"/blocks/{block['serial']}/provenance").get_json()
        derived = check_proof(verify_provenance(proof, [verifier]).lineage)
        assert derived.quantity == Decimal(block["quantity"]) and derived.low <= derived.quantity <= derived.high
        exact.append(derived.exact)
    # First: nothing used before. Last: 13 555.5 kg used and the PI part is 8 000 kg, so 5 555.5 kg
    # of it was PC -- determined. In between the proof bounds the component's used mass only.
    assert exact == [True, False, False, True]

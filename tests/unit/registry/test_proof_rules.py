"""R-L7c on a provenance proof (registry/proof_rules.py): the generated block's
type, code and quantity re-derived from the lot entry with the functions
generation uses. Every generation the registry's own arithmetic makes passes;
a signed generation that claims more than its lot gives is refused, naming the rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainlog.provenance import verify_provenance
from registry import classification, quantities
from registry.errors import RuleViolation
from registry.proof_rules import ProofRuleError, check_generation, check_proof, check_receipts
from tests.unit.chainlog.test_provenance_verify import SIGNER, _block, build

D = Decimal
PP = classification.parse_material_code("PC_P3.1.9")


def lot(**changes) -> dict:
    payload = {"lot": 1, "generator": 7, "reference": "LOT-1", "material_code": "PC_P3.1.9",
               "recycled_status": "PC", "mass_kg": "100000.000", "pc_kg": None, "non_plastic_fraction": "0",
               "lhv_mj_per_kg": None}
    return {"index": 1, "type": "lot.registered", "payload": {**payload, **changes}}


def generated(**changes) -> dict:
    payload = {**_block(1, 10000, 7), "base_kg": "10000.000", "lot_used_kg": "10000.000"}
    return {"index": 3, "type": "block.generated", "payload": {**payload, **changes}}


def refused(lot_entry, gen_entry, rule: str, index: int = 3) -> ProofRuleError:
    with pytest.raises(ProofRuleError) as caught:
        check_generation(lot_entry, gen_entry)
    assert (caught.value.rule, caught.value.index) == (rule, index), str(caught.value)
    return caught.value


def test_an_honest_generation_is_re_derived_exactly():
    derived = check_generation(lot(), generated())
    assert (derived.arc_code, derived.quantity, derived.exact) == ("PC_P_PP_ARC", D("10.000"), True)
    # A later generation from the same lot: used before = lot_used_kg - base_kg.
    assert check_generation(lot(), generated(lot_used_kg="60000.000")).exact


def test_the_synthetic_proof_passes_through_the_verifier():
    report = verify_provenance(build(), [SIGNER.verifier])
    assert check_proof(report.lineage).quantity == D("100.000")


def test_more_certificates_than_the_lot_gives():
    """10 t of PP make 10.000 ARCs; a generation saying 20.000 is refused (R-K4)."""
    error = refused(lot(), generated(**{**_block(1, 20000, 7), "base_kg": "10000.000"}), "R-K4")
    assert "20.000" in str(error) and "gives 10.000" in str(error)


@pytest.mark.parametrize("changes, quantity", [
    ({"non_plastic_fraction": "0.05"}, "9.694"),  # R-K5 cap: 10 t at 5% ash claims 9.694 t (Example P6.2)
    ({"material_code": "PC_P2.2.3", "lhv_mj_per_kg": "40.000"}, "8.969"),  # R-K4 PEQ by LHV (Example P6.1)
])
def test_the_contamination_cap_and_peq_are_applied(changes, quantity):
    arc = "PC_P_PEQ_ARC" if "lhv_mj_per_kg" in changes else "PC_P_PP_ARC"
    type_ = "PEQ" if "lhv_mj_per_kg" in changes else "PP"
    refused(lot(**changes), generated(arc_code=arc, arc_type=type_), "R-K4")  # 10.000 is too many
    first, last = 1, int(D(quantity) * 1000)
    serial = f"{arc}-2026-7-{first:012d}-{last:012d}"
    honest = generated(arc_code=arc, arc_type=type_, serial=serial, quantity=quantity, first=first, last=last)
    assert check_generation(lot(**changes), honest).quantity == D(quantity)


@pytest.mark.parametrize("lot_changes, gen_changes, rule", [
    ({"material_code": "PC_P3.1.5"}, {}, "R-K2"),  # the lot is PE, the block says PP
    ({}, {"arc_type": "PE"}, "R-K2"),
    ({"material_code": "PC_P1.1.1"}, {}, "R-K2"),  # P1 cannot generate ARCs
    ({}, {"recycled_status": "PI", "arc_code": "PI_P_PP_ARC"}, "R-B2"),  # an unsplit PC lot has no PI
    ({"mass_kg": "5000.000"}, {"lot_used_kg": "5000.000"}, "R-B4"),  # more base mass than the lot
    ({}, {"lot_used_kg": "100001.000"}, "R-B4"),  # used beyond the lot's mass
    ({}, {"lot_used_kg": "9999.000"}, "R-B4"),  # used less than this generation alone
    ({"pc_kg": "6000.000", "mass_kg": "100000.000"}, {}, "R-B4"),  # 10 t of PC from a 6 t PC part
])
def test_what_the_lot_cannot_give_is_refused_naming_the_rule(lot_changes, gen_changes, rule):
    refused(lot(**lot_changes), generated(**gen_changes), rule)


def test_a_split_lot_is_checked_exactly_where_the_proof_determines_the_component():
    """20 t split 12 PC / 8 PI at 5% non-plastic: 13 555.5 kg used before a PC generation of the
    last 6 444.5 kg means 5 555.5 kg of PC were used (the PI part holds 8 000): one quantity only."""
    split = lot(material_code="PI_P3.1.9", recycled_status="PI", mass_kg="20000.000", pc_kg="12000.000",
                non_plastic_fraction="0.05")
    facts = {"mass_kg": D("6444.500"), "non_plastic_fraction": D("0.05")}
    quantity = quantities.generation_quantity(PP, used_before_kg=D("5555.500"), **facts)
    low, high = quantities.generation_quantity_range(PP, **facts)
    other = high if quantity == low else low
    assert other != quantity  # a quantity generation could give for another history

    def gen(q):
        last = int(q * 1000)
        return generated(serial=f"PC_P_PP_ARC-2026-7-000000000001-{last:012d}", quantity=str(q), last=last,
                         base_kg="6444.500", lot_used_kg="20000.000")

    assert check_generation(split, gen(quantity)).exact
    refused(split, gen(other), "R-K4")


def test_a_lot_entry_that_is_not_a_lot_is_refused_at_the_lot():
    refused(lot(material_code="PC_P9.9"), generated(), "R-K1", index=1)
    refused(lot(mass_kg=100000), generated(), "R-U3", index=1)  # a number, not a decimal string
    refused(lot(pc_kg="100001.000"), generated(), "R-B2", index=1)
    refused(lot(material_code="PC_P2.2.3"), generated(arc_code="PC_P_PEQ_ARC", arc_type="PEQ"), "R-K4")  # no LHV


JUNK = [None, True, "x", -1, 0, [], {}, "NaN", "1e999999", "-0", 10**15, "0.0000001"]
LOT_MEMBERS = ["material_code", "recycled_status", "mass_kg", "pc_kg", "non_plastic_fraction", "lhv_mj_per_kg"]
GEN_MEMBERS = ["recycled_status", "arc_code", "arc_type", "base_kg", "lot_used_kg", "quantity"]


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_junk_in_any_member_read_is_refused_or_changes_nothing(junk):
    valid = check_generation(lot(), generated())
    cases = [(lot(**{m: junk}), generated()) for m in LOT_MEMBERS]
    cases += [(lot(), generated(**{m: junk})) for m in GEN_MEMBERS]
    for lot_entry, gen_entry in cases:
        try:
            derived = check_generation(lot_entry, gen_entry)
        except ProofRuleError:
            continue
        assert derived == valid, (lot_entry, gen_entry)


# --- every generation the registry's arithmetic makes passes; anything 0.002 more does not -----

kgs = st.decimals(min_value=D("0.001"), max_value=D("2000000"), places=3)
fractions = st.decimals(min_value=D(0), max_value=D("0.3"), places=3)
steps = st.lists(st.tuples(st.sampled_from(["PC", "PI"]), st.decimals(min_value=D("0.01"), max_value=D(1),
                                                                       places=2)), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(mass=kgs, pc_share=st.decimals(min_value=D(0), max_value=D(1), places=2), fraction=fractions,
       split=st.booleans(), peq=st.booleans(), plan=steps)
def test_every_generation_of_a_lot_passes_and_more_is_refused(mass, pc_share, fraction, split, peq, plan):
    material = classification.parse_material_code("PC_P2.2.3" if peq else "PC_P3.1.9")
    lhv = D("42.500") if peq else None
    pc = (mass * pc_share).quantize(D("0.001")) if split else None
    lot_entry = lot(material_code=material.id, mass_kg=str(mass), pc_kg=None if pc is None else str(pc),
                    non_plastic_fraction=str(fraction), lhv_mj_per_kg=None if lhv is None else str(lhv))
    parts = {"PC": pc, "PI": mass - pc} if split else {"PC": mass}
    used = {"PC": D(0), "PI": D(0)}
    for status, share in plan:
        if status not in parts:
            continue
        base = ((parts[status] - used[status]) * share).quantize(D("0.001"))
        if base <= 0:
            continue
        try:
            quantity = quantities.generation_quantity(
                material, used_before_kg=used[status], mass_kg=base, non_plastic_fraction=fraction,
                lhv_mj_per_kg=lhv)
        except RuleViolation:  # below 0.001 certificate: the registry refuses it too
            continue
        used[status] += base
        code = classification.arc_code(classification.RecycledStatus(status), classification.arc_type(material))
        gen = generated(recycled_status=status, arc_code=code, arc_type=classification.arc_type(material),
                        base_kg=str(base), quantity=str(quantity), lot_used_kg=str(sum(used.values())))
        derived = check_generation(lot_entry, gen)
        assert derived.low <= quantity <= derived.high and derived.high - derived.low <= D("0.001")
        assert derived.exact or split  # an unsplit lot is always checked exactly
        with pytest.raises(ProofRuleError) as caught:
            check_generation(lot_entry, generated(**{**gen["payload"], "quantity": str(quantity + D("0.002"))}))
        assert caught.value.rule == "R-K4"


@settings(max_examples=300, deadline=None)
@given(used=st.decimals(min_value=D(0), max_value=D("5000000"), places=3), mass=kgs, fraction=fractions,
       peq=st.booleans())
def test_the_range_holds_every_quantity_generation_can_give(used, mass, fraction, peq):
    material = classification.parse_material_code("PC_P2.2.3" if peq else "PC_P3.1.9")
    facts = {"mass_kg": mass, "non_plastic_fraction": fraction, "lhv_mj_per_kg": D("37.123") if peq else None}
    low, high = quantities.generation_quantity_range(material, **facts)
    assert D(0) <= high - low <= D("0.001")
    try:
        quantity = quantities.generation_quantity(material, used_before_kg=used, **facts)
    except RuleViolation:
        return
    assert low <= quantity <= high
    if low == high:  # a whole number of thousandths: the same whatever was used before
        assert quantity == quantities.generation_quantity(material, used_before_kg=D(0), **facts)


def _receipt_pair(**change):
    receipt = {"index": 3, "type": "custody.input_received", "payload": {
        "account": 1, "receipt": 7, "on": "2026-05-02", "supplier_name": "Midwest Sorting",
        "supplier_certificate": "RMS-NSF-00418", "reference": "MWS-1", "material_code": "PC_P3.1.9",
        "mass_kg": "120000.000", "claim": "RMS 100% PC MB"}}
    citation = {"receipt": 7, "supplier_certificate": "RMS-NSF-00418", "supplier_name": "Midwest Sorting",
                "reference": "MWS-1", "material_code": "PC_P3.1.9", "mass_kg": "100000.000",
                "received_on": "2026-05-02", "claim": "RMS 100% PC MB", "log": {"index": 3, "leaf_hash": "ab" * 32}}
    lot = {"index": 9, "type": "lot.registered", "payload": {
        "reference": "GL-1", "custody_account": 1, "processed_on": "2026-05-20", "inputs": [{**citation, **change}]}}
    return lot, receipt


def test_cited_receipts_are_restated_unchanged_and_not_exceeded():
    lot, receipt = _receipt_pair()
    assert check_receipts(lot, [receipt]) == [receipt]
    for change, rule in (({"reference": "MWS-2"}, "R-B6"), ({"mass_kg": "120000.001"}, "R-M6"),
                         ({"supplier_certificate": "RMS-NSF-00419"}, "R-B6"), ({"claim": None}, "R-B6")):
        lot, receipt = _receipt_pair(**change)
        with pytest.raises(ProofRuleError) as refused:
            check_receipts(lot, [receipt])
        assert refused.value.rule == rule, change
    lot, receipt = _receipt_pair()
    lot["payload"]["custody_account"] = 2  # a receipt of another account
    with pytest.raises(ProofRuleError, match="custody account 1, the lot's is 2"):
        check_receipts(lot, [receipt])
    lot, receipt = _receipt_pair()
    lot["payload"]["processed_on"] = "2026-05-01"  # processed before it was received
    with pytest.raises(ProofRuleError, match="after processing"):
        check_receipts(lot, [receipt])
    lot, receipt = _receipt_pair()
    with pytest.raises(ProofRuleError, match="does not cite a custody receipt"):
        check_receipts(lot, [{**receipt, "type": "lot.registered"}])

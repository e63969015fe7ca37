"""R-L7b, R-L7c: each block check of the offline replay catches what it
claims (registry/replay/block_events.py, unit_checks.py), on SQLite and PostgreSQL.

As in `test_replay_rules`: a real registry built through the HTTP API, then
one crafted entry, a copy of an entry the services wrote changed only where
the rule is broken, refused as ``replay_inconsistent`` at its index. A
control (the same entry without the fault) shows the fault is what is
refused: it replays, and the run then fails only on the tables, which do not
hold the crafted entry (``state_drift``, no index).

A few checks are backed by a later one that refuses the same entry at the
same index (a generic "payload cannot be applied", R-A8 after a
non-current determination, R-A2 after a not-additional one, the remainder's
own record after a whole move, the serial check after a reused serial):
those tests also assert a fragment of the message, the one thing that tells
which check refused the entry.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

import pytest

from registry.blocks import format_serial
from tests.api.driver import DIGEST, t
from tests.integration.test_replay_rules import (Log, _buyer, _cancellation, _ended, _generation_beside, _lot,
                                                 log)

__all__ = ["log"]  # the fixture, used by name

_BLOCK_KEYS = ("serial", "arc_code", "arc_type", "recycled_status", "quantity", "owner", "generator", "lot",
               "lot_reference", "generation_year", "first", "last", "base_kg", "state")


def _refused(log: Log, index: int, says: str | None = None) -> None:
    """Refused by the replay at exactly ``index``; ``says``: by the check whose message has it."""
    report = log.verify()
    assert not report.ok, f"entry {index} was accepted by the replay"
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", index), report.failure()
    if says is not None:
        assert says in str(report.error), report.failure()


def _replays(log: Log) -> None:
    """The control: the entry replays; only the tables (which never saw it) differ."""
    report = log.verify()
    assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()


def _generated(driver, log, gen, mass=t(10), sold=t(10), made=t(3)):
    """A sold lot and a real generation from it (units 1..3000 by default)."""
    lot = _lot(driver, gen, mass, sold)
    block = driver.generate(gen.token, lot["id"], mass=made)
    log.assert_verifies()
    return lot, block, log.last("block.generated", serial=block["serial"])


def _reserial(p: dict) -> dict:
    p["serial"] = format_serial(p["arc_code"], p["generation_year"], p["generator"], p["first"], p["last"])
    return p


def _lot_link(log: Log, lot_id: int) -> dict:
    registered = log.last("lot.registered", lot=lot_id)
    return {"index": registered.index, "leaf_hash": registered.leaf_hash.hex()}


def _block(log: Log, serial: str) -> tuple[dict, dict]:
    """A block's fields as its last lineage entry recorded them, and the link to that entry."""
    last = log.last_of(serial)
    return {k: last[k] for k in _BLOCK_KEYS}, {"index": last["_index"], "leaf_hash": last["_leaf"]}


def _whole_transfer(log: Log, serial: str, holder: int, to: int) -> dict:
    """The payload `block.transferred` has for the whole of a block (no remainder)."""
    block, prev = _block(log, serial)
    return {"from": holder, "to": to, "parent": serial, "quantity": block["quantity"], "prev": prev,
            "moved": {**block, "owner": to}, "remainder": None}


def _split_transfer(log: Log, serial: str, holder: int, to: int, units: int) -> dict:
    """The payload `block.transferred` has for the lower ``units`` of a block of base mass = its units in kg."""
    block, prev = _block(log, serial)
    first, last = block["first"], block["last"]
    base = Decimal(block["base_kg"])
    lower = (base * units / (last - first + 1)).quantize(Decimal("0.001"), rounding=ROUND_DOWN)
    moved = _reserial({**block, "first": first, "last": first + units - 1, "owner": to,
                       "quantity": format(Decimal(units).scaleb(-3), ".3f"), "base_kg": format(lower, "f")})
    rest = _reserial({**block, "first": first + units, "quantity": format(Decimal(last - first + 1 - units)
                                                                          .scaleb(-3), ".3f"),
                      "base_kg": format(base - lower, "f")})
    return {"from": holder, "to": to, "parent": serial, "quantity": moved["quantity"], "prev": prev,
            "moved": moved, "remainder": rest}


def _actor(log: Log, kind: str = "block.generated") -> str:
    return log.last(kind).actor


# --- block.generated (block_events.generated) ----------------------------------------------


def test_r_g2_a_block_generated_under_a_serial_already_issued_is_refused(driver, log):
    """R-G2: a serial is issued once. The entry's range (3001..5000) is new, its serial the first block's.
    (Were the check gone, the serial check would refuse the entry at the same index, as a serial not
    naming its units; one that did would overlap the first block: the message tells them apart.)"""
    gen = driver.generator()
    _, block, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    bad = log.append("block.generated", {**p, "serial": block["serial"]}, real.actor)
    _refused(log, bad, says="generated twice")


@pytest.mark.parametrize("serial", ["units 7001..9000", "another generator", "another year", "another ARC code",
                                    None])
def test_r_g2_a_block_generated_under_a_serial_not_naming_its_units_is_refused(driver, log, serial):
    """R-G2: the serial is ``{ARC ID code}-{year}-{generator id}-{first}-{last}``: a block of units
    3001..5000 may not be issued as 7001..9000 (nor under another generator, year or ARC code): the
    public would hold serials whose units the registry never counted (control: its own serial)."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    named = {"units 7001..9000": ("PC_P_PP_ARC", 2026, gen.id, 7001, 9000),
             "another generator": ("PC_P_PP_ARC", 2026, gen.id + 1, 3001, 5000),
             "another year": ("PC_P_PP_ARC", 2027, gen.id, 3001, 5000),
             "another ARC code": ("PI_P_PP_ARC", 2026, gen.id, 3001, 5000)}.get(serial)
    if named:
        p["serial"] = format_serial(*named)
    bad = log.append("block.generated", p, real.actor)
    if named:
        _refused(log, bad)
    else:
        _replays(log)


@pytest.mark.parametrize("child", ["moved", "remainder"])
def test_r_g2_a_split_part_under_a_serial_not_naming_its_units_is_refused(driver, log, child):
    """R-G2: a split's parts are numbered by their units too (the control is in
    test_r_g2_a_split_names_new_serials_for_its_parts)."""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _split_transfer(log, block["serial"], buyer, gen.id, 1000)
    p[child]["serial"] = format_serial("PC_P_PP_ARC", 2026, gen.id, 5001, 6000 if child == "moved" else 7000)
    bad = log.append("block.transferred", p, _actor(log, "block.transferred"))
    _refused(log, bad)


@pytest.mark.parametrize("fault", ["owner", "state", "foreign lot"])
def test_r_g1_a_block_generated_for_another_owner_or_from_another_generators_lot_is_refused(driver, log, fault):
    """R-G1: a block is generated active, for its generator, from one of the generator's own lots."""
    gen = driver.generator()
    other = driver.generator("Other Recycling")
    foreign = _lot(driver, other, t(10), t(10))
    buyer, _ = _buyer(driver)
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    if fault == "owner":
        p["owner"] = buyer
    elif fault == "state":
        p["state"] = "retired"
    else:  # the other generator's lot, cited with its determination: every other check holds
        p.update(lot=foreign["id"], lot_reference=foreign["reference"], prev=_lot_link(log, foreign["id"]),
                 determination=other.determination_id, lot_used_kg="2000.000")
    bad = log.append("block.generated", p, real.actor)
    _refused(log, bad)


def test_r_g1_a_suspended_generator_generates_nothing(driver, log):
    """R-G1: the generator must be active."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    bad = log.append("block.generated", _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000)),
                     real.actor)
    _refused(log, bad)


def test_r_e4_a_generator_removed_as_a_generator_generates_nothing(driver, log):
    """R-E4: removal ends the generator registration (the account stays active)."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    log.append("participant.generator_removed", {"participant": gen.id, "status": "active",
                                                 "generator_removed_on": "2026-03-01",
                                                 "inactive_since": "2026-01-01"}, "system")
    bad = log.append("block.generated", _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000)),
                     real.actor)
    _refused(log, bad)


def test_r_a7_a_generation_under_a_superseded_determination_is_refused(driver, log):
    """R-A7, R-A8: only the current determination counts. (Were the status check gone, R-A8
    would refuse the entry at the same index: the message tells them apart.)"""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    driver.determination(gen.certifier, gen.facility_id, mandate_share="0.5")  # supersedes gen.determination_id
    log.assert_verifies()
    bad = log.append("block.generated", _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000)),
                     real.actor)
    _refused(log, bad, says="is not current")


def test_r_a8_a_generation_under_another_facilitys_determination_is_refused(driver, log):
    """R-A8: the determination must cover the lot's facility (current, additional, ample: only coverage fails)."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, name="Plant 2")
    elsewhere = driver.determination(gen.certifier, plant["id"])
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    bad = log.append("block.generated", {**p, "determination": elsewhere["id"]}, real.actor)
    _refused(log, bad)


def test_r_a3_a_generation_under_a_not_additional_determination_is_refused(driver, log):
    """R-A3: the covering determination must find the facility additional. (A real not-additional
    determination has no eligible volume, so R-A2 refuses the entry at the same index too: the message
    tells them apart.)"""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    failed = [{"test": "financial", "passed": False, "rationale": "profitable without ARCs",
               "evidence": [DIGEST]}]
    current = driver.determination(gen.certifier, gen.facility_id, class_b=failed)
    assert current["outcome"] == "not-additional"
    log.assert_verifies()
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    bad = log.append("block.generated", {**p, "determination": current["id"]}, real.actor)
    _refused(log, bad, says="is not additional")


@pytest.mark.parametrize("processed_on", ["2026-01-14", "2026-01-15"])
def test_r_a8_a_block_from_a_lot_processed_before_its_operation_existed_is_refused(driver, log, processed_on):
    """R-A8 (P7.2.3): under a new-operation determination from 15 January, a lot processed on
    14 January is not the operation's output. Replay reads the basis date from the logged
    determination: a copy of a real generation citing such a lot is refused at its entry; the same
    copy citing a lot of 15 January replays (control)."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="New plant")
    driver.determination(gen.certifier, plant["id"], newness={"basis": "new_operation", "operation_start": "2026-01-15"})
    first = _lot(driver, gen, t(10), t(10), facility_id=plant["id"], processed_on="2026-01-15")
    block = driver.generate(gen.token, first["id"], mass=t(3))
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    other = _lot(driver, gen, t(10), t(10), facility_id=plant["id"], processed_on=processed_on,
                 reference=f"LOT-{processed_on}")
    p = _generation_beside(real, 3001, 2000, Decimal(2000), Decimal(10000))
    p.update(lot=other["id"], lot_reference=other["reference"], prev=_lot_link(log, other["id"]))
    index = log.append("block.generated", p, real.actor)
    if processed_on == "2026-01-14":
        _refused(log, index, says="before the additional operation")
    else:
        _replays(log)


def _phase_out(driver, clock):
    """A phase-out (PC only, R-A5) determination for a plant, and a split 10 t lot there (6 t PC, 4 t PI), sold."""
    clock.set(datetime(2025, 6, 2, tzinfo=UTC))
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, capacity=t(1000), name="Old plant")
    determination = driver.determination(gen.certifier, plant["id"], certification_year=2025,
                                         newness={"basis": "phase_out"})
    assert determination["pc_only"] is True
    lot = driver.lot(gen.token, plant["id"], gen.certificate, "PI_P3.1.5", t(10), pc_mass=t(6), pi_mass=t(4),
                     processed_on="2025-05-01")
    driver.sell(gen.token, lot["id"], t(10), on="2025-05-15")
    return gen, lot


@pytest.mark.parametrize("status", ["PI", "PC"])
def test_r_a5_the_phase_out_exemption_generates_post_consumer_only(driver, log, clock, status):
    """R-A5: under a phase-out determination a split lot's PI component generates nothing; the
    control (PC) is the same entry for the PC component, which replays."""
    gen, lot = _phase_out(driver, clock)
    block = driver.generate(gen.token, lot["id"], mass=t(2), component="PC")
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    p = _generation_beside(real, 2001, 2000, Decimal(4000), Decimal(10000))
    p = _reserial({**p, "recycled_status": status, "arc_code": f"{status}_P_PE_ARC"})
    bad = log.append("block.generated", p, real.actor)
    if status == "PI":
        _refused(log, bad)
    else:
        _replays(log)


@pytest.mark.parametrize("requested", ["2000 kg", "the rest"])
def test_r_b2_a_block_of_a_status_the_lot_does_not_have_is_refused(driver, log, requested):
    """R-B2: a whole post-consumer lot has no PI component to generate from, whatever the request
    (R-U6 has no ledger for a component the lot does not have: the derivation check names R-B2)."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    if requested == "the rest":
        p["requested"] = None
    bad = log.append("block.generated", _reserial({**p, "recycled_status": "PI", "arc_code": "PI_P_PP_ARC"}),
                     real.actor)
    _refused(log, bad, says="R-B2")


def test_r_k2_a_block_from_material_that_cannot_generate_is_refused(driver, log):
    """R-K2: film (P4) is not base material; the lot registers, a block from it is refused."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    film = driver.lot(gen.token, gen.facility_id, gen.certificate, material_code="PC_P4.1.2", mass=t(10))
    driver.sell(gen.token, film["id"], t(10))
    log.assert_verifies()
    p = _generation_beside(real, 3001, 2000, Decimal(2000), Decimal(10000))
    p.update(lot=film["id"], lot_reference=film["reference"], prev=_lot_link(log, film["id"]))
    bad = log.append("block.generated", p, real.actor)
    _refused(log, bad, says="R-K2")


@pytest.mark.parametrize("base_kg", ["0.000", "2000.000"])
def test_r_k4_a_block_from_no_base_mass_is_refused(driver, log, base_kg):
    """R-K4: a block's quantity follows from its base mass; 2 certificates from 0 kg cannot. (An entry
    from before requests were logged, so that only the derivation looks at the mass; the control, from
    2 000 kg, replays: R-U6 passes over entries without a request.)"""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    used = Decimal(3000) + Decimal(base_kg)
    p = _generation_beside(real, 3001, 2000, used, Decimal(10000))
    del p["requested"]
    bad = log.append("block.generated", {**p, "base_kg": base_kg}, real.actor)
    if base_kg == "0.000":
        _refused(log, bad, says="R-K4")
    else:
        _replays(log)


def test_r_k5_a_block_from_a_contaminated_lot_claims_only_its_capped_mass(driver, log):
    """R-K5 (P6.2.2): 5% ash caps the claim at 96.94% of the mass, so 1 000 kg make 0.969
    certificate. Replay derives the same quantity from the lot's logged non-plastic fraction (the
    real generation verifies); a copy claiming the whole 1.000 is refused at its entry."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), t(10), non_plastic_fraction="0.05")
    block = driver.generate(gen.token, lot["id"], mass=t(1))
    assert block["quantity"] == "0.969"
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    bad = log.append("block.generated", _generation_beside(real, 970, 1000, Decimal(2000), Decimal(10000)),
                     real.actor)
    _refused(log, bad, says="R-K2/R-K4")


_ELSEWHERE = 10**6  # the legacy plant's determination and sale: ids no table holds


def _generated_at_a_legacy_site(driver, log, certificate) -> int:
    """A real generation, then (written to the log) a plant logged without its country (before R-G5
    listed sites), "Plant 100", which the certificate does not list; a lot there citing ``certificate``,
    its sale, a determination for the plant and a 2 t generation from the lot (``certificate`` "own":
    the generator's own). Returns the generation's index."""
    gen = driver.generator()
    lot, _, real = _generated(driver, log, gen)
    site = log.last("facility.registered", facility=gen.facility_id)
    legacy = {k: v for k, v in site.payload.items() if k != "country"}
    legacy.update(facility=gen.facility_id + 1000, name="Plant 100")
    log.append("facility.registered", legacy, site.actor)
    determination = log.last("determination.recorded")
    older = {k: v for k, v in determination.payload.items() if k != "certified_since"}  # logged before it was
    log.append("determination.recorded", {**older, "determination": _ELSEWHERE, "facility": legacy["facility"],
                                          "used_kg": "0.000"}, determination.actor)
    registered = log.last("lot.registered", lot=lot["id"])
    log.append("lot.registered", {**registered.payload, "lot": lot["id"] + 1000, "reference": "LOT-LEGACY",
                                  "facility": legacy["facility"],
                                  "rms_certificate": gen.certificate if certificate == "own" else certificate},
               registered.actor)
    sale = log.last("lot.disposition", lot=lot["id"])
    log.append("lot.disposition", {**sale.payload, "lot": lot["id"] + 1000, "disposition": _ELSEWHERE},
               sale.actor)
    p = _generation_beside(real, 3001, 2000, Decimal(2000), Decimal(10000))
    p.update(lot=lot["id"] + 1000, lot_reference="LOT-LEGACY", prev=_lot_link(log, lot["id"] + 1000),
             determination=_ELSEWHERE)
    return log.append("block.generated", p, real.actor)


@pytest.mark.parametrize("certificate", ["RMS-NSF-99999", None])
def test_r_g1_a_block_from_a_lot_citing_a_certificate_no_entry_recorded_is_refused(driver, log, certificate):
    """R-G1 (last bullet), R-G5: the lot's own certificate, as the log recorded it. Reached only through a
    facility logged without its country (before R-G5 listed sites), where the lot's registration cannot
    check its site; the generation then finds no certificate. (Were the check gone, the missing record
    would fail as a payload that cannot be applied, at the same index: the message tells them apart.)"""
    bad = _generated_at_a_legacy_site(driver, log, certificate)
    _refused(log, bad, says="which no earlier entry recorded")


def test_r_g5_a_block_from_a_lot_at_a_site_logged_without_its_country_replays(driver, log):
    """R-G5: the control of the test above, citing the generator's own certificate: a plant logged
    without its country cannot be matched with the certificate's sites (by country and name), so the
    generation is not refused for the site, as the lot's registration was not."""
    _generated_at_a_legacy_site(driver, log, "own")
    _replays(log)


# --- R-U6 (unit_checks) ----------------------------------------------------------------------


def test_r_u6_a_generation_whose_logged_request_is_not_a_mass_is_refused(driver, log):
    """R-U6: the logged request is a decimal string and a unit; a number is not."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    bad = log.append("block.generated", {**p, "requested": {"value": 2000, "unit": "kg"}}, real.actor)
    _refused(log, bad, says="R-U6")


def test_r_u6_a_generation_requesting_less_than_a_gram_is_refused(driver, log):
    """R-U6: a request in pounds that adds no whole gram to the running total is refused."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    bad = log.append("block.generated", {**p, "requested": {"value": "0.001", "unit": "lb"}}, real.actor)
    _refused(log, bad, says="R-U6")


def test_r_u6_pound_requests_on_a_split_lots_pc_component_run_on_its_own_total(driver, log):
    """R-U6: 2000 lb then 2000 lb of PC take 907.185 kg and 907.184 kg (the second from the PC
    ledger's running 2000 lb); the replay derives the same, so the log verifies."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(10), pc_mass=t(6), pi_mass=t(4))
    driver.sell(gen.token, lot["id"], t(10))
    lb = {"value": "2000", "unit": "lb"}
    for kg in ("907.185", "907.184"):
        block = driver.generate(gen.token, lot["id"], mass=lb, component="PC")
        assert log.last("block.generated", serial=block["serial"]).payload["base_kg"] == kg
    log.assert_verifies()


@pytest.mark.parametrize("requested", [{"value": "1.5", "unit": "t"}, {"value": 1000, "unit": "kg"}])
def test_r_u6_a_disposition_whose_logged_request_does_not_give_its_kilograms_is_refused(driver, log, requested):
    """R-U6: a sale's kilograms follow from its logged request: 1000 kg logged for a request of 1.5 t
    (or of a number) is refused at its entry."""
    gen = driver.generator()
    _lot(driver, gen, t(10), t(4))
    real = log.last("lot.disposition")
    p = copy.deepcopy(real.payload)
    p.update(disposition=p["disposition"] + 1000, mass_kg="1000.000", requested=requested)
    bad = log.append("lot.disposition", p, real.actor)
    _refused(log, bad, says="R-U6")


def test_r_u6_a_disposition_logged_before_requests_were_replays(driver, log):
    """R-U6: entries written before requests were logged carry kilograms only; they replay
    (the control shape: the tables never saw the entry)."""
    gen = driver.generator()
    _lot(driver, gen, t(10), t(4))
    real = log.last("lot.disposition")
    p = copy.deepcopy(real.payload)
    del p["requested"]
    p.update(disposition=p["disposition"] + 1000, mass_kg="1000.000")
    log.append("lot.disposition", p, real.actor)
    _replays(log)


# --- block.transferred, block.retired (block_events.moved) -----------------------------------


def _held_by_buyer(driver, log):
    """A generator, a buyer holding the whole of a 3 t block (a real whole transfer), and the block."""
    gen = driver.generator()
    _, block, _ = _generated(driver, log, gen)
    buyer, _ = _buyer(driver)
    driver.ok("/transfers", {"serial": block["serial"], "quantity": "3.000", "to_participant_id": buyer}, gen.token)
    log.assert_verifies()
    return gen, buyer, block


def test_r_t1_a_move_of_a_block_no_entry_created_is_refused(driver, log):
    """R-T1: only a block the log created can move. (Were the check gone, the missing record would
    fail as a payload that cannot be applied, at the same index: the message tells them apart.)"""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _whole_transfer(log, block["serial"], buyer, gen.id)
    ghost = format_serial("PC_P_PP_ARC", 2026, gen.id, 900001, 903000)
    bad = log.append("block.transferred", {**p, "parent": ghost, "moved": {**p["moved"], "serial": ghost}},
                     _actor(log, "block.transferred"))
    _refused(log, bad, says="never created")


@pytest.mark.parametrize("field", ["lot_reference", None])
def test_r_l7b_a_move_recording_a_changed_block_field_is_refused(driver, log, field):
    """R-L7b: a moved block carries its fields; the entry may not rewrite one (control: unchanged)."""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _whole_transfer(log, block["serial"], buyer, gen.id)
    if field:
        p["moved"][field] = "LOT-FORGED"
    bad = log.append("block.transferred", p, _actor(log, "block.transferred"))
    if field:
        _refused(log, bad)
    else:
        _replays(log)


def test_r_p3_a_suspended_holder_moves_nothing(driver, log):
    """R-P3: a suspended participant's blocks stay where they are."""
    gen, buyer, block = _held_by_buyer(driver, log)
    driver.ok(f"/participants/{buyer}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    bad = log.append("block.transferred", _whole_transfer(log, block["serial"], buyer, gen.id),
                     _actor(log, "block.transferred"))
    _refused(log, bad)


@pytest.mark.parametrize("recipient", ["itself", "suspended", "unknown"])
def test_r_t2_a_transfer_goes_to_another_active_participant(driver, log, recipient):
    """R-T2: not to the holder itself, nor to a suspended or unknown participant."""
    gen, buyer, block = _held_by_buyer(driver, log)
    other, _ = _buyer(driver, "Northwind Packaging")
    driver.ok(f"/participants/{other}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    to = {"itself": buyer, "suspended": other, "unknown": 9999}[recipient]
    bad = log.append("block.transferred", _whole_transfer(log, block["serial"], buyer, to),
                     _actor(log, "block.transferred"))
    _refused(log, bad)


def test_r_t2_a_transfer_of_more_than_the_block_holds_is_refused(driver, log):
    """R-T2: 4 of a 3-certificate block. (Were the check gone, the remainder's record could not match,
    at the same index: the message tells them apart.)"""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _split_transfer(log, block["serial"], buyer, gen.id, 1000)
    bad = log.append("block.transferred", {**p, "quantity": "4.000"}, _actor(log, "block.transferred"))
    _refused(log, bad, says="which holds")


@pytest.mark.parametrize("fault", ["renamed", "part"])
def test_r_t2_a_move_without_a_remainder_moves_the_whole_block_under_its_serial(driver, log, fault):
    """R-T2: without a remainder the whole block moves, under its own serial: not renamed, not 1 of 3."""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _whole_transfer(log, block["serial"], buyer, gen.id)
    if fault == "renamed":
        p["moved"]["serial"] = format_serial("PI_P_PP_ARC", 2026, gen.id, 1, 3000)  # the same units, renamed
    else:  # the lower 1 000 units (with all the base mass), and no remainder for the other 2 000
        split = _split_transfer(log, block["serial"], buyer, gen.id, 1000)
        p.update(quantity=split["quantity"], moved={**split["moved"], "base_kg": p["moved"]["base_kg"]})
    bad = log.append("block.transferred", p, _actor(log, "block.transferred"))
    _refused(log, bad)


def test_r_t2_a_move_of_the_whole_block_names_no_remainder(driver, log):
    """R-T2: a remainder with the whole block moving. (Were the check gone, the remainder's record could
    not match an empty remainder, at the same index: the message tells them apart.)"""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _whole_transfer(log, block["serial"], buyer, gen.id)
    p["remainder"] = _split_transfer(log, block["serial"], buyer, gen.id, 1000)["remainder"]
    bad = log.append("block.transferred", p, _actor(log, "block.transferred"))
    _refused(log, bad, says="moves whole")


@pytest.mark.parametrize("child", ["moved", "remainder", None])
def test_r_g2_a_split_names_new_serials_for_its_parts(driver, log, child):
    """R-G2: a split's parts are new blocks; naming an existing serial (here the parent's) is refused
    (control: the real serials). (Were the check gone, the serial check would refuse the entry at the same
    index: an existing serial names units no part of an active block can have again. The message tells
    them apart.)"""
    gen, buyer, block = _held_by_buyer(driver, log)
    p = _split_transfer(log, block["serial"], buyer, gen.id, 1000)
    if child:
        p[child]["serial"] = block["serial"]
    bad = log.append("block.transferred", p, _actor(log, "block.transferred"))
    if child:
        _refused(log, bad, says="already exists")
    else:
        _replays(log)


# --- block.forfeited (block_events.ended, R-E4) -----------------------------------------------


def _forfeiting(driver, engine, clock):
    """A generator holding a block it generated and one it bought from another generator, its
    certificate suspended from 2026-04-01: the daily job of 2027-04-02 removes it as a generator
    and forfeits the one it generated (R-E4, RMS 8.5.1)."""
    from registry.db import session_factory
    from registry.jobs import run_daily_jobs

    gen, other = driver.generator("Suspended Polymers"), driver.generator("Other Polymers")
    own = driver.generate(gen.token, _lot(driver, gen, t(5), t(5))["id"])
    bought = driver.generate(other.token, _lot(driver, other, t(5), t(5))["id"])
    driver.ok("/transfers", {"serial": bought["serial"], "quantity": bought["quantity"],
                             "to_participant_id": gen.id}, other.token)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-04-01", "reason": "audit"},
              gen.certifier, status=200)
    clock.set(datetime(2027, 4, 2, 9, 0, tzinfo=UTC))
    assert run_daily_jobs(session_factory(engine), clock)["removal"] == {"status": "ran", "removed": 1,
                                                                         "forfeited": 1}
    return gen, own, bought


def test_r_e4_the_forfeit_of_a_removed_generators_own_block_replays(driver, log, engine, clock):
    """R-E4: the forfeit the daily job writes, of a block its removed generator generated and holds."""
    gen, own, _ = _forfeiting(driver, engine, clock)
    assert log.last("block.forfeited", serial=own["serial"]).payload["participant"] == gen.id
    log.assert_verifies()


def test_r_e4_a_forfeit_of_a_block_the_removed_generator_bought_is_refused(driver, log, engine, clock):
    """RMS 8.5.1: what a removed generator holds but did not generate is not forfeited."""
    gen, _, bought = _forfeiting(driver, engine, clock)
    log.assert_verifies()
    bad = log.append("block.forfeited", _ended(log, bought, "forfeited", participant=gen.id), "system")
    _refused(log, bad, says="not held by its removed generator")


# --- block.cancelled (block_events.ended) ----------------------------------------------------


def test_r_e5_a_cancel_naming_an_unknown_determination_is_refused(driver, log):
    """R-E5: the cancel restores a determination's used volume, so it must name one the log knows.
    (Were the check gone, the missing record would fail as a payload that cannot be applied, at the
    same index: the message tells them apart.)"""
    gen = driver.generator()
    _, second, cancelled = _cancellation(driver, log, gen)
    log.assert_verifies()
    payload = _ended(log, second, "cancelled", reason="wrong", determination=9999, lot_used_kg="0.000",
                     disclaimer_required=False, determination_used_kg="0.000")
    bad = log.append("block.cancelled", payload, cancelled.actor)
    _refused(log, bad, says="is unknown")


def test_r_e5_a_cancel_giving_the_volume_back_to_another_determination_is_refused(driver, log):
    """R-E5, R-A2: a cancelled block's base mass goes back to the determination it was generated
    under. An entry giving it to the determination of another plant (which has used enough for the
    balances to stay positive) would let that plant generate 2 t more than its eligible volume."""
    gen = driver.generator()
    _, second, cancelled = _cancellation(driver, log, gen)
    other = driver.facility(gen.token, gen.id, name="Plant 2")
    elsewhere = driver.determination(gen.certifier, other["id"])
    lot = driver.lot(gen.token, other["id"], gen.certificate, mass=t(5))
    driver.sell(gen.token, lot["id"], t(5))
    driver.generate(gen.token, lot["id"], mass=t(3))
    log.assert_verifies()
    payload = _ended(log, second, "cancelled", reason="wrong", determination=elsewhere["id"], lot_used_kg="0.000",
                     disclaimer_required=False, determination_used_kg="1000.000")
    bad = log.append("block.cancelled", payload, cancelled.actor)
    _refused(log, bad, says="goes back to determination")


def test_r_e5_a_cancel_after_a_supersession_gives_the_volume_to_the_superseding_determination(driver, log):
    """R-E5, R-A7: the control: once its determination is superseded (the year's used volume
    inherited), a block's cancellation gives the volume back to the superseding one, as the
    service does; the log verifies."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(5), t(5))
    block = driver.generate(gen.token, lot["id"], mass=t(2))
    newer = driver.determination(gen.certifier, gen.facility_id, mandate_share="0.5")
    driver.ok(f"/blocks/{block['serial']}/cancel", {"reason": "mass entered twice"}, status=200)
    assert log.last("block.cancelled", serial=block["serial"]).payload["determination"] == newer["id"]
    log.assert_verifies()


def test_r_e5_a_block_cancelled_twice_is_refused_at_the_second(driver, log):
    """R-E5, R-L7c: only an active block ends; the same cancellation again is refused at its entry."""
    gen = driver.generator()
    _, _, cancelled = _cancellation(driver, log, gen)
    log.assert_verifies()
    again = {**cancelled.payload, "prev": {"index": cancelled.index, "leaf_hash": cancelled.leaf_hash.hex()}}
    bad = log.append("block.cancelled", again, cancelled.actor)
    _refused(log, bad, says="not active")


@pytest.mark.parametrize("field", ["lot_used_kg", "determination_used_kg"])
def test_r_e5_a_cancel_stating_a_restored_balance_as_a_number_is_refused(driver, log, field):
    """R-U3: the balances a cancellation restores are decimal strings, like every quantity."""
    gen = driver.generator()
    _, second, cancelled = _cancellation(driver, log, gen)
    log.assert_verifies()
    details = {k: cancelled.payload[k] for k in ("reason", "determination")}
    payload = {**_ended(log, second, "cancelled", **details, lot_used_kg="0.000", disclaimer_required=False,
                        determination_used_kg="0.000"), field: 0}
    bad = log.append("block.cancelled", payload, cancelled.actor)
    _refused(log, bad, says="must be a decimal string")


def test_r_e5_a_cancel_gives_the_facilitys_eligible_volume_back_once(driver, log):
    """R-E5, R-A2: a cancelled block's base mass is the facility's to generate again, exactly once.
    Of 1 000 kg eligible, 600 kg generated and cancelled, then 400 kg: the log verifies; 600 kg more
    (the control) replays, and 100 kg after them are refused at their entry."""
    gen = driver.generator()
    small = driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    driver.determination(gen.certifier, small["id"], mandate_share="0.999")
    lot = _lot(driver, gen, t(5), t(5), facility_id=small["id"])
    first = driver.generate(gen.token, lot["id"], mass=t("0.6"))  # units 1..600
    driver.ok(f"/blocks/{first['serial']}/cancel", {"reason": "mass entered twice"}, status=200)
    again = driver.generate(gen.token, lot["id"], mass=t("0.4"))  # units 601..1000
    log.assert_verifies()
    real = log.last("block.generated", serial=again["serial"])
    log.append("block.generated", _generation_beside(real, 1001, 600, Decimal(1000), Decimal(5000)), real.actor)
    _replays(log)
    bad = log.append("block.generated", _generation_beside(real, 1601, 100, Decimal(1100), Decimal(5000)),
                     real.actor)
    _refused(log, bad, says="eligible volume")


def test_r_b5_a_cancel_lifts_the_disclaimer_of_a_lot_no_longer_used_in_full(driver, log):
    """R-B5, R-E5: a lot whose whole mass made ARCs needs the disclaimer on its claims; once a block
    of it is cancelled it no longer does, so its next generation of part of the mass says so, and
    the log verifies."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(5), t(5))
    whole = driver.generate(gen.token, lot["id"])
    assert log.last("block.generated", serial=whole["serial"]).payload["disclaimer_required"] is True
    driver.ok(f"/blocks/{whole['serial']}/cancel", {"reason": "mass entered twice"}, status=200)
    part = driver.generate(gen.token, lot["id"], mass=t(2))
    assert log.last("block.generated", serial=part["serial"]).payload["disclaimer_required"] is False
    log.assert_verifies()


def test_r_e5_a_cancelled_pc_block_of_a_split_lot_returns_its_mass_to_the_pc_component(driver, log):
    """R-E5, R-B2: cancelling the PC block of a split lot gives its mass back to the PC component,
    which then generates it again; the replay agrees, so the log verifies."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(10), pc_mass=t(6), pi_mass=t(4))
    driver.sell(gen.token, lot["id"], t(10))
    block = driver.generate(gen.token, lot["id"], component="PC")
    assert block["quantity"] == "6.000"
    driver.ok(f"/blocks/{block['serial']}/cancel", {"reason": "mass entered twice"}, status=200)
    assert driver.generate(gen.token, lot["id"], component="PC")["quantity"] == "6.000"
    log.assert_verifies()


@pytest.mark.parametrize("draw", ["none", "too_little", "exact"])
def test_r_m6_a_generation_on_a_custody_lot_draws_its_base_mass_of_credit(driver, log, draw):
    """R-M6: ARCs from a lot of a mass-balance account draw exactly their base mass of the account's
    credit. A copy of a real generation for 1 000 more units that draws nothing, or 1 kg too
    little, is refused at its own entry; the same copy drawing its 1 000 kg replays (control)."""
    from tests.api.test_custody_generation import _sale

    r, lot = _custody_lot(driver)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(1000)), r.g.token)
    block = driver.generate(r.g.token, lot["id"], mass=t(3))
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    assert real.payload["custody"]["drawn_kg"]["PC"] == "3000.000"
    _draws_1000_kg(log, real, _generation_beside(real, 3001, 1000, Decimal(4000), Decimal(1000000)), draw)


def _custody_lot(driver):
    """A reprocessor with a mass-balance account holding 100 t of receipts, and a lot drawing on it."""
    from tests.api.test_custody_generation import Reprocessor

    r = Reprocessor(driver)
    receipt = r.receive("2026-01-10", t(100))
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    return r, lot


def _draws_1000_kg(log: Log, real, p: dict, draw: str) -> None:
    """Append ``p``, a copy of the entry ``real`` for 1 t, drawing nothing ("none"), 999 kg
    ("too_little") or 1 000 kg ("exact") of credit: refused at its entry as R-M6, or replays."""
    if draw == "none":
        del p["custody"]
    else:
        p["custody"]["drawn_kg"]["PC"] = "999.000" if draw == "too_little" else "1000.000"
    index = log.append(real.type, p, real.actor)
    if draw == "exact":
        _replays(log)
    else:
        _refused(log, index, says="R-M6")


@pytest.mark.parametrize("draw", ["none", "too_little", "exact"])
def test_r_m6_a_claimed_sale_of_a_custody_lot_draws_its_claimed_mass_of_credit(driver, log, draw):
    """R-M6: a claimed sale of a lot of a mass-balance account draws its claimed mass of the account's
    credit. A copy of a real claimed sale for 1 t that draws nothing, or 1 kg too little, is refused
    at its own entry; the same copy drawing its 1 000 kg replays (control)."""
    from tests.api.test_custody_generation import _sale

    r, lot = _custody_lot(driver)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(2), claim="RMS 100% PC MB"), r.g.token)
    log.assert_verifies()
    real = log.last("lot.disposition", lot=lot["id"])
    assert real.payload["custody"]["drawn_kg"]["PC"] == "2000.000"
    p = copy.deepcopy(real.payload)
    p.update(disposition=p["disposition"] + 1000, mass_kg="1000.000", claimed_kg="1000.000",
             claimed_pc_kg="1000.000", requested={"value": "1", "unit": "t"})
    _draws_1000_kg(log, real, p, draw)


@pytest.mark.parametrize("change", [{"lot_used_kg": "5000.001"}, {"lot_used_kg": 5000}, {"disclaimer_required": True},
                                    {}])
def test_r_b5_a_generation_stating_another_lot_balance_or_disclaimer_is_refused(driver, log, change):
    """R-L7b, R-B5: a generation states the lot's used mass after it (a decimal string) and whether the
    lot now needs the disclaimer; each must be what replay derives. A copy of a real generation for
    2 000 more units of a 10 t lot (5 000 kg used, no disclaimer) stating 1 g more, the mass as a
    number, or a disclaimer is refused at its entry; stating neither replays (control)."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    assert (p["lot_used_kg"], p["disclaimer_required"]) == ("5000.000", False)
    index = log.append("block.generated", {**p, **change}, real.actor)
    if change:
        _refused(log, index)
    else:
        _replays(log)


@pytest.mark.parametrize("first", [3000, 3001])
def test_r_g2_a_generation_starting_on_the_last_issued_unit_is_refused(driver, log, first):
    """R-G2: serial ranges never share a unit. After units 1..3000, a copy starting at unit 3000
    (one unit shared) is refused at its entry; one starting at 3001 replays (control)."""
    gen = driver.generator()
    _, _, real = _generated(driver, log, gen)
    p = _generation_beside(real, first, 2000, Decimal(5000), Decimal(10000))
    index = log.append("block.generated", p, real.actor)
    if first == 3000:
        _refused(log, index, says="overlaps serials")
    else:
        _replays(log)


def test_r_k5_a_split_of_a_contaminated_lots_block_rounds_its_parts_base_mass_down(driver, log):
    """R-K5, R-G2: 1 000 kg of a lot with 5% ash make 969 units, so a unit stands for 1.0319… kg of
    base mass. Transferring one unit splits the block: the part moved gets 1.031 kg (rounded down),
    the remainder the other 998.969 kg. Replay re-derives the same split (rounding half-even, it
    would give 1.032 and refuse the service's own entry), and the log verifies."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), t(10), non_plastic_fraction="0.05")
    block = driver.generate(gen.token, lot["id"], mass=t(1))
    assert block["quantity"] == "0.969"
    buyer, _ = _buyer(driver)
    driver.ok("/transfers", {"serial": block["serial"], "quantity": "0.001", "to_participant_id": buyer}, gen.token)
    moved = log.last("block.transferred", parent=block["serial"]).payload
    assert (moved["moved"]["base_kg"], moved["remainder"]["base_kg"]) == ("1.031", "998.969")
    log.assert_verifies()


@pytest.mark.parametrize("fault", ["sender", "quantity as a number", "nothing", None])
def test_r_t2_a_transfer_by_another_than_the_holder_or_of_a_quantity_as_a_number_is_refused(driver, log, fault):
    """R-T2, R-U3: a transfer is sent by the block's holder, of more than nothing, written as a decimal
    string. The whole of a real 3 t block sent by the buyer who does not hold it, or with its
    quantity as a number or as 0.000, is refused at its entry; sent by its holder it replays (control)."""
    gen = driver.generator()
    _, block, _ = _generated(driver, log, gen)
    buyer, _ = _buyer(driver)
    other, _ = _buyer(driver, "Other Brand")
    p = _whole_transfer(log, block["serial"], gen.id, other)
    if fault == "sender":
        p["from"] = buyer
    elif fault == "quantity as a number":
        p["quantity"] = 3
    elif fault == "nothing":
        p["quantity"] = "0.000"
    index = log.append("block.transferred", p, _actor(log))
    if fault is None:
        _replays(log)
    else:
        _refused(log, index)

"""Replay of the events that create and move certificate blocks (R-T1, R-T2,
R-G2, R-R1, R-E1, R-E4, R-E5): each must be possible in the replayed state."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from registry import certification, classification, quantities, use_period
from registry.additionality import ceiling
from registry.blocks import format_serial
from registry.errors import RegistryError
from registry.custody.rules import zeros
from registry.replay import certificate_state, custody_events, generation_checks, unit_checks
from registry.replay.registry_events import lot_account
from registry.replay.state import BLOCK_FIELDS, ZERO, State, block_record, broken, dec, fail

_MILLI = Decimal("0.001")
_CARRIED = ("arc_code", "arc_type", "recycled_status", "generator", "lot", "lot_reference", "generation_year")


def _active(s: State, i: int, serial, kind: str) -> dict:
    block = s.blocks.get(serial)
    if block is None:
        raise fail(i, f"{kind}: block {serial!r} was never created by an earlier entry")
    if block["state"] != "active":  # R-T1: only active blocks move
        raise fail(i, f"{kind}: block {serial} is {block['state']}, not active")
    return block


def _check_prev(i: int, serial: str, p: dict, link: tuple | None) -> None:
    """R-L2b: the entry must link to the last entry of the block's (or lot's) lineage."""
    prev = p.get("prev")
    if link is None or not isinstance(prev, dict) or prev.get("index") != link[0] or (
            link[1] is not None and prev.get("leaf_hash") != link[1]):
        raise fail(i, f"block {serial}: lineage link {prev!r} is not its last entry {link!r}")


def _same(i: int, serial: str, before: dict, after: dict, keys) -> None:
    for k in keys:
        if before[k] != after[k]:
            raise fail(i, f"block {serial}: {k} {after[k]!r} differs from the replayed {before[k]!r}")


def _set(s: State, block: dict, i: int, leaf: str | None, determination) -> None:
    """Store the block's replayed record, with what the log says beyond its
    payload: its last lineage entry (R-L2b) and the determination its ARCs
    count against (carried from generation through every split)."""
    block["link"] = (i, leaf)
    block["determination"] = determination
    s.blocks[block["serial"]] = block


def _check_serial(i: int, b: dict) -> None:
    """R-G2: a new block's serial names its ARC code, year, generator and units."""
    named = format_serial(b["arc_code"], b["generation_year"], b["generator"], b["first"], b["last"])
    if b["serial"] != named:
        raise fail(i, f"R-G2: block {b['serial']}: its fields give the serial {named}")


def _check_derived(i: int, b: dict, lot: dict) -> None:
    """R-L7c, R-K2, R-K4, R-K5: the block's ARC code and quantity follow from the
    lot's logged material code, mass, non-plastic fraction and LHV."""
    try:
        material = classification.parse_material_code(lot["material_code"])
        arc_type = classification.arc_type(material)
        status = b["recycled_status"]
        statuses = {lot["recycled_status"]} if lot["pc_kg"] is None else {"PC", "PI"}
        if status not in statuses:
            raise fail(i, f"R-B2: block {b['serial']}: lot {b['lot']} has no {status} component")
        used_before = lot["used_pc_kg"] if status == "PC" and lot["pc_kg"] is not None else (
            lot["used_kg"] - lot["used_pc_kg"] if lot["pc_kg"] is not None else lot["used_kg"])
        quantity = quantities.generation_quantity(
            material, used_before_kg=used_before, mass_kg=b["base_kg"],
            non_plastic_fraction=lot["non_plastic_fraction"], lhv_mj_per_kg=lot["lhv_mj_per_kg"])
        code = classification.arc_code(classification.parse_status(status), arc_type)
    except RegistryError as error:
        raise broken(i, error) from None
    except ValueError as error:
        raise fail(i, f"R-K4: block {b['serial']}: {error}") from None
    if (b["arc_code"], b["arc_type"], b["quantity"]) != (code, arc_type, quantity):
        raise fail(i, f"R-K2/R-K4: block {b['serial']}: {b['quantity']} {b['arc_code']} from lot {b['lot']}, whose "
                      f"logged material gives {quantity} {code}")


def _check_additionality(s: State, i: int, b: dict, lot: dict, det: dict, did) -> None:
    """R-A2, R-A8, R-A9 as generation checks them: the determination is the
    current one of the lot's processing year that covers its line or facility,
    the lot is new output, and the year's ceilings hold."""
    year = lot["year"]
    covering = s.current_determinations.get((lot["facility"], lot["line"], year)) if lot["line"] is not None \
        else None
    covering = covering or s.current_determinations.get((lot["facility"], None, year))
    if covering != did:
        raise fail(i, f"R-A8: block {b['serial']}: determination {did} does not cover lot {b['lot']} "
                      f"(facility {lot['facility']}, line {lot['line']}, processed in {year})")
    if det["outcome"] != "additional":
        raise fail(i, f"R-A3: block {b['serial']}: determination {did} is not additional")
    if det.get("pc_only") and b["recycled_status"] != "PC":
        raise fail(i, f"R-A5: block {b['serial']}: the phase-out exemption covers post-consumer material only")
    ceiling.require_new_output(date.fromisoformat(lot["processed_on"]), det["newness"])
    current = [s.determinations[d] for (f, _line, y), d in s.current_determinations.items()
               if f == lot["facility"] and y == year]
    ceiling.require_within_ceilings(
        b["base_kg"], year=year, covering_line=det["line"], covering_eligible_kg=det["eligible_kg"],
        facility_used_kg=s.used.get((lot["facility"], None, year), ZERO),
        line_used_kg=s.used.get((lot["facility"], det["line"], year), ZERO),
        current=[(d["line"], d["outcome"] == "additional", d["eligible_kg"]) for d in current])


def _check_certified(s: State, i: int, b: dict, day: date) -> None:
    """R-P2, R-C3, RMS 8.6.4: on the day of generation the generator held an
    RMS certificate, valid that day, whose scope covers reprocessing."""
    for cert in certificate_state.citable_by(s, b["generator"]):  # its own, or a group's listing it (R-C6)
        scope = certificate_state.scope_on(cert, day)
        if (scope is not None and "reprocessing" in scope.activities
                and certificate_state.sites_for(cert, b["generator"], day) is not None
                and certification.is_valid_on(day, certificate_state.periods(cert), certificate_state.events(cert))):
            return
    raise fail(i, f"R-P2: block {b['serial']}: generator {b['generator']} held no RMS certificate valid on {day} "
                  "that covers reprocessing")


def _scopes(lot: dict) -> set[tuple]:
    """The facility-year and line-year a lot's base mass counts against (R-A9): one
    key, not the facility's twice, for a lot processed on no line."""
    return {(lot["facility"], None, lot["year"]), (lot["facility"], lot["line"], lot["year"])}


def generated(s: State, i: int, p: dict, leaf: str | None, time: str | None = None) -> None:
    b = block_record(i, p)
    serial = b["serial"]
    if serial in s.blocks:
        raise fail(i, f"block {serial} is generated twice")
    _check_serial(i, b)
    _check_use_period_end(i, "block.generated", b, p)  # the use period it announces (R-E1)
    lot = s.lots.get(b["lot"])
    if lot is None or lot["generator"] != b["generator"] or b["owner"] != b["generator"] or b["state"] != "active":
        raise fail(i, f"block {serial}: generated from lot {b['lot']} by {b['generator']} for {b['owner']}")
    generator = s.participants.get(b["generator"], {})
    if generator.get("status") != "active":  # R-G1
        raise fail(i, f"block {serial}: generator {b['generator']} is not active")
    if generator.get("generator_removed"):  # R-E4
        raise fail(i, f"block {serial}: generator {b['generator']} was removed as a generator (R-E4)")
    _check_prev(i, serial, p, lot["link"])
    key = (b["generator"], b["generation_year"])
    if b["first"] <= s.serial_high.get(key, 0):  # R-G2: serial ranges never overlap
        raise fail(i, f"block {serial} overlaps serials already issued (up to {s.serial_high[key]})")
    s.serial_high[key] = b["last"]
    det = s.determinations.get(p.get("determination"))
    if det is None or det["status"] != "current":
        raise fail(i, f"block {serial}: determination {p.get('determination')} is not current")
    if time is not None:  # the entry's time is the generation date (R-G1)
        s.note(i, lambda: _check_certified(s, i, b, date.fromisoformat(time[:10])))
        s.note(i, lambda: generation_checks.check_recent(lot, date.fromisoformat(time[:10])))  # RMS 8.6.3
    s.note(i, lambda: generation_checks.check_cited_certificate(s, i, serial, lot))  # R-G1, R-G5
    s.note(i, lambda: _check_derived(i, b, lot))
    s.note(i, lambda: _check_additionality(s, i, b, lot, det, p["determination"]))
    base = b["base_kg"]
    account = lot_account(lot)
    eligible = account.eligible_kg(b["recycled_status"]) if b["recycled_status"] in account.components() else None
    unit_checks.generation(i, p, lot, b["recycled_status"], eligible, base)  # R-U6
    custody_events.lot_drawn(s, i, "the generation", b["lot"], lot, p, {**zeros(), b["recycled_status"]: base},
                             arcs=True)
    lot["used_kg"] += base
    if b["recycled_status"] == "PC" and lot["pc_kg"] is not None:
        lot["used_pc_kg"] += base
    lot["disclaimer_required"] = lot["disclaimer_required"] or lot["used_kg"] == lot["mass_kg"]  # R-B5
    det["used_kg"] += base
    for scope in _scopes(lot):
        s.used[scope] = s.used.get(scope, ZERO) + base
    found = lot_account(lot).violations()
    if found:  # R-B2, R-B4: claims and ARCs never count the same mass twice, per component
        s.finding(fail(i, f"R-B4: lot {b['lot']}: " + "; ".join(found)))
    if det["used_kg"] > det["eligible_kg"]:  # R-A2
        s.finding(fail(i, f"R-A2: determination {p['determination']}: {det['used_kg']} kg used of "
                          f"{det['eligible_kg']}"))
    if dec(i, p.get("lot_used_kg"), "lot_used_kg") != lot["used_kg"] or \
            p.get("disclaimer_required") is not lot["disclaimer_required"]:
        raise fail(i, f"lot {b['lot']}: the entry says used {p.get('lot_used_kg')}, replay gives {lot['used_kg']}")
    _set(s, b, i, leaf, p["determination"])


def moved(s: State, i: int, kind: str, p: dict, leaf: str | None, time: str | None = None) -> None:
    """block.transferred (R-T2, R-T3), block.offered (R-T6: the lower serials are
    held for the recipient, still the sender's) and block.retired (R-R1): the
    lower serials move."""
    offered = kind == "block.offered"
    transfer = kind in ("block.transferred", "block.offered")
    parent = _active(s, i, p.get("parent"), kind)
    if time is not None:  # R-E1, R-T3: only inside the use period, dated by the entry's time
        s.note(i, lambda: use_period.require_in_use_period(parent["generation_year"], date.fromisoformat(time[:10])))
    serial = parent["serial"]
    _check_prev(i, serial, p, parent["link"])
    holder = p.get("from") if transfer else p.get("owner")
    if parent["owner"] != holder:
        raise fail(i, f"{kind}: block {serial} is held by {parent['owner']}, not {holder}")
    quantity = dec(i, p.get("quantity"), "quantity")
    if not 0 < quantity <= parent["quantity"]:
        raise fail(i, f"{kind}: {quantity} of block {serial}, which holds {parent['quantity']}")
    if s.participants.get(holder, {}).get("status") != "active":  # R-P3
        raise fail(i, f"{kind}: holder {holder} is not active")
    if transfer and (p.get("to") == holder or s.participants.get(p.get("to"), {}).get("status") != "active"):
        raise fail(i, f"{kind}: recipient {p.get('to')} is not another active participant")
    out = block_record(i, p.get("moved" if transfer else "retired"))
    rest = p.get("remainder")
    units = int(quantity * 1000)
    expected = {**{k: parent[k] for k in _CARRIED}, "first": parent["first"], "last": parent["first"] + units - 1,
                "quantity": quantity, "owner": p.get("to") if transfer and not offered else holder,
                "state": "offered" if offered else "active" if transfer else "retired"}
    if rest is None:
        if quantity != parent["quantity"] or out["serial"] != serial:
            raise fail(i, f"{kind}: the whole of block {serial} moves, yet the entry names {out['serial']}")
        expected["base_kg"] = parent["base_kg"]
        _same(i, serial, expected, out, BLOCK_FIELDS)
        _set(s, out, i, leaf, parent["determination"])
    else:
        if quantity == parent["quantity"]:
            raise fail(i, f"{kind}: block {serial} moves whole, yet the entry names a remainder")
        rem = block_record(i, rest)
        total = parent["last"] - parent["first"] + 1
        lower = (parent["base_kg"] * units / total).quantize(_MILLI, rounding=ROUND_DOWN)
        expected["base_kg"] = lower
        _same(i, out["serial"], expected, out, BLOCK_FIELDS)
        remainder = {**{k: parent[k] for k in _CARRIED}, "first": parent["first"] + units, "last": parent["last"],
                     "quantity": parent["quantity"] - quantity, "owner": holder, "state": "active",
                     "base_kg": parent["base_kg"] - lower}
        _same(i, rem["serial"], remainder, rem, BLOCK_FIELDS)
        for child in (out, rem):
            if child["serial"] in s.blocks:
                raise fail(i, f"{kind}: block {child['serial']} already exists")
            _check_serial(i, child)
        parent["state"] = "split"  # history, not a holding (registry.blocks.split)
        _set(s, out, i, leaf, parent["determination"])
        _set(s, rem, i, leaf, parent["determination"])
    if not transfer:
        s.retirements[out["serial"]] = {"owner": holder, "quantity": out["quantity"],
                                        "beneficiary": p.get("beneficiary"), "index": i}


def _check_use_period_end(i: int, kind: str, block: dict, p: dict) -> None:
    """R-E1, R-L7c: the entry names the block's use-period end, 31 December of its year + 1."""
    end = use_period.use_period_end(block["generation_year"])
    if p.get("use_period_end") != end.isoformat():
        raise fail(i, f"{kind}: block {block['serial']} is in use until {end}, "
                      f"the entry says {p.get('use_period_end')!r}")


def check_expiry(s: State, i: int, block: dict, p: dict, time: str | None) -> None:
    """R-E1, R-L7c: ``block.expired`` names the block's use-period end, and its day is past it."""
    _check_use_period_end(i, "block.expired", block, p)
    if time is not None:
        s.note(i, lambda: use_period.require_past_use_period(block["generation_year"],
                                                             date.fromisoformat(time[:10])))


def _in_force(s: State, did) -> int:
    """R-A7: a determination, or the one that superseded it (and inherited its year's used volume),
    as `registry.corrections` follows the chain."""
    while (newer := s.determinations[did].get("superseded_by")) is not None:
        did = newer
    return did


def ended(s: State, i: int, kind: str, p: dict, leaf: str | None, time: str | None = None) -> None:
    """block.expired (R-E1), block.forfeited (R-E4), block.cancelled (R-E5)."""
    target = kind.split(".", 1)[1]
    b = block_record(i, p)
    serial = b["serial"]
    block = _active(s, i, serial, kind)
    if kind == "block.expired":
        check_expiry(s, i, block, p, time)
    _check_prev(i, serial, p, block["link"])
    _same(i, serial, {**block, "state": target}, b, BLOCK_FIELDS)
    if kind == "block.forfeited" and (  # R-E4: only what the removed generator still holds
            not s.participants.get(p.get("participant"), {}).get("generator_removed")
            or block["owner"] != p.get("participant") or block["generator"] != block["owner"]):
        raise fail(i, f"{kind}: block {serial} is not held by its removed generator {p.get('participant')}")
    if kind == "block.cancelled":
        if block["owner"] != block["generator"]:  # RMS 8.6.2
            raise fail(i, f"{kind}: block {serial} is held by {block['owner']}, not by its generator")
        lot = s.lots[block["lot"]]
        lot["used_kg"] -= block["base_kg"]
        if block["recycled_status"] == "PC" and lot["pc_kg"] is not None:
            lot["used_pc_kg"] -= block["base_kg"]
        lot["disclaimer_required"] = lot["used_kg"] == lot["mass_kg"]
        det = s.determinations.get(p.get("determination"))
        if det is None:
            raise fail(i, f"{kind}: determination {p.get('determination')} is unknown")
        restored = _in_force(s, block["determination"])
        if p.get("determination") != restored:  # R-E5, R-A7: where the service gives the volume back
            raise fail(i, f"{kind}: block {serial}: its volume goes back to determination {restored}, "
                          f"not {p.get('determination')}")
        det["used_kg"] -= block["base_kg"]
        for scope in _scopes(lot):
            s.used[scope] = s.used.get(scope, ZERO) - block["base_kg"]
        if lot["used_kg"] < 0 or det["used_kg"] < 0 or \
                dec(i, p.get("lot_used_kg"), "lot_used_kg") != lot["used_kg"] or \
                dec(i, p.get("determination_used_kg"), "determination_used_kg") != det["used_kg"]:
            raise fail(i, f"{kind}: block {serial}: restored balances do not match the entry")
    _set(s, {**block, "state": target}, i, leaf, block["determination"])

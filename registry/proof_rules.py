"""The registry's rules re-checked on a provenance proof (R-L7c): the generated
block's ARC type, code and quantity follow from the lot entry in the proof
(R-K2, R-K4, R-K5), by the pure functions generation itself uses
(`registry.classification`). Pure: no database, no Flask.

`chainlog.provenance.verify_provenance` first checks the proof's structure,
signature and inclusion; this module reads what it verified: the
``lot.registered`` entry (material code, mass, PC part, non-plastic fraction,
LHV) and the ``block.generated`` entry (status, type, code, quantity, base
mass, and ``lot_used_kg``, the lot's used base mass after the generation).

What a proof can and cannot show. It holds the lot and this block's lineage,
not the lot's other generations or its sales, so:

* an unsplit lot's used mass before the generation is ``lot_used_kg -
  base_kg``: the quantity is re-derived exactly (`generation_quantity`);
* a PC/PI split lot's entry gives the lot's total used mass, not the
  component's: the component's used mass before is only bounded. When the
  bounds meet (e.g. the lot's first generation) the check is exact; otherwise
  the quantity must be one `generation_quantity` can give for that base mass
  whatever was used before (`generation_quantity_range`: the exact value, or
  within 0.001 of it);
* R-B4 as far as the proof sees: the base mass fits the component, and the
  lot's used mass never exceeds its logged mass. Sold and claimed mass live in
  disposition entries that are not part of a block's lineage: `arcreg verify`
  checks those (replay, R-L7c).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from registry import classification, quantities
from registry.errors import RegistryError
from registry.units import parse_decimal

ZERO = Decimal(0)


class ProofRuleError(Exception):
    """A correctly signed proof whose generation a registry rule refuses."""

    def __init__(self, rule: str, index: int | None, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule, self.index, self.message = rule, index, message


@dataclass(frozen=True)
class Derivation:
    """What the lot entry gives for the generated block."""

    arc_code: str
    quantity: Decimal
    low: Decimal
    high: Decimal
    material_code: str
    base_kg: Decimal

    @property
    def exact(self) -> bool:
        return self.low == self.high

    def summary(self) -> str:
        how = "exactly" if self.exact else f"within rounding ({self.low}..{self.high}: split lot)"
        return (f"rules: {self.quantity} {self.arc_code} from {self.base_kg} kg of {self.material_code} "
                f"re-derived {how} (R-K2, R-K4, R-K5)")


def _kg(payload: dict, key: str, index: int, *, positive: bool = False) -> Decimal:
    value = payload.get(key)
    if not isinstance(value, str):  # R-U3: quantities travel as decimal strings
        raise ProofRuleError("R-U3", index, f"{key} {value!r} is not a decimal string")
    try:
        return parse_decimal(value, field=key, allow_zero=not positive)
    except RegistryError as error:
        raise ProofRuleError(error.rule or "R-U3", index, error.detail) from None


@dataclass(frozen=True)
class _Lot:
    id: Any
    material: classification.MaterialCode
    status: str
    mass: Decimal
    pc: Decimal | None
    fraction: Decimal
    lhv: Decimal | None

    def components(self) -> dict[str, Decimal]:
        """Base mass per status the lot can generate (R-B2)."""
        if self.pc is None:
            return {self.status: self.mass}
        return {"PC": self.pc, "PI": self.mass - self.pc}


def _lot(payload: dict, index: int) -> _Lot:
    """The lot entry's material facts, read as lot registration reads them."""
    try:
        material = classification.parse_material_code(payload.get("material_code"))
        status = str(classification.parse_status(payload.get("recycled_status")))
        fraction = quantities.parse_fraction(payload.get("non_plastic_fraction"), field="non_plastic_fraction")
        lhv = payload.get("lhv_mj_per_kg")
        lhv = None if lhv is None else quantities.parse_lhv(lhv)
    except RegistryError as error:
        raise ProofRuleError(error.rule or error.code, index, f"lot {payload.get('lot')}: {error.detail}") from None
    mass = _kg(payload, "mass_kg", index, positive=True)
    pc = None if payload.get("pc_kg") is None else _kg(payload, "pc_kg", index)
    if pc is not None and pc > mass:
        raise ProofRuleError("R-B2", index, f"lot {payload.get('lot')}: PC part {pc} kg exceeds its mass {mass} kg")
    return _Lot(payload.get("lot"), material, status, mass, pc, fraction, lhv)


def _used_before(lot: _Lot, status: str, base: Decimal, used_after: Decimal, serial: str,
                 index: int) -> tuple[Decimal, Decimal]:
    """Bounds of the component's base mass used before this generation (R-B4)."""
    if used_after > lot.mass or used_after < base:
        raise ProofRuleError("R-B4", index, f"block {serial}: the entry says lot {lot.id} has used {used_after} kg "
                                            f"after generating from {base} kg; its logged mass is {lot.mass} kg")
    before = used_after - base
    component = lot.components()[status]
    if base > component:
        raise ProofRuleError("R-B4", index, f"block {serial}: {base} kg of base mass, lot {lot.id} has "
                                            f"{component} kg of {status}")
    if lot.pc is None:
        return before, before
    # The other component took at most its own mass; this one had room for `base` more.
    # (low <= high: base <= component and used_after <= mass, both checked above.)
    return max(ZERO, before - (lot.mass - component)), min(before, component - base)


def check_generation(lot_entry: dict, generated_entry: dict) -> Derivation:
    """Re-derive the generated block from its lot (R-L7c); raise ProofRuleError naming the rule."""
    lot_index, index = lot_entry.get("index"), generated_entry.get("index")
    lot, gen = _lot(lot_entry["payload"], lot_index), generated_entry["payload"]
    serial = gen.get("serial")
    status = gen.get("recycled_status")
    if not isinstance(status, str) or status not in lot.components():
        raise ProofRuleError("R-B2", index, f"block {serial}: lot {lot.id} has no {status!r} component")
    try:
        type_ = classification.arc_type(lot.material)  # refuses P1, P4, P5
        code = classification.arc_code(classification.parse_status(status), type_)
    except RegistryError as error:
        raise ProofRuleError(error.rule or error.code, index, f"block {serial}: {error.detail}") from None
    if (gen.get("arc_type"), gen.get("arc_code")) != (type_, code):
        raise ProofRuleError("R-K2", index, f"block {serial}: {gen.get('arc_code')!r} ({gen.get('arc_type')!r}) "
                                            f"from lot {lot.id}, whose {lot.material.id} gives {code} ({type_})")
    base = _kg(gen, "base_kg", index, positive=True)
    low_used, high_used = _used_before(lot, status, base, _kg(gen, "lot_used_kg", index), serial, index)
    facts = {"mass_kg": base, "non_plastic_fraction": lot.fraction, "lhv_mj_per_kg": lot.lhv}
    try:
        if low_used == high_used:
            low = high = quantities.generation_quantity(lot.material, used_before_kg=low_used, **facts)
        else:
            low, high = quantities.generation_quantity_range(lot.material, **facts)
    except RegistryError as error:
        raise ProofRuleError(error.rule or error.code, index, f"block {serial}: {error.detail}") from None
    quantity = _kg(gen, "quantity", index, positive=True)
    if not low <= quantity <= high:
        gives = str(low) if low == high else f"{low} to {high}"
        raise ProofRuleError("R-K4", index, f"block {serial}: {quantity} {code} from {base} kg of lot {lot.id}, "
                                            f"whose logged material ({lot.material.id}, non-plastic "
                                            f"{lot.fraction}, LHV {lot.lhv}) gives {gives} (R-K4, R-K5)")
    return Derivation(code, quantity, low, high, lot.material.id, base)


def check_proof(lineage: Sequence[dict]) -> Derivation:
    """The rules of a verified lineage (`ProvenanceReport.lineage`): its first
    entry is the lot, its second the block's generation (chainlog checked both)."""
    if len(lineage) < 2:
        raise ProofRuleError("R-L6", None, "the proof holds no generation to check")
    return check_generation(lineage[0], lineage[1])


#: What a lot's citation of a receipt restates from the receipt's entry (R-B6, R-M6).
_RESTATED = (("supplier_certificate", "supplier_certificate"), ("supplier_name", "supplier_name"),
             ("reference", "reference"), ("material_code", "material_code"), ("claim", "claim"),
             ("received_on", "on"), ("receipt", "receipt"))


def check_receipts(lot_entry: dict, upstream: Sequence[dict]) -> list[dict]:
    """R-B6, R-M6: each receipt the lot cites (``ProvenanceReport.upstream``, verified by chainlog)
    is a ``custody.input_received`` of the lot's custody account, restated unchanged in the
    citation, received on or before processing, and cited for no more than was received.
    Returns the receipts, in the lot's order."""
    lot, index = lot_entry["payload"], lot_entry["index"]
    by_index = {entry["index"]: entry for entry in upstream}
    cited = [item for item in lot.get("inputs") or () if isinstance(item, dict) and "log" in item]
    out = []
    for k, item in enumerate(cited):
        receipt = by_index.get(item["log"].get("index"))
        if receipt is None or receipt["type"] != "custody.input_received":
            raise ProofRuleError("R-M6", index, f"input {k} of lot {lot.get('reference')!r} does not cite a "
                                                "custody receipt")
        payload = receipt["payload"]
        if payload.get("account") != lot.get("custody_account"):
            raise ProofRuleError("R-M6", index, f"receipt {payload.get('receipt')} is of custody account "
                                                f"{payload.get('account')}, the lot's is {lot.get('custody_account')}")
        for mine, theirs in _RESTATED:
            if item.get(mine) != payload.get(theirs):
                raise ProofRuleError("R-B6", index, f"input {k}: {mine} {item.get(mine)!r} is not the receipt's "
                                                    f"{payload.get(theirs)!r}")
        if str(payload.get("on")) > str(lot.get("processed_on")):
            raise ProofRuleError("R-M6", index, f"receipt {payload.get('receipt')} was received on {payload['on']}, "
                                                f"after processing on {lot.get('processed_on')}")
        if _kg(item, "mass_kg", index, positive=True) > _kg(payload, "mass_kg", index, positive=True):
            raise ProofRuleError("R-M6", index, f"input {k} cites {item['mass_kg']} kg of receipt "
                                                f"{payload.get('receipt')}, which was {payload['mass_kg']} kg")
        out.append(receipt)
    return out

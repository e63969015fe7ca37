"""The replayed registry state (R-L7): what the log alone says the tables hold.

Plain dicts keyed like the live tables, quantities as `Decimal`: replay is
pure (no database), so an exported log can be replayed offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chainlog.errors import VerificationError

ZERO = Decimal("0.000")

# The block fields the log records (registry.blocks.block_payload) and the
# live column each one is compared with (registry.models.Block).
BLOCK_FIELDS = {
    "arc_code": "arc_code", "arc_type": "arc_type", "recycled_status": "recycled_status",
    "quantity": "quantity", "state": "state", "owner": "owner_id", "generator": "generator_id",
    "lot": "lot_id", "lot_reference": "lot_reference", "generation_year": "generation_year",
    "first": "first_unit", "last": "last_unit", "base_kg": "base_kg",
}
DECIMAL_FIELDS = frozenset(("quantity", "base_kg"))


def fail(index: int, message: str) -> VerificationError:
    """The log records something its own earlier entries make impossible."""
    return VerificationError(message, kind="replay_inconsistent", index=index)


def dec(index: int, value: Any, what: str) -> Decimal:
    """A quantity as the log carries it: a decimal string (R-U3), never a float."""
    if not isinstance(value, str):
        raise fail(index, f"{what} must be a decimal string, not {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise fail(index, f"{what} is not a decimal: {value!r}") from None


def block_record(index: int, payload: Any) -> dict:
    """A block's fields from its log payload, quantities as Decimal."""
    if not isinstance(payload, dict) or any(k not in payload for k in ("serial", *BLOCK_FIELDS)):
        raise fail(index, f"a block payload needs serial and {', '.join(BLOCK_FIELDS)}")
    out = {k: payload[k] for k in ("serial", *BLOCK_FIELDS)}
    for k in DECIMAL_FIELDS:
        out[k] = dec(index, payload[k], f"block {payload['serial']} {k}")
    for k in ("first", "last", "generation_year"):
        if isinstance(out[k], bool) or not isinstance(out[k], int):
            raise fail(index, f"block {payload['serial']} {k} must be an integer")
    if out["quantity"] <= 0 or out["quantity"] * 1000 != out["last"] - out["first"] + 1:
        # R-G2: a serial unit is 0.001 certificate.
        raise fail(index, f"block {payload['serial']}: quantity {out['quantity']} does not match "
                          f"its serial range {out['first']}..{out['last']}")
    return out


@dataclass
class State:
    participants: dict[int, dict] = field(default_factory=dict)
    certificates: dict[str, dict] = field(default_factory=dict)
    facilities: dict[int, dict] = field(default_factory=dict)
    lines: dict[int, dict] = field(default_factory=dict)
    determinations: dict[int, dict] = field(default_factory=dict)
    lots: dict[int, dict] = field(default_factory=dict)
    dispositions: dict[int, dict] = field(default_factory=dict)
    blocks: dict[str, dict] = field(default_factory=dict)
    # serial -> (index, leaf hash hex or None): the block's last lineage entry (R-L2b)
    lineage: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    block_determination: dict[str, int] = field(default_factory=dict)
    retirements: dict[str, dict] = field(default_factory=dict)
    # (generator, year) -> highest serial unit issued (R-G2: ranges never overlap)
    serial_high: dict[tuple[int, int], int] = field(default_factory=dict)
    entries: int = 0

    def counts(self) -> dict[str, int]:
        by_state: dict[str, int] = {}
        for b in self.blocks.values():
            by_state[b["state"]] = by_state.get(b["state"], 0) + 1
        return {
            "entries": self.entries, "participants": len(self.participants),
            "certificates": len(self.certificates), "facilities": len(self.facilities),
            "determinations": len(self.determinations), "lots": len(self.lots),
            "blocks": len(self.blocks), "retirements": len(self.retirements),
            **{f"blocks_{k}": v for k, v in sorted(by_state.items())},
        }

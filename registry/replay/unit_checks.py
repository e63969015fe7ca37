"""Replay of R-U6 (units add up): each disposition's and generation's
kilograms are re-derived from the request its entry logs (value and unit, or
none: the rest) and the lot's running pound totals, with the same function
as the service (registry.unit_totals.take). Entries written before the
request was logged (no ``requested`` member) carry kilograms only."""

from __future__ import annotations

from decimal import Decimal

from registry import unit_totals
from registry.errors import RegistryError
from registry.replay.state import broken, fail


def _request(i: int, p: dict):
    try:
        return unit_totals.from_log(p["requested"])
    except (ValueError, ArithmeticError) as error:
        raise fail(i, f"R-U6: {error}") from None


def _taken(i: int, p: dict, *, running_lb: Decimal, rest_kg: Decimal, kg: Decimal, what: str) -> Decimal:
    """The ledger's pound total after the entry; fails when the logged kilograms differ."""
    try:
        taken = unit_totals.take(_request(i, p), running_lb=running_lb, rest_kg=rest_kg)
    except RegistryError as error:
        raise broken(i, error) from None
    if taken.kg != kg:
        raise fail(i, f"R-U6: {what}: the entry takes {kg} kg, its request {p['requested']!r} gives {taken.kg} kg")
    return taken.running_lb


def disposition(i: int, p: dict, row: dict, mass: Decimal) -> None:
    """lot.disposition: the sold ledger's running pounds (``row["sold_lb"]``)."""
    if "requested" in p:
        row["sold_lb"] = _taken(i, p, running_lb=row["sold_lb"], rest_kg=row["mass_kg"] - row["sold_kg"], kg=mass,
                                what=f"lot {p.get('lot')} disposition {p.get('disposition')}")


def generation(i: int, p: dict, lot: dict, status: str, eligible_kg: Decimal | None, base_kg: Decimal) -> None:
    """block.generated: the component's running pounds (``used_lb``, ``used_pc_lb``)."""
    if "requested" not in p:
        return
    split = lot["pc_kg"] is not None
    running = unit_totals.component_lb(split=split, status=status, used_lb=lot["used_lb"],
                                       used_pc_lb=lot["used_pc_lb"])
    if eligible_kg is None:  # not a component of the lot: R-B2 is reported by the derivation check
        return
    after = _taken(i, p, running_lb=running, rest_kg=eligible_kg, kg=base_kg, what=f"block {p.get('serial')}")
    lot["used_lb"] += after - running
    if split and status == "PC":
        lot["used_pc_lb"] += after - running

"""The R-B4 account of one base material lot: what it sold, what its sales
claimed and what backs ARCs, per recycled-status component (R-B2).

Pure arithmetic on plain decimals, shared by the service (registry.lots,
registry.generation) and by replay (registry.replay), so the rule has one
home. The invariants (RMS 8.3.4.3-8.3.4.4, Example 8.1):

- for the lot: ARC mass + claimed mass <= sold-or-consumed mass <= lot mass;
- for each component c of a split lot: ARC mass(c) + claimed mass(c) <= mass(c).

A claim designates the statuses it claims (RMS 6.5.4-6.5.5): its
post-consumer part counts against the PC component, the rest against the
lesser status (PI). Nothing here is floored at zero: a negative room is an
overdraft, and a write that would make one is refused (``lot_over_allocated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from registry.errors import RuleViolation
from registry.units import format_milli

ZERO = Decimal("0.000")


@dataclass(frozen=True)
class Component:
    """One recycled-status component of a lot."""

    status: str
    mass_kg: Decimal
    claimed_kg: Decimal
    used_kg: Decimal

    @property
    def room_kg(self) -> Decimal:
        """Mass of the component neither claimed on a sale nor used for ARCs."""
        return self.mass_kg - self.claimed_kg - self.used_kg


@dataclass(frozen=True)
class LotAccount:
    status: str  # the lot's declared status (R-B2: the lesser one for an undocumented blend)
    mass_kg: Decimal
    pc_kg: Decimal | None  # the documented post-consumer part of a split lot
    sold_kg: Decimal
    claimed_kg: Decimal
    claimed_pc_kg: Decimal
    used_kg: Decimal
    used_pc_kg: Decimal

    @property
    def split(self) -> bool:
        return self.pc_kg is not None

    def components(self) -> dict[str, Component]:
        if not self.split:
            return {self.status: Component(self.status, self.mass_kg, self.claimed_kg, self.used_kg)}
        return {
            "PC": Component("PC", self.pc_kg, self.claimed_pc_kg, self.used_pc_kg),
            "PI": Component("PI", self.mass_kg - self.pc_kg, self.claimed_kg - self.claimed_pc_kg,
                            self.used_kg - self.used_pc_kg),
        }

    @property
    def sold_room_kg(self) -> Decimal:
        """R-B3/R-B4: sold-or-consumed mass not yet claimed nor used for ARCs."""
        return self.sold_kg - self.claimed_kg - self.used_kg

    def eligible_kg(self, status: str) -> Decimal:
        """Base mass component ``status`` can still back with ARCs: within the
        component, and within what was sold and not claimed."""
        return min(self.components()[status].room_kg, self.sold_room_kg)

    def total_eligible_kg(self) -> Decimal:
        """What all the components together can still back."""
        return min(sum((c.room_kg for c in self.components().values()), ZERO), self.sold_room_kg)

    def violations(self) -> list[str]:
        """Every R-B4 invariant the account breaks, in words (empty when it holds)."""
        found = []
        if self.sold_kg > self.mass_kg:
            found.append(f"{format_milli(self.sold_kg)} kg sold of a {format_milli(self.mass_kg)} kg lot")
        if self.sold_room_kg < 0:
            found.append(f"claims ({format_milli(self.claimed_kg)} kg) and ARCs ({format_milli(self.used_kg)} kg) "
                         f"exceed the {format_milli(self.sold_kg)} kg sold or consumed")
        for c in self.components().values():
            if c.room_kg < 0:
                found.append(f"{c.status}: claims ({format_milli(c.claimed_kg)} kg) and ARCs "
                             f"({format_milli(c.used_kg)} kg) exceed the {format_milli(c.mass_kg)} kg component")
        return found

    def require_invariants(self, *, field: str | None = None) -> None:
        """Refuse the write that produced this account if it breaks R-B4."""
        found = self.violations()
        if found:
            raise RuleViolation("no double counting (RMS 8.3.4.3-8.3.4.4): " + "; ".join(found),
                                field=field, code="lot_over_allocated", rule="R-B4")

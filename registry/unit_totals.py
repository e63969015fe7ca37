"""R-U6 **Units add up**: requests against one lot in a unit whose
conversion rounds (lb: 1 lb = 0.45359237 kg, to the gram) are converted as a
running total, once: a request of v lb after T lb takes
kg(T + v) - kg(T). The kilograms of a sequence of requests in pounds are
then kg(sum) -- exactly the lot's mass when the sum is the lot's mass in
pounds (100 lb = 45.359 kg sells as 22.680 + 22.679), and the last request
takes the rounding remainder. kg and t convert exactly (t has at most 6
decimals), so their requests need no running total. A request that omits
its mass takes exactly what is left.

The running totals (pounds requested so far) are kept per ledger of a lot:
its dispositions (``sold_lb``) and its generations per recycled-status
component (``used_lb``, of which ``used_pc_lb`` for the PC part of a split
lot, like ``used_kg``/``used_pc_kg``). They only grow: a cancellation (R-E5)
returns kilograms, not pounds (docs/decisions.md). Pure, shared by the
service (registry.lots, registry.generation) and replay (registry.replay),
which re-derives every request's kilograms from the logged request.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from registry.errors import InvalidInput
from registry.units import PLACES, UNITS, MassRequest, has_at_most, to_kg

ZERO = Decimal("0.000")
RUNNING = "lb"  # the one unit whose conversion rounds


@dataclass(frozen=True)
class Take:
    """What one request takes: its kilograms, and the ledger's pound total after it."""

    kg: Decimal
    running_lb: Decimal


def take(request: MassRequest | None, *, running_lb: Decimal, rest_kg: Decimal, field: str = "mass") -> Take:
    """The kilograms a request takes from a ledger that has seen ``running_lb``
    pounds and has ``rest_kg`` left (R-U6). Omitted (None): exactly the rest.
    Refuses a request in pounds that adds no whole gram to the running total
    (InvalidInput ``must_be_positive``); whether the kilograms fit is the
    caller's rule (R-B3, R-B4), checked on the result: nothing is clamped."""
    if request is None:
        return Take(rest_kg, running_lb)
    if request.unit != RUNNING:
        return Take(request.kg, running_lb)
    after = running_lb + request.value
    kg = to_kg(after, RUNNING) - to_kg(running_lb, RUNNING)
    if kg <= 0:
        raise InvalidInput(f"{request.value} lb after the {running_lb} lb already requested from this lot adds "
                           "less than a gram", field=f"{field}.value", code="must_be_positive", rule="R-U6")
    return Take(kg, after)


def component_lb(*, split: bool, status: str, used_lb: Decimal, used_pc_lb: Decimal) -> Decimal:
    """The pounds generated so far from one component of a lot (its ledger)."""
    if not split:
        return used_lb
    return used_pc_lb if status == "PC" else used_lb - used_pc_lb


def logged(request: MassRequest | None) -> dict | None:
    """The request as a log entry records it (None: the rest was taken)."""
    return None if request is None else request.to_log()


def from_log(raw: Any) -> MassRequest | None:
    """A logged request back (replay); raises ValueError when malformed."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("unit") not in UNITS or not isinstance(raw.get("value"), str):
        raise ValueError(f"a logged mass request is {{'value': '<decimal>', 'unit': kg | t | lb}}, not {raw!r}")
    value = Decimal(raw["value"])
    places = PLACES + 3 if raw["unit"] == "t" else PLACES
    if not value.is_finite() or value <= 0 or not has_at_most(value, places):
        raise ValueError(f"a logged mass request of {raw['value']} {raw['unit']} is not a mass")
    return MassRequest(value, raw["unit"])

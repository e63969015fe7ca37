"""First-in-first-out credit over running sums (R-M4; RMS 6.4.4.6; Carbon Trust).

Per recycled status an account keeps two cumulative sums: ``credited`` (all
credit ever received) and ``drawn`` (all credit ever consumed by claims or
expired). Receipts carry the cumulative credit through them (``cum``), in
receipt order. First in, first out means the credit consumed so far is the
first ``drawn`` kilograms of that sequence; credit of a receipt is expired
once its ``expires_on`` has come, so on a day ``d`` everything up to ``due``
(the cumulative credit through the last receipt expiring on or before ``d``)
is gone whether used or not. Then:

* balance = credited − max(drawn, due), never negative (it is refused before);
* expiry on ``d`` = max(0, due − drawn) — an amount to expire, not a balance (see
  ``expiring``) — which moves ``drawn`` to ``due``;
* a claim draws from ``drawn`` onwards and needs balance ≥ what it draws.

Pure: the services feed it the account's sums and one indexed read of
``due``; replay feeds it the sums it rebuilt from the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from registry.custody.rules import STATUSES, ZERO, zeros
from registry.errors import RuleViolation

#: The credit a claimed status may draw on, its own first (RMS 5.1.2.3: a status is kept or lowered).
SERVES = {"PC": ("PC",), "PI": ("PI", "PC"), "R": ("R", "PI", "PC")}


def expiring(due: Mapping[str, Decimal], drawn: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Credit that expires now: per status, what is due and was never drawn.

    The floor at zero is an amount to expire, not a balance: drawn > due means the draws (first in,
    first out) already used everything due, so nothing expires. It hides no overdraft: a draw beyond
    the credit is refused (`plan`, ``insufficient_credit``) and replay reports a negative balance."""
    return {s: max(ZERO, due[s] - drawn[s]) for s in STATUSES}


def balance(credited: Mapping[str, Decimal], drawn: Mapping[str, Decimal],
            due: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
    """Credit left per status after what is due to expire."""
    due = due or zeros()
    return {s: credited[s] - max(drawn[s], due[s]) for s in STATUSES}


def plan(claimed: Mapping[str, Decimal], available: Mapping[str, Decimal], *,
         field: str = "claim") -> dict[str, Decimal]:
    """Which status's credit a claim draws, per status (PC first, then PI, then
    R; each from its own status first, then higher ones). Refuses with
    ``insufficient_credit`` (R-M4) when the credit is not there: the balance is
    never negative, at any moment."""
    left = dict(available)
    draws = zeros()
    for status in ("PC", "PI", "R"):
        need = claimed[status]
        for source in SERVES[status]:
            take = min(need, max(ZERO, left[source]))
            draws[source] += take
            left[source] -= take
            need -= take
        if need > 0:
            total = sum((claimed[s] for s in STATUSES), ZERO)
            have = sum((max(ZERO, available[s]) for s in SERVES[status]), ZERO)
            raise RuleViolation(f"the claim needs {total} kg of certified credit ({claimed[status]} kg {status} or "
                                f"better), the account has {have} kg: no overdraft (RMS 6.4.4.6)",
                                field=field, code="insufficient_credit", rule="R-M4")
    return draws

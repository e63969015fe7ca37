"""What a verification reports (R-L7), and the integrity-only check of an export.

Kept apart from `registry.verification` (the replay, the live tables) so that
`arcreg verify-log --integrity-only` needs nothing but chainlog to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chainlog.errors import VerificationError
from chainlog.keys import Verifier
from chainlog.verify import verify_export


@dataclass
class Report:
    ok: bool
    size: int = 0
    checkpoints: int = 0
    signed_size: int = 0
    root_hex: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    error: VerificationError | None = None
    # R-L7c: every entry that breaks a rule (replay goes on after one), in log order
    findings: list[VerificationError] = field(default_factory=list)

    def failure(self) -> str:
        """`FAILED: <kind> at index <i>: <why>` (SPEC §13.2), or "" when ok; then one
        line per further rule finding, so an administrator sees all of them."""
        if self.error is None:
            return ""
        lines = [f"FAILED: {self.error.kind}{_at(self.error)}: {Exception.__str__(self.error)}"]
        others = [f for f in self.findings if f is not self.error]
        lines += [f"  also{_at(f)}: {Exception.__str__(f)}" for f in others]
        return "\n".join(lines)


def _at(error: VerificationError) -> str:
    return "" if error.index is None else f" at index {error.index}"


def check_integrity(lines, verifiers: Sequence[Verifier | str]) -> Report:
    """chainlog's integrity-only verification of export `lines` (R-L7's log checks: chain, Merkle root,
    checkpoints and their consistency), without the replay and the per-entry RFC 8785 form check."""
    try:
        result = verify_export(lines, verifiers, check_form=False)
    except VerificationError as exc:
        return Report(ok=False, error=exc)
    return Report(ok=True, size=result.size, checkpoints=result.checkpoints, signed_size=result.signed_size,
                  root_hex=result.root_hex)

"""Is a proof still current? A proof's checkpoint against a newer one (R-L3, R-L4).

A provenance proof shows a block's state as of the tree size of its
checkpoint, and nothing later. Given a newer signed checkpoint of the same log
(and, when the log has grown, an RFC 9162 consistency proof between the two
sizes, ``GET /log/proof/consistency?first=m&second=n``), this says one of:

* same size and root: the proof's checkpoint *is* the newer one, so the state
  it shows is current as of the newer checkpoint;
* the log grew consistently from m to n: nothing in the proof was rewritten,
  but the entries m..n-1 are not in it and may change the block's state (a
  transfer, a retirement, an expiry) -- only a fresh proof can say;
* anything else is a VerificationError: another origin or key, an
  inconsistent history (a fork: the log was rewritten), or a newer checkpoint
  that is in fact older (kind ``older_checkpoint``, a caller's mistake).

Pure: no database, no network; the caller fetches the files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import merkle
from .checkpoint import Checkpoint, open_checkpoint
from .errors import VerificationError
from .keys import Verifier

_HEX32 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Freshness:
    proof_size: int
    newer_size: int

    @property
    def current(self) -> bool:
        return self.proof_size == self.newer_size

    def summary(self) -> str:
        if self.current:
            return (f"CURRENT: the newer checkpoint is the proof's own (size {self.newer_size}): "
                    f"the state shown is current as of it")
        return (f"NOT SHOWN CURRENT: the log grew consistently from size {self.proof_size} to "
                f"{self.newer_size}; entries {self.proof_size}..{self.newer_size - 1} may change the "
                f"block's state -- fetch a fresh proof")


def consistency_url(first: int, second: int) -> str:
    return f"/api/v1/log/proof/consistency?first={first}&second={second}"


def _hashes(consistency: Any, first: int, second: int) -> list[bytes]:
    """The hashes of a ``GET /log/proof/consistency`` answer for exactly first -> second."""
    if not isinstance(consistency, dict) or not isinstance(consistency.get("hashes"), list):
        raise VerificationError("consistency proof must be an object {first, second, hashes}", kind="malformed")
    for key, want in (("first", first), ("second", second)):
        got = consistency.get(key)
        if isinstance(got, bool) or got != want:
            raise VerificationError(f"consistency proof is for {key} = {got!r}; need {want}: fetch "
                                    f"{consistency_url(first, second)}", kind="malformed")
    if not all(isinstance(h, str) and _HEX32.fullmatch(h) for h in consistency["hashes"]):
        raise VerificationError("consistency proof hashes must be 64 lowercase hex digits", kind="malformed")
    return [bytes.fromhex(h) for h in consistency["hashes"]]


def check_freshness(proof_checkpoint: Checkpoint, newer_note: str, verifiers: Sequence[Verifier],
                    consistency: Any = None) -> Freshness:
    """Compare the proof's checkpoint with a newer signed one; raise VerificationError
    (kinds ``malformed``, ``unverified``, ``bad_signature``, ``root_mismatch``,
    ``bad_proof``, ``older_checkpoint``, ``consistency_required``) if they cannot be
    reconciled."""
    newer = open_checkpoint(newer_note, verifiers, origin=proof_checkpoint.origin)
    first, second = proof_checkpoint.size, newer.size
    if second < first:
        raise VerificationError(f"the newer checkpoint has size {second}, the proof's {first}: "
                                f"give the registry's latest (GET /api/v1/log/checkpoint)", kind="older_checkpoint")
    if second == first:
        hashes = [] if consistency is None else _hashes(consistency, first, second)
    elif consistency is None:
        raise VerificationError(f"the log grew from {first} to {second}: a consistency proof is needed, "
                                f"{consistency_url(first, second)}", kind="consistency_required")
    else:
        hashes = _hashes(consistency, first, second)
    try:
        merkle.verify_consistency(first, second, proof_checkpoint.root, newer.root, hashes)
    except VerificationError as exc:
        raise VerificationError(f"the newer checkpoint is not an extension of the proof's (a rewritten "
                                f"log?): {exc}", kind=exc.kind) from None
    return Freshness(first, second)

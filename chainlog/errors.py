"""The chainlog error hierarchy.

One base class, `ChainlogError`, so a caller can catch everything this library
raises; `VerificationError` for anything that fails a cryptographic or
structural check (python-tuf style: one error a verifier has to handle).
"""

from __future__ import annotations


class ChainlogError(Exception):
    """Base class of every error raised by chainlog."""


class PayloadError(ChainlogError, ValueError):
    """An entry field or payload is not acceptable log content.

    Raised before anything is written: floats and Decimals (R-U3: quantities
    travel as strings), non-string keys, naive datetimes, integers outside the
    range JSON can carry exactly (RFC 8785 §3.2.2.3).
    """


class RangeError(ChainlogError, ValueError):
    """An index or tree size outside the log (or a malformed proof request)."""


class KeyFileError(ChainlogError):
    """A signing key file or variable is missing, unreadable, or unsafe (R-L5)."""


class VerificationError(ChainlogError):
    """A proof, signature, note, checkpoint or exported log failed verification.

    `kind` is a short stable string a caller can switch on; `index` is the first
    bad log index when the failure is about one entry of a log, else None.
    Messages state what was expected and what was computed.

    Kinds used by this library:

    - ``root_mismatch``: a proof does not lead to the expected root.
    - ``bad_proof``: a proof has the wrong shape (length, hash size, sizes).
    - ``malformed``: text that does not parse (note, checkpoint, vkey, line).
    - ``bad_signature``: a signature by a known key does not verify.
    - ``unverified``: no signature by a trusted key.
    - ``payload_changed``: an entry's fields differ from its hashed bytes.
    - ``not_canonical``: the hashed bytes are not RFC 8785 canonical JSON.
    - ``leaf_mismatch`` / ``chain_broken``: a stated hash is not the hash
      recomputed from the entry bytes (R-L3 leaf hash / R-L2 chain hash).
    - ``entry_missing`` / ``entries_reordered``: index continuity is broken.
    - ``inconsistent_checkpoint``: a checkpoint disagrees with the log
      (root or size), or with an earlier checkpoint (R-L4).
    - ``bad_rotation``: a ``key.rotated`` entry does not verify (R-L5).
    """

    def __init__(self, message: str, *, kind: str = "root_mismatch", index: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.index = index

    def __str__(self) -> str:  # the index is part of what a reader needs to see
        base = super().__str__()
        return base if self.index is None else f"entry {self.index}: {base}"

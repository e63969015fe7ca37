"""chainlog: a self-contained transparency log (SPEC §12, R-L1..R-L9).

Modules, pure unless noted:

- `canonical`  RFC 8785 entry bytes, time text (R-L1)
- `chain`      hash chain and lineage links (R-L2, R-L2b)
- `merkle`     RFC 9162 tree hashes, inclusion/consistency proofs and their verification (R-L3)
- `compact`    incremental Merkle root in O(log n) memory
- `keys`       Ed25519 signers, signed-note verifier keys, key files, key rotation (R-L5)
- `note`       C2SP signed-note
- `checkpoint` C2SP tlog-checkpoint and tlog-cosignature (R-L4, R-L9)
- `schema`     the log's tables and append-only triggers (R-L8)           [SQLAlchemy]
- `tree`       the stored Merkle tree: O(log n) subtree reads for roots and proofs [database IO]
- `store`      append / entries / roots / proofs / checkpoints in the caller's transaction [database IO]
- `export`     JSON-lines export of a stored log                          [database IO]
- `verify`     offline verification of an export (R-L7)

It imports nothing from the registry or the API.
"""

from .errors import ChainlogError, KeyFileError, PayloadError, RangeError, VerificationError

__all__ = ["ChainlogError", "KeyFileError", "PayloadError", "RangeError", "VerificationError"]

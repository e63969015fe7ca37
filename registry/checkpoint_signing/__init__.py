"""Checkpoint signing that no writer or reader waits on (R-L4, R-L4b).

- `sign.sign_tree`: read the tree head in a short read-only transaction, sign
  outside any transaction, store idempotently in a short write of one row.
  Reads that want a fresh checkpoint call it (``registry.transparency``).
- `lock.SignerLock`: at most one eager signer at a time, across the server's
  worker processes (PostgreSQL advisory lock, a lock file next to SQLite).
- `eager.EagerSigner`: a thread in every served worker that polls the tree size
  every half second and signs when it grew, whether or not anyone reads.
"""

from registry.checkpoint_signing.eager import EagerSigner
from registry.checkpoint_signing.lock import SignerLock
from registry.checkpoint_signing.sign import sign_tree, tree_grown, unsigned_size

__all__ = ["EagerSigner", "SignerLock", "sign_tree", "tree_grown", "unsigned_size"]

"""Incremental Merkle root with O(log n) memory: a compact range [0, n).

The tree of n leaves is the right fold of its complete aligned subtrees, one
per set bit of n (RFC 9162 §2.1.1 splits at the largest power of two). Keeping
only those subtree roots lets a streaming verifier rebuild the root of a log
of any length while holding at most ~64 hashes, and every interior hash is
computed exactly once (n-1 in total, the same work as building the tree).
"""

from __future__ import annotations

import hashlib

from .merkle import EMPTY_ROOT

_sha256 = hashlib.sha256
_NODE = b"\x01"


class CompactRange:
    """The roots of the complete subtrees covering leaves [0, size), largest first."""

    __slots__ = ("size", "_hashes")

    def __init__(self) -> None:
        self.size = 0
        self._hashes: list[bytes] = []

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf; merge equal-sized subtrees like a binary carry."""
        h = leaf_hash
        hashes = self._hashes
        carry = self.size  # each trailing 1 bit of the old size is a merge
        while carry & 1:
            h = _sha256(_NODE + hashes.pop() + h).digest()
            carry >>= 1
        hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        acc = hashes[-1]
        for h in reversed(hashes[:-1]):
            acc = _sha256(_NODE + h + acc).digest()
        return acc

    def subtree_hashes(self) -> list[bytes]:
        """A copy of the subtree roots (largest first); len == popcount(size)."""
        return list(self._hashes)

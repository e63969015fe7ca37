"""Hash chain (R-L2) and lineage links (R-L2b). Pure functions, no IO."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from .errors import PayloadError, VerificationError

#: Entry 0 chains from 32 zero bytes (R-L2).
GENESIS_HASH = bytes(32)

_HEX32 = re.compile(r"[0-9a-f]{64}")


def chain_hash(prev_entry_hash: bytes, canonical: bytes) -> bytes:
    """entry_hash = SHA-256(prev_entry_hash ‖ canonical entry bytes) (R-L2)."""
    if len(prev_entry_hash) != 32:
        raise ValueError(f"previous entry hash must be 32 bytes, got {len(prev_entry_hash)}")
    return hashlib.sha256(prev_entry_hash + canonical).digest()


def lineage_link(index: int, leaf_hash: bytes) -> dict[str, Any]:
    """The ``prev`` member of a block entry's payload (R-L2b): ``{index, leaf_hash}``.

    The leaf hash is lowercase hex, the form used everywhere a hash is JSON.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise PayloadError(f"lineage index must be a non-negative integer, not {index!r}")
    if not isinstance(leaf_hash, (bytes, bytearray)) or len(leaf_hash) != 32:
        raise PayloadError("lineage leaf_hash must be 32 bytes")
    return {"index": index, "leaf_hash": bytes(leaf_hash).hex()}


def parse_lineage_link(link: Any) -> tuple[int, bytes]:
    """Read a ``prev`` link back as (index, leaf hash bytes); VerificationError if malformed."""
    if (
        not isinstance(link, Mapping)
        or set(link) != {"index", "leaf_hash"}
        or isinstance(link["index"], bool)
        or not isinstance(link["index"], int)
        or link["index"] < 0
        or not isinstance(link["leaf_hash"], str)
        or not _HEX32.fullmatch(link["leaf_hash"])
    ):
        raise VerificationError(
            f"lineage link must be {{index, leaf_hash: 64 lowercase hex}}, got {link!r}",
            kind="malformed",
        )
    return link["index"], bytes.fromhex(link["leaf_hash"])


def verify_lineage_link(link: Any, *, index: int, leaf_hash: bytes) -> None:
    """Check that a ``prev`` link names the entry (index, leaf_hash); raise VerificationError if not.

    A follower of R-L2b links calls this with the entry it fetched (and whose
    inclusion it verified) for ``link["index"]``.
    """
    got_index, got_hash = parse_lineage_link(link)
    if got_index != index or got_hash != leaf_hash:
        raise VerificationError(
            f"lineage link expected entry {index} with leaf hash {leaf_hash.hex()}, "
            f"link names entry {got_index} with leaf hash {got_hash.hex()}",
            kind="chain_broken",
            index=index,
        )

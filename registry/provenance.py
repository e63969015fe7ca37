"""A block's provenance proof (R-L6): its lineage entries from ``lot.registered``
to its current state, each with an inclusion proof against one signed checkpoint.

The lineage is found by following the log's own ``prev`` links (R-L2b), not the
``blocks`` table, so what we serve is exactly what a verifier will follow
(`chainlog.provenance.verify_provenance`).
"""

from __future__ import annotations

import chainlog.store
from chainlog import merkle, tree
from chainlog.keys import Signer
from sqlmodel import select

from registry import transparency
from registry.blocks import get_block
from registry.db import UnitOfWork
from registry.models import Block


def _lineage(uow: UnitOfWork, index: int) -> list[chainlog.store.StoredEntry]:
    """Entries from `index` back to the ``lot.registered`` its ``prev`` links reach, newest first."""
    out = []
    while True:
        entry = chainlog.store.entry(uow.session, index)
        out.append(entry)
        prev = entry.payload.get("prev")
        if entry.type == "lot.registered" or prev is None:
            return out
        index = prev["index"]


def _head(uow: UnitOfWork, block: Block) -> int:
    """The log index of the block's current state.

    A split parent keeps the index of its last own entry (`blocks.split`
    stamps only the parts), so its current state — split — is the entry that
    names it as ``parent``: found on the lineage of one of its parts.
    """
    if block.state != "split":
        return block.log_index
    part = uow.session.exec(select(Block).where(Block.parent_serial == block.serial).limit(1)).first()
    index = part.log_index
    while True:
        entry = chainlog.store.entry(uow.session, index)
        if entry.payload.get("parent") == block.serial:
            return index
        index = entry.payload["prev"]["index"]


def _proofs(uow: UnitOfWork, indexes: list[int], size: int) -> list[list[bytes]]:
    """Inclusion proofs of several entries in one read of the stored tree (R-L3):
    O(depth × log n) hashes, one query."""
    plans = [merkle.inclusion_ranges(i, size) for i in indexes]
    hashes = tree.range_hashes(uow.session, [r for plan in plans for r in plan], size, "inclusion proof")
    out, at = [], 0
    for plan in plans:
        out.append(hashes[at:at + len(plan)])
        at += len(plan)
    return out


def provenance(uow: UnitOfWork, signer: Signer, origin: str, serial: str) -> dict:
    """The provenance proof of `serial` (R-L6), the JSON of ``GET /blocks/{serial}/provenance``.

    Reads the block before signing: every entry it points at is then inside
    the checkpoint. The caller commits (a new checkpoint may have been signed).
    """
    block = get_block(uow, serial)
    head = _head(uow, block)
    checkpoint = transparency.current_checkpoint(uow, signer, origin)
    entries = list(reversed(_lineage(uow, head)))
    proofs = _proofs(uow, [e.index for e in entries], checkpoint.size)
    return {
        "checkpoint": checkpoint.note,
        "serial": serial,
        "entries": [{"index": e.index, "canonical": e.canonical, "hashes": [h.hex() for h in proof]}
                    for e, proof in zip(entries, proofs, strict=True)],
    }

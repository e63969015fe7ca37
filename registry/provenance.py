"""A block's provenance proof (R-L6): its lineage entries from ``lot.registered``
to its current state, each with an inclusion proof against one signed checkpoint.

The lineage is found by following the log's own ``prev`` links (R-L2b), not the
``blocks`` table, so what we serve is exactly what a verifier will follow
(`chainlog.provenance.verify_provenance`).

Cost (R-X6): the walk is one recursive query per page (the database follows
the ``prev`` links), the inclusion proofs of a page one more, and nothing is
locked: the caller's unit of work only reads, and the checkpoint is signed,
if the tree grew, outside it (`registry.transparency.current_checkpoint`).
The page that reaches ``lot.registered`` also carries ``upstream``: the
entries the lot cites (its custody receipts, R-M6), each with its inclusion
proof, so the proof reaches back to the supplier's receipt and certificate.
A lineage longer than ``limit`` entries is served in pages, newest first:
each page carries ``next`` (``from_index``, ``size``) naming where the older
part of the walk continues and the checkpoint size every page is proven
against; a client joins the pages (`chainlog.provenance.join_pages`) into
the one proof that ``arcreg verify-proof`` checks.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlmodel import select

import chainlog.store
from chainlog import merkle, tree
from chainlog.keys import Signer
from chainlog.upstream import upstream_links
from chainlog.schema import dialect_of
from registry import transparency
from registry.blocks import get_block
from registry.db import UnitOfWork
from registry.errors import InvalidInput, NotFound
from registry.models import Block

#: Entries per page of a provenance proof: the default and the most a client may ask for (R-X6).
PAGE_LIMIT = 500

# The lineage walk in one query: from an entry, follow payload.prev.index until
# lot.registered (or an entry without a link), at most :limit + 1 entries
# (the one past the limit tells the caller where the next page starts).
_PREV = {
    "postgresql": "(e.canonical::json #>> '{payload,prev,index}')::bigint",
    "sqlite": "json_extract(e.canonical, '$.payload.prev.index')",
}
_WALK = """
WITH RECURSIVE lineage(idx, depth) AS (
    SELECT CAST(:start AS BIGINT), 0
    UNION ALL
    SELECT {prev}, lineage.depth + 1
    FROM lineage JOIN log_entries e ON e."index" = lineage.idx
    WHERE lineage.depth < :limit AND e.type <> 'lot.registered' AND {prev} IS NOT NULL
)
SELECT e."index", e.canonical
FROM lineage JOIN log_entries e ON e."index" = lineage.idx
ORDER BY lineage.depth
"""


def _walk(uow: UnitOfWork, start: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit + 1`` (index, canonical text) of the lineage walk from `start` back, newest first."""
    sql = text(_WALK.format(prev=_PREV[dialect_of(uow.session)]))
    rows = uow.session.execute(sql, {"start": start, "limit": limit})
    return [(int(index), canonical) for index, canonical in rows]


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
        walked = _walk(uow, index, PAGE_LIMIT)
        for at, canonical in walked:
            if json.loads(canonical)["payload"].get("parent") == block.serial:
                return at
        if len(walked) <= PAGE_LIMIT:
            raise NotFound(f"the log holds no split of block {block.serial}", code="block_not_found")
        index = walked[-1][0]


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


def _continued_checkpoint(uow: UnitOfWork, size: int | None, from_index: int) -> chainlog.store.StoredCheckpoint:
    """The stored checkpoint a continuation page is proven against."""
    if size is None:
        raise InvalidInput("a continuation needs the size of the first page's checkpoint", field="size",
                           code="invalid_range", rule="R-L6")
    checkpoint = chainlog.store.checkpoint_at(uow.session, size)
    if checkpoint is None:
        raise InvalidInput(f"no checkpoint of size {size} is stored", field="size", code="invalid_range",
                           rule="R-L6")
    if from_index >= size:
        raise InvalidInput(f"entry {from_index} is not inside the checkpoint of size {size}", field="from_index",
                           code="invalid_range", rule="R-L6")
    return checkpoint


def plan(uow: UnitOfWork, signer: Signer, origin: str, serial: str, *, limit: int = PAGE_LIMIT,
         from_index: int | None = None, size: int | None = None) -> tuple[int, chainlog.store.StoredCheckpoint]:
    """Where a page of `serial`'s provenance starts and the checkpoint it is proven against.

    The first page (no `from_index`) starts at the block's current state and is
    proven against a checkpoint covering every entry the unit of work sees (the
    block is read first, so every entry it points at is inside it). A
    continuation (`from_index` and `size` from the previous page's ``next``)
    starts at `from_index`, against the stored checkpoint of `size`. The page
    for a (serial, start, checkpoint size, limit) never changes: the log is
    append-only, so a caller may keep it.
    """
    if not 1 <= limit <= PAGE_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {PAGE_LIMIT}", field="limit", code="invalid_range")
    block = get_block(uow, serial)
    if from_index is None:
        return _head(uow, block), transparency.current_checkpoint(uow, signer, origin)
    return from_index, _continued_checkpoint(uow, size, from_index)


def page(uow: UnitOfWork, serial: str, start: int, checkpoint: chainlog.store.StoredCheckpoint,
         limit: int = PAGE_LIMIT) -> dict:
    """The `limit` lineage entries from `start` back, oldest first, each with its
    inclusion proof against `checkpoint`; ``next`` is None on the page that
    reaches ``lot.registered``. Two queries, no lock (R-X6)."""
    walked = _walk(uow, start, limit)
    more = walked[limit] if len(walked) > limit else None
    entries = list(reversed(walked[:limit]))
    upstream = [] if more is not None else _upstream(uow, entries[0][1])
    proofs = _proofs(uow, [index for index, _ in entries + upstream], checkpoint.size)
    items = [{"index": index, "canonical": canonical, "hashes": [h.hex() for h in proof]}
             for (index, canonical), proof in zip(entries + upstream, proofs, strict=True)]
    out = {"checkpoint": checkpoint.note, "serial": serial, "entries": items[:len(entries)]}
    if upstream:
        out["upstream"] = items[len(entries):]
    out["next"] = None if more is None else {"from_index": more[0], "size": checkpoint.size}
    return out


def _upstream(uow: UnitOfWork, lot_canonical: str) -> list[tuple[int, str]]:
    """The entries the lot entry cites (its custody receipts, R-M6), on the page that reaches the lot:
    the proof reaches back to each receipt and its supplier's certificate. One query."""
    links = upstream_links(json.loads(lot_canonical)["payload"])
    found = {e.index: e.canonical for e in chainlog.store.entries_at(uow.session, [i for i, _ in links])}
    return [(index, found[index]) for index, _ in links]


def provenance(uow: UnitOfWork, signer: Signer, origin: str, serial: str, *, limit: int = PAGE_LIMIT,
               from_index: int | None = None, size: int | None = None) -> dict:
    """The provenance proof of `serial` (R-L6), the JSON of ``GET /blocks/{serial}/provenance``:
    one page (`plan`, `page`). Takes no lock (R-X6)."""
    start, checkpoint = plan(uow, signer, origin, serial, limit=limit, from_index=from_index, size=size)
    return page(uow, serial, start, checkpoint, limit)

"""Offline verification of a block's provenance proof (R-L6). Pure: no database.

A proof is the JSON of ``GET /blocks/{serial}/provenance``::

    {"checkpoint": <signed note>, "serial": <serial>,
     "entries": [{"index", "canonical", "hashes": [hex, ...]}, ...]}

`verify_provenance` trusts only the verifier keys it is given. In order:

1. the checkpoint note is signed by a trusted key (R-L4);
2. each entry's leaf hash, computed from its canonical bytes, is included in
   the checkpoint's tree at the stated index (R-L3) — checked on the raw
   bytes first, so any changed byte fails here, whatever it parses to;
3. the canonical text is RFC 8785 JSON of the entry at that index (R-L1);
4. the lineage links connect (R-L2b): the first entry is ``lot.registered``,
   every later one names the previous one in ``payload.prev``;
5. the block followed is conserved (R-T2): a split's parts are adjacent,
   exactly cover the parent's serial range, and add up to its quantity and
   base mass; an entry about one block restates it unchanged; and the block
   followed at the end is `serial`;
6. upstream: every earlier entry the lot entry links to (an input's ``log``
   link ``{index, leaf_hash}``: a custody receipt, R-M6) is in the proof's
   ``upstream`` list, included in the checkpoint, and is the entry linked
   (its leaf hash); the list holds nothing else.

Entry types are read generically: an entry whose payload names a ``parent``
is a split (its parts are the payload members that describe a block:
``serial``, ``quantity``, ``first``, ``last``); any other block entry
describes its block in the payload itself (``block_payload`` fields).

Kinds raised besides merkle/checkpoint ones (``malformed``, ``bad_signature``,
``unverified``, ``root_mismatch``, ``bad_proof``): ``payload_changed``,
``not_canonical``, ``chain_broken``, ``lot_mismatch``, ``field_changed``,
``quantity_mismatch``, ``serial_mismatch``, ``upstream_missing``.

Every block description must also hold a known ``state`` (`BLOCK_STATES`) and
``owner``, ``generator``, ``lot`` and ``generation_year`` that are integers
in 1..2^31-1 (the id columns; never a boolean); identifiers are compared by JSON type and value, so a
signed ``true`` is never lot 1 (Python's ``True == 1``).

The report carries the verified checkpoint and lineage (not compared: they are
evidence, not findings) for callers that check more — the registry's rules
(`registry.proof_rules`) or a newer checkpoint (`chainlog.freshness`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from . import _json, merkle
from .canonical import is_canonical_of
from .chain import parse_lineage_link
from .checkpoint import Checkpoint, open_checkpoint
from .errors import VerificationError
from .keys import Verifier
from .upstream import match_upstream

_HEX32 = re.compile(r"[0-9a-f]{64}")
#: Members a split never changes: the part is the same certificate, fewer serials (R-T2).
_INHERITED = ("arc_code", "arc_type", "recycled_status", "generator", "lot", "lot_reference", "generation_year")
UNITS = 1000  # serial units per certificate (R-G2)
#: States a block description may hold (R-T1); "split" is reported, never logged.
BLOCK_STATES = ("active", "offered", "retired", "expired", "forfeited", "cancelled")
#: States in which a block's lineage goes on: an active block moves or changes; an offered one (held for
#: its recipient, R-T6) only changes as a whole -- back to active (accepted, rejected, withdrawn, lapsed)
#: or expired -- never splits.
_LIVE = ("active", "offered")
#: Members that are registry ids (or the year): positive integers of the 32-bit id columns.
_IDS = ("owner", "generator", "lot", "generation_year")
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class ProvenanceReport:
    serial: str
    lot_reference: str
    generator: Any
    entries: int
    state: str
    owner: Any
    quantity: str
    checkpoint_size: int
    origin: str
    #: The checkpoint the proof is against, and the verified entries oldest first.
    checkpoint: Checkpoint = field(compare=False, repr=False, default=None)
    lineage: tuple[dict, ...] = field(compare=False, repr=False, default=())
    #: The verified entries the lot links to (its cited receipts), in the lot's order.
    upstream: tuple[dict, ...] = field(compare=False, repr=False, default=())


def _fail(kind: str, index: int | None, message: str) -> VerificationError:
    return VerificationError(message, kind=kind, index=index)


def _is_id(value: Any) -> bool:
    """A positive integer that fits the registry's id columns; JSON ``true`` is not one."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_ID


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``true`` is not ``1``, nor ``1`` the string ``"1"``."""
    return type(a) is type(b) and a == b


def _shape(proof: Any) -> tuple[str, list[tuple[int, bytes, list[bytes]]]]:
    """The proof's parts as (checkpoint note, [(index, canonical bytes, hashes)])."""
    if not isinstance(proof, dict) or not isinstance(proof.get("checkpoint"), str):
        raise _fail("malformed", None, "proof must be an object with a checkpoint note")
    raw = proof.get("entries")
    if not isinstance(raw, list) or not raw:
        raise _fail("malformed", None, "proof must hold a non-empty list of entries")
    return proof["checkpoint"], _items(raw)


def _items(raw: list) -> list[tuple[int, bytes, list[bytes]]]:
    out = []
    for pos, item in enumerate(raw):
        index = item.get("index") if isinstance(item, dict) else None
        where = index if isinstance(index, int) and not isinstance(index, bool) else None
        if (where is None or index < 0 or not isinstance(item.get("canonical"), str)
                or not isinstance(item.get("hashes"), list)
                or not all(isinstance(h, str) and _HEX32.fullmatch(h) for h in item["hashes"])):
            raise _fail("malformed", where, f"entry #{pos} must be {{index, canonical, hashes: [64 hex]}}")
        try:
            data = item["canonical"].encode("utf-8")
        except UnicodeError:
            raise _fail("malformed", index, "canonical text is not valid Unicode") from None
        out.append((index, data, [bytes.fromhex(h) for h in item["hashes"]]))
    return out


def _entry(index: int, data: bytes) -> dict:
    """The hashed entry object, checked to be the RFC 8785 form of an entry at `index` (R-L1)."""
    try:
        obj = _json._std_loads(data)
    except (ValueError, UnicodeError):
        raise _fail("not_canonical", index, "canonical text is not JSON") from None
    if not is_canonical_of(obj, data):
        raise _fail("not_canonical", index, "canonical text is not RFC 8785 canonical JSON")
    if (not isinstance(obj, dict) or set(obj) != {"index", "time", "type", "actor", "payload"}
            or not isinstance(obj["payload"], dict) or not isinstance(obj["type"], str)):
        raise _fail("payload_changed", index, "canonical text is not an entry {index, time, type, actor, payload}")
    if obj["index"] != index:
        raise _fail("payload_changed", index, f"canonical text is entry {obj['index']!r}, proof says {index}")
    return obj


def _number(block: dict, key: str, index: int) -> Any:
    value = block.get(key)
    try:
        if key in ("first", "last"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return value
        number = Decimal(value) if isinstance(value, str) else None
        # Bounded: registry quantities are milli-units, and huge exponents would overflow the arithmetic.
        if number is None or not number.is_finite() or not -30 < number.adjusted() < 30:
            raise TypeError
        return number
    except (TypeError, InvalidOperation):
        raise _fail("malformed", index, f"block {block.get('serial')!r}: {key} {value!r} is not a number") from None


def _check_block(block: Any, index: int) -> dict:
    """A block description whose quantity matches its serial range (R-G2: 0.001 per unit)."""
    if not isinstance(block, dict) or not isinstance(block.get("serial"), str):
        raise _fail("malformed", index, f"not a block description: {block!r}")
    first, last = _number(block, "first", index), _number(block, "last", index)
    quantity = _number(block, "quantity", index)
    _number(block, "base_kg", index)
    if block.get("state") not in BLOCK_STATES:
        raise _fail("malformed", index, f"block {block['serial']}: state {block.get('state')!r} "
                                        f"is not one of {', '.join(BLOCK_STATES)}")
    for key in _IDS:
        if not _is_id(block.get(key)):
            raise _fail("malformed", index, f"block {block['serial']}: {key} {block.get(key)!r} "
                                            f"is not an integer in 1..{_MAX_ID}")
    if last < first or quantity * UNITS != last - first + 1:
        raise _fail("quantity_mismatch", index,
                    f"block {block['serial']}: quantity {quantity} does not match serials {first}..{last}")
    if not block["serial"].endswith(f"-{first:012d}-{last:012d}"):
        raise _fail("serial_mismatch", index, f"serial {block['serial']} does not name units {first}..{last}")
    return block


def _inherits(parent: dict, child: dict, index: int) -> None:
    for key in _INHERITED:
        if not _same(child.get(key), parent.get(key)):
            raise _fail("field_changed", index, f"block {child['serial']}: {key} {child.get(key)!r} "
                                                f"differs from the parent's {parent.get(key)!r}")


def _parts(payload: dict, index: int) -> list[dict]:
    """A split's parts, lowest serials first (R-T2: the lower part is the one moved or retired)."""
    parts = [_check_block(v, index) for k, v in payload.items()
             if k != "prev" and isinstance(v, dict) and "serial" in v and "first" in v]
    if not parts:
        raise _fail("malformed", index, "a split entry must describe its parts")
    return sorted(parts, key=lambda b: b["first"])


def _split(parent: dict, payload: dict, index: int) -> list[dict]:
    """Check a split (or whole move) of `parent` conserves serials, quantity and mass (R-T2)."""
    if payload["parent"] != parent["serial"]:
        raise _fail("serial_mismatch", index, f"entry splits {payload['parent']!r}, "
                                              f"the lineage followed {parent['serial']!r}")
    parts = _parts(payload, index)
    for part in parts:
        _inherits(parent, part, index)
        if part["serial"].rsplit("-", 2)[0] != parent["serial"].rsplit("-", 2)[0]:
            raise _fail("serial_mismatch", index, f"part {part['serial']} is not a range of {parent['serial']}")
    if parts[0]["first"] != parent["first"] or parts[-1]["last"] != parent["last"] or any(
            a["last"] + 1 != b["first"] for a, b in zip(parts, parts[1:], strict=False)):
        raise _fail("serial_mismatch", index, f"parts {[p['serial'] for p in parts]} are not adjacent ranges "
                                              f"covering {parent['serial']}")
    for key in ("quantity", "base_kg"):
        total = sum((Decimal(p[key]) for p in parts), Decimal(0))
        if total != Decimal(parent[key]):
            raise _fail("quantity_mismatch", index, f"parts' {key} add up to {total}, "
                                                    f"the parent {parent['serial']} had {parent[key]}")
    if "quantity" in payload and _number(payload, "quantity", index) != Decimal(parts[0]["quantity"]):
        raise _fail("quantity_mismatch", index, f"entry moves {payload['quantity']}, "
                                                f"its lower part holds {parts[0]['quantity']}")
    return parts


def _restated(parent: dict, block: dict, index: int) -> None:
    """An entry about one block (expiry, forfeit, cancellation) restates it unchanged."""
    _check_block(block, index)
    _inherits(parent, block, index)
    if (block["serial"], block["first"], block["last"]) != (parent["serial"], parent["first"], parent["last"]):
        raise _fail("serial_mismatch", index, f"entry is about {block['serial']}, "
                                              f"the lineage followed {parent['serial']}")
    for key in ("quantity", "base_kg"):
        if Decimal(block[key]) != Decimal(parent[key]):
            raise _fail("quantity_mismatch", index, f"{key} changed from {parent[key]} to {block[key]}")


def _followed(obj: dict) -> str:
    """The serial an entry is about: a split names its parent, others their block."""
    payload = obj["payload"]
    return payload.get("parent") or payload.get("serial")


def _lineage(objs: list[dict], leaves: list[bytes], serial: str) -> dict:
    """Walk the lineage forward (R-L2b); return the final description of `serial`."""
    first = objs[0]
    if first["type"] != "lot.registered" or "prev" in first["payload"]:
        raise _fail("chain_broken", first["index"], f"lineage starts with {first['type']}, not lot.registered")
    lot = first["payload"]
    block: dict | None = None
    for k in range(1, len(objs)):
        obj, index, payload = objs[k], objs[k]["index"], objs[k]["payload"]
        if "prev" not in payload:
            raise _fail("chain_broken", index, f"{obj['type']} entry has no lineage link")
        try:
            got_index, got_hash = parse_lineage_link(payload["prev"])
        except VerificationError as exc:
            raise _fail(exc.kind, index, str(exc)) from None
        if (got_index, got_hash) != (objs[k - 1]["index"], leaves[k - 1]):
            raise _fail("chain_broken", index, f"prev names entry {got_index} ({got_hash.hex()[:16]}…), "
                                               f"the proof's previous entry is {objs[k - 1]['index']}")
        if block is None:  # R-G1: the first block entry generates from the lot
            if obj["type"] != "block.generated":
                raise _fail("chain_broken", index, f"{obj['type']} follows lot.registered")
            block = _check_block(payload, index)
            for mine, theirs in (("lot", "lot"), ("lot_reference", "reference"), ("generator", "generator")):
                if not _same(block.get(mine), lot.get(theirs)):
                    raise _fail("lot_mismatch", index, f"block {mine} {block.get(mine)!r} "
                                                       f"is not the lot's {theirs} {lot.get(theirs)!r}")
        else:
            if block.get("state") not in _LIVE:  # R-T1: only an active block moves or changes
                raise _fail("chain_broken", index, f"block {block['serial']} was {block.get('state')}")
            if "parent" in payload and block.get("state") != "active":
                raise _fail("chain_broken", index, f"block {block['serial']} was {block.get('state')}: it "
                                                   "does not split")
            if "parent" in payload:
                parts = _split(block, payload, index)
                want = _followed(objs[k + 1]) if k + 1 < len(objs) else serial
                chosen = [p for p in parts if p["serial"] == want]
                if not chosen and k + 1 == len(objs) and want == block["serial"]:
                    return {**block, "state": "split"}  # the proof of a split parent ends where it split
                if not chosen:
                    raise _fail("serial_mismatch", index, f"no part of this split is {want!r}")
                block = chosen[0]
            else:
                _restated(block, payload, index)
                block = payload
    if block is None:
        raise _fail("chain_broken", first["index"], "the lineage holds no block entry")
    if block["serial"] != serial:
        raise _fail("serial_mismatch", objs[-1]["index"], f"lineage ends at {block['serial']}, not {serial}")
    return block


def _included(checkpoint: Checkpoint, items: list[tuple[int, bytes, list[bytes]]]) -> tuple[list[dict], list[bytes]]:
    """Each entry's leaf is in the checkpoint's tree (on the raw bytes first), then parsed (R-L3, R-L1)."""
    objs, leaves = [], []
    for index, data, hashes in items:
        leaf = merkle.leaf_hash(data)
        try:
            merkle.verify_inclusion(leaf, index, checkpoint.size, hashes, checkpoint.root)
        except VerificationError as exc:
            raise _fail(exc.kind, index, f"not in the checkpoint's tree: {exc}") from None
        objs.append(_entry(index, data))
        leaves.append(leaf)
    return objs, leaves


def _upstream(proof: dict, checkpoint: Checkpoint, lot: dict) -> tuple[dict, ...]:
    """Step 6: the entries the lot links to, each included and the one linked; nothing else."""
    raw = proof.get("upstream", [])
    if not isinstance(raw, list):
        raise _fail("malformed", None, "upstream must be a list of entries")
    objs, leaves = _included(checkpoint, _items(raw))
    return match_upstream(lot, {obj["index"]: (obj, leaf) for obj, leaf in zip(objs, leaves, strict=True)})


def join_pages(pages: Sequence[Any]) -> dict:
    """One proof from the pages of a long lineage (``next`` links, R-X6), in any order.

    Every page must be proven against the same checkpoint and name the same
    serial; entries are put oldest first (pages cover disjoint stretches of one
    lineage). The result is verified like any proof: a missing or foreign page
    breaks the lineage links (``chain_broken``).
    """
    if not pages:
        raise _fail("malformed", None, "no pages to join")
    for page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("checkpoint"), str) \
                or not isinstance(page.get("entries"), list) or not page["entries"]:
            raise _fail("malformed", None, "each page must be an object with a checkpoint note and entries")
    if len({page["checkpoint"] for page in pages}) != 1:
        raise _fail("malformed", None, "the pages are proven against different checkpoints")
    if len({repr(page.get("serial")) for page in pages}) != 1:
        raise _fail("malformed", None, "the pages name different serials")

    def first_index(page: dict) -> int:
        index = page["entries"][0].get("index") if isinstance(page["entries"][0], dict) else None
        if isinstance(index, bool) or not isinstance(index, int):
            raise _fail("malformed", None, "a page's first entry has no index")
        return index

    ordered = sorted(pages, key=first_index)
    out = {"checkpoint": ordered[0]["checkpoint"], "entries": [e for page in ordered for e in page["entries"]]}
    upstream = [e for page in ordered for e in page.get("upstream") or ()]
    if upstream:
        out["upstream"] = upstream
    if "serial" in ordered[0]:
        out["serial"] = ordered[0]["serial"]
    return out


def verify_provenance(proof: Any, verifiers: Sequence[Verifier], *, serial: str | None = None) -> ProvenanceReport:
    """Verify a provenance proof (R-L6); raise VerificationError(kind=, index=) on the first failure.

    `serial` is the block the caller asked about; by default the proof's own
    ``serial`` member (which then must be present).
    """
    note, entries = _shape(proof)
    serial = proof.get("serial") if serial is None else serial
    if not isinstance(serial, str):
        raise _fail("malformed", None, "the proof names no serial: pass the serial asked about")
    checkpoint = open_checkpoint(note, verifiers)
    objs, leaves = _included(checkpoint, entries)
    block = _lineage(objs, leaves, serial)
    upstream = _upstream(proof, checkpoint, objs[0])
    return ProvenanceReport(
        serial=serial, lot_reference=objs[0]["payload"].get("reference"), generator=block.get("generator"),
        entries=len(objs), state=block.get("state"), owner=block.get("owner"), quantity=block.get("quantity"),
        checkpoint_size=checkpoint.size, origin=checkpoint.origin, checkpoint=checkpoint, lineage=tuple(objs),
        upstream=upstream,
    )

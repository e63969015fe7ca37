"""Offline verification of an exported log (R-L7): no database, streaming, O(log n) memory.

For each entry line (format: `chainlog.export`), in order:

1. index continuity: the next index is expected; a gap is ``entry_missing``,
   an index seen out of order ``entries_reordered`` (both name the first
   index that is not where it should be);
2. ``canonical`` must be exactly the RFC 8785 JSON of the line's
   {index, time, type, actor, payload} (``payload_changed`` if the fields
   differ, ``not_canonical`` if only the form does) — see
   `canonical.is_canonical_of` for the fast exact check;
3. the leaf hash SHA-256(0x00 ‖ canonical) must equal ``leaf_hash``
   (``payload_changed``: the hashed bytes changed) and the chain hash
   SHA-256(prev ‖ canonical) must equal ``entry_hash`` (``chain_broken``);
4. the leaf joins a `CompactRange`, which keeps the Merkle root of all
   leaves so far in at most ~64 hashes (never the leaves themselves);
5. a ``key.rotated`` entry, once verified, moves trust from the outgoing key
   to the incoming one (R-L5) for the checkpoints that follow.

For each checkpoint line: the note must be signed by a trusted key
(``bad_signature``), its size must be the number of entries read so far, and
its root must equal the recomputed root at that size (``root_mismatch``).

Consistency between successive checkpoints (R-L7) then holds by
construction: both roots were recomputed from one and the same sequence of
leaves, the earlier from a prefix of the later, so the earlier tree *is* a
prefix of the later one — exactly what a consistency proof would establish,
with no proof to trust. (A consistency proof is needed only by a party that
lacks the entries, e.g. a witness: see `merkle.verify_consistency`.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from . import _json
from .canonical import fast_form_is_jcs, is_canonical_of
from .chain import GENESIS_HASH
from .checkpoint import open_checkpoint
from .compact import CompactRange
from .errors import VerificationError
from .keys import Verifier, parse_vkey, verify_rotation

ENTRY_KEYS = frozenset(("index", "time", "type", "actor", "payload", "canonical", "leaf_hash", "entry_hash"))


@dataclass(frozen=True)
class VerifyReport:
    entries: int  # entry lines verified
    size: int  # tree size reached (== entries)
    root: bytes  # recomputed Merkle root at `size`
    checkpoints: int  # checkpoint lines verified
    signed_size: int  # size of the last verified checkpoint (0 if none): entries beyond are unsigned
    verifiers: tuple[str, ...]  # vkeys trusted at the end (after rotations)

    @property
    def root_hex(self) -> str:
        return self.root.hex()


def _fail(kind: str, index: int | None, message: str) -> VerificationError:
    return VerificationError(message, kind=kind, index=index)


def _index_of(raw: Any) -> Any:
    try:
        obj = _json.loads(raw)
    except _json.ERRORS:
        return None
    return obj.get("index") if isinstance(obj, dict) else None


def _misplaced(expected: int, got: Any, rest: Iterable[Any]) -> VerificationError:
    """Classify an index that is not the expected one (reads the rest of the input)."""
    if isinstance(got, int) and not isinstance(got, bool) and got < expected:
        return _fail("entries_reordered", expected, f"expected entry {expected}, found entry {got} again or out of order")
    # A later index: entry `expected` is missing, unless it turns up further on.
    for raw in rest:
        if _index_of(raw) == expected:
            return _fail("entries_reordered", expected, f"expected entry {expected}, found entry {got}; {expected} comes later")
    return _fail("entry_missing", expected, f"expected entry {expected}, found entry {got}; entry {expected} is missing")


def _classify_canonical(fields: dict, text: str, index: int) -> VerificationError:
    try:
        parsed = _json._std_loads(text)
    except (ValueError, UnicodeError):
        parsed = None
    if isinstance(parsed, dict) and _json.std_dumps_plain(parsed) == _json.std_dumps_plain(fields):
        return _fail("not_canonical", index, "canonical text holds the entry's fields but is not RFC 8785 canonical JSON")
    return _fail(
        "payload_changed", index,
        f"entry fields differ from the hashed canonical text: expected {text[:200]!r}, "
        f"fields give {_json.std_dumps_plain(fields)[:200]!r}",
    )


def verify_export(
    lines: Iterable[str | bytes],
    verifiers: Sequence[Verifier | str],
    *,
    origin: str | None = None,
    follow_rotations: bool = True,
) -> VerifyReport:
    """Verify an exported log read line by line; return a report or raise VerificationError.

    `verifiers`: the log's first published key(s), as `Verifier` or vkey text.
    `origin`, if given, must be every checkpoint's origin line.
    """
    trusted = [v if isinstance(v, Verifier) else parse_vkey(v) for v in verifiers]
    loads, dumps_sorted, errors = _json.loads, _json.dumps_sorted, _json.ERRORS
    sha256 = hashlib.sha256
    tree = CompactRange()
    add_leaf = tree.append
    expected, prev = 0, GENESIS_HASH
    checkpoints, signed_size, cp_origin = 0, 0, None
    it = iter(lines)

    for raw in it:
        try:
            obj = loads(raw)
        except errors:
            if not raw.strip():
                continue  # blank line (e.g. a final newline)
            raise _fail("malformed", expected, "line is not valid JSON") from None
        if type(obj) is not dict:
            raise _fail("malformed", expected, "line is not a JSON object")

        if len(obj) == 8:  # ---- entry line (the hot path) ----------------------
            index = obj.get("index")
            if index != expected or type(index) is not int:
                if obj.keys() != ENTRY_KEYS or isinstance(index, bool) or not isinstance(index, int):
                    raise _fail("malformed", expected, f"not an entry line: keys {sorted(obj)}")
                raise _misplaced(expected, index, it)
            text = obj["canonical"]
            if type(text) is not str or obj.keys() != ENTRY_KEYS:
                raise _fail("malformed", expected, "entry line must hold exactly the export fields")
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                raise _fail("malformed", expected, "canonical text is not valid Unicode") from None
            fields = {"actor": obj["actor"], "index": index, "payload": obj["payload"], "time": obj["time"], "type": obj["type"]}
            try:
                fast = dumps_sorted(fields)
            except errors:
                fast = None
            if (fast != data or not fast_form_is_jcs(fast)) and not is_canonical_of(fields, data):
                raise _classify_canonical(fields, text, expected)
            leaf = sha256(b"\x00" + data).digest()
            if leaf.hex() != obj["leaf_hash"]:
                raise _fail("payload_changed", expected, f"leaf hash: expected {obj['leaf_hash']!r}, computed {leaf.hex()}")
            prev = sha256(prev + data).digest()
            if prev.hex() != obj["entry_hash"]:
                raise _fail("chain_broken", expected, f"entry hash: expected {obj['entry_hash']!r}, computed {prev.hex()}")
            add_leaf(leaf)
            expected += 1
            if follow_rotations and obj["type"] == "key.rotated":
                trusted = _rotate(trusted, obj["payload"], expected - 1)
            continue

        if len(obj) == 1 and "checkpoint" in obj:  # ---- checkpoint line -------------
            at = expected - 1 if expected else None
            note = obj["checkpoint"]
            if not isinstance(note, str):
                raise _fail("malformed", at, "checkpoint must be the signed note text")
            try:
                cp = open_checkpoint(note, trusted, origin=origin)
            except VerificationError as exc:
                kind = "malformed" if exc.kind == "malformed" else "bad_signature"
                raise _fail(kind, at, f"checkpoint after entry {at}: {exc}") from None
            if cp_origin is not None and cp.origin != cp_origin:
                raise _fail("inconsistent_checkpoint", at, f"checkpoint origin: expected {cp_origin!r}, got {cp.origin!r}")
            cp_origin = cp.origin
            if cp.size > expected:
                raise _fail("entry_missing", expected, f"checkpoint of size {cp.size} follows only {expected} entries")
            if cp.size < expected or cp.size < signed_size:
                raise _fail(
                    "inconsistent_checkpoint", at,
                    f"checkpoint of size {cp.size} must come right after entry {cp.size - 1}, not after entry {at}",
                )
            computed = tree.root()
            if computed != cp.root:
                raise _fail(
                    "root_mismatch", None,
                    f"checkpoint at size {cp.size}: expected root {cp.root.hex()}, computed {computed.hex()} "
                    f"(an entry before index {cp.size} differs from what was signed)",
                )
            checkpoints += 1
            signed_size = cp.size
            continue

        raise _fail("malformed", expected, f"unknown line with keys {sorted(obj)}")

    return VerifyReport(expected, tree.size, tree.root(), checkpoints, signed_size, tuple(v.vkey for v in trusted))


def _rotate(trusted: list[Verifier], payload: Any, index: int) -> list[Verifier]:
    """Follow a key.rotated entry: the outgoing key must be trusted; the incoming replaces it."""
    outgoing_vkey = payload.get("outgoing_vkey") if isinstance(payload, dict) else None
    current = next((v for v in trusted if v.vkey == outgoing_vkey), None)
    if current is None:
        raise _fail("bad_rotation", index, f"key rotation from {outgoing_vkey!r}, which is not a trusted key")
    try:
        incoming = verify_rotation(payload, current)
    except VerificationError as exc:
        raise _fail("bad_rotation", index, str(exc)) from None
    return [incoming if v is current else v for v in trusted]

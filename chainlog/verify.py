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
4. the leaf joins a compact range (`chainlog.compact`), which keeps the
   Merkle root of all leaves so far in at most ~64 hashes, never the leaves;
5. a ``key.rotated`` entry, once verified, moves trust from the outgoing key
   to the incoming one (R-L5) for the checkpoints that follow.

A line spelled exactly as `export.entry_line` writes it is checked by
rebuilding it byte for byte from its canonical text (`_fast_entry`): one
parse of the canonical text instead of two of the whole line. Any other
spelling, and every failure, goes through the field-by-field general path,
which names the first bad index and the kind of damage.

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
from binascii import hexlify as _hexlify
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import _json
from .canonical import fast_form_is_jcs, is_canonical_of
from .chain import GENESIS_HASH
from .checkpoint import open_checkpoint
from .errors import VerificationError
from .keys import Verifier, parse_vkey, verify_rotation
from .merkle import fold

_sha256 = hashlib.sha256

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
        why = f"expected entry {expected}, found entry {got} again or out of order"
        return _fail("entries_reordered", expected, why)
    # A later index: entry `expected` is missing, unless it turns up further on.
    for raw in rest:
        if _index_of(raw) == expected:
            why = f"expected entry {expected}, found entry {got}; {expected} comes later"
            return _fail("entries_reordered", expected, why)
    why = f"expected entry {expected}, found entry {got}; entry {expected} is missing"
    return _fail("entry_missing", expected, why)


def _classify_canonical(fields: dict, text: str, index: int) -> VerificationError:
    try:
        parsed = _json._std_loads(text)
    except (ValueError, UnicodeError):
        parsed = None
    if isinstance(parsed, dict) and _json.std_dumps_plain(parsed) == _json.std_dumps_plain(fields):
        why = "canonical text holds the entry's fields but is not RFC 8785 canonical JSON"
        return _fail("not_canonical", index, why)
    return _fail(
        "payload_changed", index,
        f"entry fields differ from the hashed canonical text: expected {text[:200]!r}, "
        f"fields give {_json.std_dumps_plain(fields)[:200]!r}",
    )


# An entry line as `export.entry_line` writes it ends with this suffix, of
# fixed length: the two hashes are 64 hex digits each.
_CANONICAL_KEY = b',"canonical":"'
_SUFFIX_LEN = len(b'","leaf_hash":"') + 64 + len(b'","entry_hash":"') + 64 + len(b'"}')


def _fast_entry_checker() -> Any:
    """The fast check of one entry line, bound to the JSON backend in use (hot loop)."""
    loads, dumps_sorted, dumps_line = _json.loads, _json.dumps_sorted, _json.dumps_line
    errors = (*_json.ERRORS, KeyError, AttributeError)
    is_jcs, sha256, hexlify = fast_form_is_jcs, _sha256, _hexlify
    key, lit_start, suffix_len = _CANONICAL_KEY, len(_CANONICAL_KEY) - 1, _SUFFIX_LEN

    def fast_entry(raw: bytes, expected: int, prev: bytes) -> tuple[bytes, bytes, str] | None:
        """Verify an entry line written exactly as `export.entry_line` writes it.

        Rebuilds the line from its canonical text and the recomputed hashes
        and compares bytes: if they are equal, the line's fields are the
        fields of the canonical text, which is RFC 8785 JSON whose hashes
        chain from `prev`, so every check of the general path holds. Returns
        (leaf, entry hash, type), or None to let the general path decide (and
        explain a failure).
        """
        at = raw.rfind(key)
        end = len(raw) - suffix_len
        if at < 0 or end <= at:
            return None
        try:
            text = loads(raw[at + lit_start : end + 1])
            data = text.encode("utf-8")
            entry = loads(data)
            if type(entry) is not dict or len(entry) != 5 or type(entry.get("index")) is not int:
                return None
            if entry["index"] != expected or dumps_sorted(entry) != data or not is_jcs(data):
                return None
            # The line up to its canonical member must be the five fields, as written.
            head = dumps_line({
                "index": expected, "time": entry["time"], "type": entry["type"], "actor": entry["actor"],
                "payload": entry["payload"],
            })
        except errors:
            return None
        if len(head) - 1 != at or not raw.startswith(head[:-1]):
            return None
        leaf = sha256(b"\x00" + data).digest()
        entry_hash = sha256(prev + data).digest()
        if not raw.endswith(b'","leaf_hash":"' + hexlify(leaf) + b'","entry_hash":"' + hexlify(entry_hash) + b'"}'):
            return None
        return leaf, entry_hash, entry["type"]

    return fast_entry


def _fast_entry(raw: bytes, expected: int, prev: bytes) -> tuple[bytes, bytes, str] | None:
    return _fast_entry_checker()(raw, expected, prev)


def _general_entry(obj: dict, expected: int, prev: bytes, rest: Iterable[Any]) -> tuple[bytes, bytes]:
    """Check a parsed entry line field by field; return (leaf, entry hash) or raise."""
    index = obj.get("index")
    if obj.keys() != ENTRY_KEYS or isinstance(index, bool) or not isinstance(index, int):
        raise _fail("malformed", expected, f"not an entry line: keys {sorted(obj)}")
    if index != expected:
        raise _misplaced(expected, index, rest)
    text = obj["canonical"]
    if type(text) is not str:
        raise _fail("malformed", expected, "canonical must be a string")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail("malformed", expected, "canonical text is not valid Unicode") from None
    fields = {
        "actor": obj["actor"], "index": index, "payload": obj["payload"], "time": obj["time"], "type": obj["type"],
    }
    if not is_canonical_of(fields, data):
        raise _classify_canonical(fields, text, expected)
    leaf = _sha256(b"\x00" + data).digest()
    if leaf.hex() != obj["leaf_hash"]:
        raise _fail("payload_changed", expected, f"leaf hash: expected {obj['leaf_hash']!r}, computed {leaf.hex()}")
    entry_hash = _sha256(prev + data).digest()
    if entry_hash.hex() != obj["entry_hash"]:
        why = f"entry hash: expected {obj['entry_hash']!r}, computed {entry_hash.hex()}"
        raise _fail("chain_broken", expected, why)
    return leaf, entry_hash


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
    sha256 = _sha256
    fast_entry = _fast_entry_checker()
    expected, prev = 0, GENESIS_HASH
    stack: list[bytes] = []  # compact range: roots of the complete subtrees, largest first
    checkpoints, signed_size, cp_origin = 0, 0, None
    it = iter(lines)

    for raw in it:
        if type(raw) is not bytes:
            try:
                raw = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            except (UnicodeError, TypeError):
                raise _fail("malformed", expected, "line is not UTF-8 text") from None
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        fast = fast_entry(raw, expected, prev) if raw.startswith(b'{"index":') else None
        if fast is not None:
            leaf, prev, entry_type = fast
        else:
            if not raw.strip():
                continue  # blank line (e.g. a final newline)
            try:
                obj = _json.loads(raw)
            except _json.ERRORS:
                raise _fail("malformed", expected, "line is not valid JSON") from None
            if type(obj) is not dict:
                raise _fail("malformed", expected, "line is not a JSON object")
            if "checkpoint" in obj:
                signed_size, cp_origin = _checkpoint(obj, stack, expected, signed_size, cp_origin, trusted, origin)
                checkpoints += 1
                continue
            leaf, prev = _general_entry(obj, expected, prev, it)
            entry_type = obj["type"]

        # CompactRange.append, inlined: one merge per trailing 1 bit of the size.
        h, carry = leaf, expected
        while carry & 1:
            h = sha256(b"\x01" + stack.pop() + h).digest()
            carry >>= 1
        stack.append(h)
        expected += 1
        if follow_rotations and entry_type == "key.rotated":
            trusted = _rotate(trusted, _json.loads(raw)["payload"], expected - 1)

    return VerifyReport(expected, expected, fold(stack), checkpoints, signed_size, tuple(v.vkey for v in trusted))


def _checkpoint(obj, stack, size, signed_size, cp_origin, trusted, origin):
    """Verify one checkpoint line against the recomputed tree; return (signed size, origin)."""
    at = size - 1 if size else None
    note = obj["checkpoint"]
    if len(obj) != 1 or not isinstance(note, str):
        raise _fail("malformed", at, "a checkpoint line is {\"checkpoint\": <signed note text>}")
    try:
        cp = open_checkpoint(note, trusted, origin=origin)
    except VerificationError as exc:
        kind = "malformed" if exc.kind == "malformed" else "bad_signature"
        raise _fail(kind, at, f"checkpoint after entry {at}: {exc}") from None
    if cp_origin is not None and cp.origin != cp_origin:
        raise _fail("inconsistent_checkpoint", at, f"checkpoint origin: expected {cp_origin!r}, got {cp.origin!r}")
    if cp.size > size:
        raise _fail("entry_missing", size, f"checkpoint of size {cp.size} follows only {size} entries")
    if cp.size < size or cp.size < signed_size:
        raise _fail(
            "inconsistent_checkpoint", at,
            f"checkpoint of size {cp.size} must come right after entry {cp.size - 1}, not after entry {at}",
        )
    computed = fold(stack)
    if computed != cp.root:
        raise _fail(
            "root_mismatch", None,
            f"checkpoint at size {cp.size}: expected root {cp.root.hex()}, computed {computed.hex()} "
            f"(an entry before index {cp.size} differs from what was signed)",
        )
    return cp.size, cp.origin


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

"""The general path of export verification (`chainlog.verify`): every line the hot loop does not take.

That is a checkpoint line, a blank line, an entry line re-spelled by some
JSON tool, an entry line of the earlier export format (fields plus the hashed
text as a ``canonical`` string), and every damaged line. Each check here is
explicit and in a fixed order, so a failure names the first bad index and
the kind of damage (`VerificationError.kind`):

``entry_missing`` / ``entries_reordered``  an index not where it should be;
``payload_changed``  the hashed bytes (or, in the earlier format, the fields
beside them) differ from what ``leaf_hash`` was computed over;
``chain_broken``  ``entry_hash`` does not chain from the previous entry;
``not_canonical``  the hashed bytes are not the RFC 8785 JSON of an entry;
``bad_signature`` / ``root_mismatch`` / ``inconsistent_checkpoint``  a
checkpoint line; ``bad_rotation``  a ``key.rotated`` entry; ``malformed``  a
line that is none of the above.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import rfc8785

from . import _json
from .canonical import is_canonical_of
from .checkpoint import open_checkpoint
from .errors import VerificationError
from .keys import Verifier, verify_rotation
from .merkle import fold

_sha256 = hashlib.sha256

#: The members of the hashed entry object (R-L1).
ENTRY_MEMBERS = frozenset(("actor", "index", "payload", "time", "type"))
#: The members of an entry line (`chainlog.export`).
LINE_MEMBERS = frozenset(("index", "leaf_hash", "entry_hash", "entry"))
#: The members of an entry line of the earlier format.
EARLIER_MEMBERS = frozenset(("index", "time", "type", "actor", "payload", "canonical", "leaf_hash", "entry_hash"))

# An entry line as `export.entry_line` writes it, whatever its index and hashes hold.
_VERBATIM = re.compile(rb'\{"index":(-?[0-9]+),"leaf_hash":"([^"\\]*)","entry_hash":"([^"\\]*)","entry":(.*)\}', re.DOTALL)


class Progress:
    """What the verifier carries besides the hot loop's locals: trust and checkpoints."""

    __slots__ = ("checkpoints", "cp_origin", "origin", "signed_size", "trusted")

    def __init__(self, trusted: list[Verifier], origin: str | None) -> None:
        self.trusted, self.origin, self.cp_origin = trusted, origin, None
        self.checkpoints, self.signed_size = 0, 0


def fail(kind: str, index: int | None, message: str) -> VerificationError:
    return VerificationError(message, kind=kind, index=index)


def general_line(raw: bytes, expected: int, prev: bytes, rest: Iterable[Any], stack: list[bytes],
                 progress: Progress) -> tuple[bytes, bytes, dict] | None:
    """Check one line the hot loop did not accept.

    Returns (leaf, entry hash, entry object) for a verified entry line, None
    for a verified checkpoint line or a blank line, or raises. `rest` is the
    rest of the input (read only to tell a missing entry from a misplaced one).
    """
    text = raw.rstrip(b"\r\n")
    if not text.strip():
        return None
    verbatim = _VERBATIM.fullmatch(text)
    if verbatim is not None:
        index = int(verbatim[1])
        if index != expected:
            raise misplaced(expected, index, rest)
        stated = verbatim[2].decode("ascii", "replace"), verbatim[3].decode("ascii", "replace")
        return _hashed_entry(verbatim[4], stated, expected, prev, rest, verbatim=True)
    try:
        obj = _json.loads(text)
    except _json.ERRORS:
        raise fail("malformed", expected, "line is not valid JSON") from None
    if type(obj) is not dict:
        raise fail("malformed", expected, "line is not a JSON object")
    if "checkpoint" in obj:
        _checkpoint(obj, stack, expected, progress)
        return None
    keys = obj.keys()
    if keys == LINE_MEMBERS:
        return _respelled_entry(obj, expected, prev, rest)
    if keys == EARLIER_MEMBERS:
        return _earlier_entry(obj, expected, prev, rest)
    raise fail("malformed", expected, f"not an entry line: members {sorted(obj)}")


def _index(obj: dict, expected: int, rest: Iterable[Any]) -> None:
    index = obj["index"]
    if isinstance(index, bool) or not isinstance(index, int):
        raise fail("malformed", expected, f"index must be an integer, not {index!r}")
    if index != expected:
        raise misplaced(expected, index, rest)


def _respelled_entry(obj: dict, expected: int, prev: bytes, rest: Iterable[Any]) -> tuple[bytes, bytes, dict]:
    """An entry line a JSON tool re-spelled: the hashed bytes are the RFC 8785 form of ``entry``."""
    _index(obj, expected, rest)
    stated = obj["leaf_hash"], obj["entry_hash"]
    if type(stated[0]) is not str or type(stated[1]) is not str:
        raise fail("malformed", expected, "leaf_hash and entry_hash must be hex strings")
    try:
        data = rfc8785.dumps(obj["entry"])
    except (rfc8785.CanonicalizationError, UnicodeError, TypeError, ValueError) as exc:
        raise fail("not_canonical", expected, f"the entry has no RFC 8785 form: {exc}") from None
    return _hashed_entry(data, stated, expected, prev, rest, verbatim=False)


def _hashed_entry(data: bytes, stated: tuple[str, str], expected: int, prev: bytes, rest: Iterable[Any],
                  *, verbatim: bool) -> tuple[bytes, bytes, dict]:
    """Check entry bytes against the stated hashes, then their form; return (leaf, entry hash, entry)."""
    leaf = _sha256(b"\x00" + data).digest()
    if leaf.hex() != stated[0]:
        raise fail("payload_changed", expected, f"leaf hash: expected {stated[0]!r}, computed {leaf.hex()}")
    entry_hash = _sha256(prev + data).digest()
    if entry_hash.hex() != stated[1]:
        raise fail("chain_broken", expected, f"entry hash: expected {stated[1]!r}, computed {entry_hash.hex()}")
    # The hashes hold: these are the bytes the log hashed. They must be an entry (R-L1).
    try:
        entry = _json.loads(data)
    except _json.ERRORS:
        raise fail("not_canonical", expected, "the hashed bytes are not JSON") from None
    if type(entry) is not dict or entry.keys() != ENTRY_MEMBERS:
        raise fail("not_canonical", expected, "the hashed bytes are not an entry {index, time, type, actor, payload}")
    index = entry["index"]
    if isinstance(index, bool) or not isinstance(index, int):
        raise fail("not_canonical", expected, f"the hashed entry's index is {index!r}")
    if index != expected:
        raise misplaced(expected, index, rest)
    if verbatim and not is_canonical_of(entry, data):
        raise fail("not_canonical", expected, "the hashed bytes are not RFC 8785 canonical JSON")
    return leaf, entry_hash, entry


def _earlier_entry(obj: dict, expected: int, prev: bytes, rest: Iterable[Any]) -> tuple[bytes, bytes, dict]:
    """An entry line of the earlier format, checked field by field."""
    _index(obj, expected, rest)
    text = obj["canonical"]
    if type(text) is not str:
        raise fail("malformed", expected, "canonical must be a string")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise fail("malformed", expected, "canonical text is not valid Unicode") from None
    fields = {
        "actor": obj["actor"], "index": obj["index"], "payload": obj["payload"], "time": obj["time"],
        "type": obj["type"],
    }
    if not is_canonical_of(fields, data):
        raise _classify_canonical(fields, text, expected)
    leaf = _sha256(b"\x00" + data).digest()
    if leaf.hex() != obj["leaf_hash"]:
        raise fail("payload_changed", expected, f"leaf hash: expected {obj['leaf_hash']!r}, computed {leaf.hex()}")
    entry_hash = _sha256(prev + data).digest()
    if entry_hash.hex() != obj["entry_hash"]:
        why = f"entry hash: expected {obj['entry_hash']!r}, computed {entry_hash.hex()}"
        raise fail("chain_broken", expected, why)
    return leaf, entry_hash, fields


def _classify_canonical(fields: dict, text: str, index: int) -> VerificationError:
    try:
        parsed = _json._std_loads(text)
    except (ValueError, UnicodeError):
        parsed = None
    if isinstance(parsed, dict) and _json.std_dumps_plain(parsed) == _json.std_dumps_plain(fields):
        why = "canonical text holds the entry's fields but is not RFC 8785 canonical JSON"
        return fail("not_canonical", index, why)
    return fail(
        "payload_changed", index,
        f"entry fields differ from the hashed canonical text: expected {text[:200]!r}, "
        f"fields give {_json.std_dumps_plain(fields)[:200]!r}",
    )


def _index_of(raw: Any) -> Any:
    try:
        obj = _json.loads(raw)
    except _json.ERRORS:
        return None
    return obj.get("index") if isinstance(obj, dict) else None


def misplaced(expected: int, got: Any, rest: Iterable[Any]) -> VerificationError:
    """Classify an index that is not the expected one (reads the rest of the input)."""
    if isinstance(got, int) and not isinstance(got, bool) and got < expected:
        why = f"expected entry {expected}, found entry {got} again or out of order"
        return fail("entries_reordered", expected, why)
    # A later index: entry `expected` is missing, unless it turns up further on.
    for raw in rest:
        if _index_of(raw) == expected:
            why = f"expected entry {expected}, found entry {got}; {expected} comes later"
            return fail("entries_reordered", expected, why)
    why = f"expected entry {expected}, found entry {got}; entry {expected} is missing"
    return fail("entry_missing", expected, why)


def _checkpoint(obj: dict, stack: list[bytes], size: int, progress: Progress) -> None:
    """Verify one checkpoint line against the recomputed tree (compact range `stack`) at `size`."""
    at = size - 1 if size else None
    note = obj["checkpoint"]
    if len(obj) != 1 or not isinstance(note, str):
        raise fail("malformed", at, "a checkpoint line is {\"checkpoint\": <signed note text>}")
    try:
        cp = open_checkpoint(note, progress.trusted, origin=progress.origin)
    except VerificationError as exc:
        kind = "malformed" if exc.kind == "malformed" else "bad_signature"
        raise fail(kind, at, f"checkpoint after entry {at}: {exc}") from None
    if progress.cp_origin is not None and cp.origin != progress.cp_origin:
        why = f"checkpoint origin: expected {progress.cp_origin!r}, got {cp.origin!r}"
        raise fail("inconsistent_checkpoint", at, why)
    if cp.size > size:
        raise fail("entry_missing", size, f"checkpoint of size {cp.size} follows only {size} entries")
    if cp.size < size or cp.size < progress.signed_size:
        raise fail(
            "inconsistent_checkpoint", at,
            f"checkpoint of size {cp.size} must come right after entry {cp.size - 1}, not after entry {at}",
        )
    computed = fold(stack)
    if computed != cp.root:
        raise fail(
            "root_mismatch", None,
            f"checkpoint at size {cp.size}: expected root {cp.root.hex()}, computed {computed.hex()} "
            f"(an entry before index {cp.size} differs from what was signed)",
        )
    progress.signed_size, progress.cp_origin = cp.size, cp.origin
    progress.checkpoints += 1


def rotate(trusted: list[Verifier], payload: Any, index: int) -> list[Verifier]:
    """Follow a key.rotated entry: the outgoing key must be trusted; the incoming replaces it."""
    outgoing_vkey = payload.get("outgoing_vkey") if isinstance(payload, dict) else None
    current = next((v for v in trusted if v.vkey == outgoing_vkey), None)
    if current is None:
        raise fail("bad_rotation", index, f"key rotation from {outgoing_vkey!r}, which is not a trusted key")
    try:
        incoming = verify_rotation(payload, current)
    except VerificationError as exc:
        raise fail("bad_rotation", index, str(exc)) from None
    return [incoming if v is current else v for v in trusted]

"""Offline verification of an exported log (R-L7): no database, streaming, O(log n) memory.

For each entry line (format: `chainlog.export`), in order:

1. index continuity: the next index is expected; a gap is ``entry_missing``,
   an index seen out of order ``entries_reordered`` (both name the first
   index that is not where it should be);
2. the leaf hash SHA-256(0x00 ‖ entry bytes) must equal ``leaf_hash``
   (``payload_changed``: the hashed bytes changed) and the chain hash
   SHA-256(prev ‖ entry bytes) must equal ``entry_hash`` (``chain_broken``);
3. the entry bytes must be exactly the RFC 8785 JSON of an entry object
   {index, time, type, actor, payload} whose index is the line's
   (``not_canonical`` otherwise) — see `canonical.fast_form_is_jcs` for the
   fast exact check;
4. the leaf joins a compact range (`chainlog.compact`), which keeps the
   Merkle root of all leaves so far in at most ~64 hashes, never the leaves;
5. a ``key.rotated`` entry, once verified, moves trust from the outgoing key
   to the incoming one (R-L5) for the checkpoints that follow.

The hot loop handles a line written exactly as `export.entry_line` writes it:
the entry bytes are a slice of the line, hashed as they are; the line's
frame (index, hashes) is compared as bytes with the one the recomputed hashes
give, and the entry bytes are parsed once, to check index, members and the
canonical form. Any other line — a checkpoint, a re-spelled line, a line of
the earlier export format, any damage — goes to the general path
(`chainlog.line_checks`), which names the first bad index and the kind
of damage.

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

from . import _json
from .canonical import masked_form_is_jcs
from .chain import GENESIS_HASH
from .keys import Verifier, parse_vkey
from .line_checks import ENTRY_MEMBERS, Progress, fail, general_line, rotate
from .merkle import fold

__all__ = ["VerifyReport", "verify_export"]

_sha256 = hashlib.sha256

# The fixed parts of an entry line (`export.entry_line`), around the index and the two hashes.
_HEAD = b'{"index":%d,"leaf_hash":"'
_MID = b'","entry_hash":"'
_ENTRY = b'","entry":'
_FRAME = 64 + len(_MID) + 64 + len(_ENTRY)  # from the end of the head to the entry bytes
# A key.rotated entry's type member, as its canonical bytes hold it and as the masked parse reads it.
_ROTATION = b'"type":"key.rotated"'
_MASKED_ROTATION = "key/#rotated"
# The hot loop's mark for an entry line whose integrity is verified and whose form was not asked for.
_UNCHECKED = object()


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


def _fast_entry(raw: bytes, expected: int, prev: bytes) -> tuple[bytes, bytes, dict] | None:
    """The hot loop's check of one line (without its newline), as a function, for tests.

    Returns (leaf, entry hash, entry) when the line is entry `expected`,
    written exactly as `export.entry_line` writes it, chaining from `prev`
    and holding canonical entry bytes; None sends the line to the general path.
    """
    head = _HEAD % expected
    start = len(head) + _FRAME
    if raw[-1:] != b"}":
        return None
    data = raw[start:-1]
    leaf = _sha256(b"\x00" + data).digest()
    entry_hash = _sha256(prev + data).digest()
    if not raw.startswith(b"".join((head, _hexlify(leaf), _MID, _hexlify(entry_hash), _ENTRY))):
        return None
    masked = data.replace(b".", b"/#").replace(b"-", b"/!")  # `canonical.mask`, inlined
    try:
        entry = _json.loads(masked)
    except _json.ERRORS:
        return None
    if type(entry) is not dict or entry.keys() != ENTRY_MEMBERS or entry.get("type") == _MASKED_ROTATION:
        return None
    index = entry["index"]
    if index != expected or type(index) is not int:
        return None
    try:
        if _json.dumps_sorted(entry) != masked or not masked_form_is_jcs(data):
            return None
    except _json.ERRORS:
        return None
    return leaf, entry_hash, _json.loads(data)


def verify_export(
    lines: Iterable[str | bytes],
    verifiers: Sequence[Verifier | str],
    *,
    origin: str | None = None,
    follow_rotations: bool = True,
    check_form: bool = True,
) -> VerifyReport:
    """Verify an exported log read line by line; return a report or raise VerificationError.

    `lines`: str or bytes lines, with or without their newline (a text or
    binary file works). `verifiers`: the log's first published key(s), as
    `Verifier` or vkey text. `origin`, if given, must be every checkpoint's
    origin line.

    `check_form=False` verifies integrity only: the hash chain, every leaf
    hash, the Merkle root, every checkpoint signature and each line's frame
    (index and stated hashes) are checked as always, but an entry line the
    fast path takes is not parsed, so its bytes are not proven to be the
    RFC 8785 JSON of an entry with the line's index (R-L1, step 3 above). A
    line whose entry bytes hold ``"type":"key.rotated"`` still gets every
    check before the rotation is followed; a rotation spelled otherwise is
    not canonical, which only the full check reports, and is not followed
    (checkpoints signed by its incoming key then fail). For callers that
    parse and check every entry themselves, or that need to know only that
    the log is the one its checkpoints sign.
    """
    trusted = [v if isinstance(v, Verifier) else parse_vkey(v) for v in verifiers]
    # Hot loop: everything it calls bound to a local name.
    sha256, hexlify, join, loads, dumps_sorted = _sha256, _hexlify, b"".join, _json.loads, _json.dumps_sorted
    is_jcs, errors, members = masked_form_is_jcs, _json.ERRORS, ENTRY_MEMBERS
    head_of, mid, entry_key, frame = _HEAD.__mod__, _MID, _ENTRY, _FRAME
    rotated, masked_rotation = _ROTATION, _MASKED_ROTATION
    expected, prev = 0, GENESIS_HASH
    stack: list[bytes] = []  # compact range: roots of the complete subtrees, largest first
    pop, push = stack.pop, stack.append
    progress = Progress(trusted, origin)
    it = iter(lines)

    for raw in it:
        if type(raw) is not bytes:
            try:
                raw = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            except (UnicodeError, TypeError):
                raise fail("malformed", expected, "line is not UTF-8 text") from None
        # The fast path (`_fast_entry` is the same check), inlined.
        end = len(raw) - 2 if raw[-1:] == b"\n" else len(raw) - 1  # the line's closing brace
        head = head_of(expected)
        start = len(head) + frame
        data = raw[start:end]
        leaf = sha256(b"\x00" + data).digest()
        entry_hash = sha256(prev + data).digest()
        entry = None
        if raw[end:end + 1] == b"}" and raw.startswith(join((head, hexlify(leaf), mid, hexlify(entry_hash), entry_key))):
            if not check_form:
                # Integrity only; a rotation takes the general path, which checks it in full.
                if data.find(rotated) < 0:
                    entry = _UNCHECKED
            else:
                masked = data.replace(b".", b"/#").replace(b"-", b"/!")  # `canonical.mask`: see `canonical.masked_form_is_jcs`
                try:
                    entry = loads(masked)
                    if (
                        type(entry) is not dict or entry.keys() != members or type(index := entry["index"]) is not int
                        or index != expected or dumps_sorted(entry) != masked or not is_jcs(data)
                        or entry["type"] == masked_rotation
                    ):
                        entry = None  # (a rotation, too: the general path checks and follows it)
                except errors:
                    entry = None
        if entry is None:
            found = general_line(raw, expected, prev, it, stack, progress)
            if found is None:
                continue  # a checkpoint, or a blank line
            leaf, entry_hash, entry = found
            if follow_rotations and entry["type"] == "key.rotated":
                progress.trusted = rotate(progress.trusted, entry["payload"], expected)
        prev = entry_hash

        # CompactRange.append, inlined: one merge per trailing 1 bit of the size.
        h, carry = leaf, expected
        while carry & 1:
            h = sha256(b"\x01" + pop() + h).digest()
            carry >>= 1
        push(h)
        expected += 1

    return VerifyReport(expected, expected, fold(stack), progress.checkpoints, progress.signed_size,
                        tuple(v.vkey for v in progress.trusted))

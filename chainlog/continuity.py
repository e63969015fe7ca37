"""Key continuity (R-L5b): a log signed by key K is only ever signed by K, or
by a key that a ``key.rotated`` entry introduced from K (R-L5).

`check_key` answers, for a configured signing key and a stored log: may this
key sign the log's next checkpoint? It may when the log has no checkpoint yet
(a fresh log: any key starts it), or when the latest stored checkpoint
verifies with it and no ``key.rotated`` entry after that checkpoint moved the
log to another key, or when such entries lead, each verified, from the key
that signed the latest checkpoint to it. Anything else raises
`KeyContinuityError` with a message that says what to do.

Only the entries after the latest checkpoint are read (a primary-key range),
and one or two Ed25519 verifications are made: cheap enough to run before
every signature, at start-up and in `arcreg verify`.

`trust_root` walks the log's rotations backwards from the configured key, so
that a verifier holding only today's key can verify a log whose earlier
checkpoints were signed by its predecessors: each ``key.rotated`` entry is
signed by both keys, so the incoming key, which is trusted, vouches for the
outgoing one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from . import _json
from .errors import VerificationError
from .keys import Verifier, parse_vkey, verify_rotation
from .note import open_note, parse_note
from .schema import checkpoints as checkpoints_table
from .schema import entries as entries_table

__all__ = ["KeyContinuityError", "check_key", "has_checkpoints", "latest_signer", "trust_root",
           "ROTATION_TYPE"]

ROTATION_TYPE = "key.rotated"


class KeyContinuityError(VerificationError):
    """The configured key may not sign this log (R-L5b); ``kind`` is ``key_changed``."""

    def __init__(self, message: str, *, index: int | None = None):
        super().__init__(message, kind="key_changed", index=index)


def has_checkpoints(conn: Any) -> bool:
    return conn.execute(sa.select(checkpoints_table.c.size).limit(1)).first() is not None


def _latest(conn: Any) -> Any:
    return conn.execute(
        sa.select(checkpoints_table.c.size, checkpoints_table.c.note, checkpoints_table.c.time)
        .order_by(checkpoints_table.c.size.desc()).limit(1)
    ).first()


def _rotations(conn: Any, start: int = 0) -> Iterator[tuple[int, Any]]:
    """(index, payload) of each key.rotated entry at index >= start, in log order."""
    query = (sa.select(entries_table.c.index, entries_table.c.canonical)
             .where(entries_table.c.index >= start, entries_table.c.type == ROTATION_TYPE)
             .order_by(entries_table.c.index))
    for index, canonical in conn.execute(query):
        try:
            payload = _json.loads(canonical).get("payload")
        except (*_json.ERRORS, AttributeError):
            payload = None
        yield int(index), payload


def _verifies(note: str, verifier: Verifier) -> bool:
    try:
        open_note(note, [verifier])
    except VerificationError:
        return False
    return True


def latest_signer(conn: Any) -> str:
    """How the latest checkpoint names its signer: ``name`` and key id (for messages)."""
    row = _latest(conn)
    if row is None:
        return "nobody (no checkpoint yet)"
    try:
        sigs = parse_note(row.note).signatures
    except VerificationError:
        return "an unreadable signature"
    return " and ".join(f"{s.name!r} (key id {s.key_id.hex()})" for s in sigs[:1]) or "no key"


def _describe(v: Verifier) -> str:
    return f"{v.name!r} (key id {v.key_id.hex()})"


#: What an operator can do, appended to every refusal.
REMEDY = ("Configure the key that signed the latest checkpoint (ARCREG_SIGNING_KEY_FILE, or ARCREG_SIGNING_KEY "
          "with its PEM); to change keys, stop the registry, configure the current key and run "
          "`arcreg rotate-key NEW_KEY_FILE`, which logs a key.rotated entry signed by both keys.")


def check_key(conn: Any, configured: Verifier) -> None:
    """Raise KeyContinuityError unless `configured` may sign the log's next checkpoint (R-L5b)."""
    latest = _latest(conn)
    if latest is None:
        return  # a fresh log: its first checkpoint introduces the key
    size, note = int(latest.size), latest.note
    after = list(_rotations(conn, size))
    # The key in force at the latest checkpoint: the configured key, or the
    # outgoing key of the first rotation logged after it.
    if _verifies(note, configured):
        current = configured
    else:
        current = None
        if after and isinstance(after[0][1], dict):
            try:
                outgoing = parse_vkey(after[0][1].get("outgoing_vkey"))
            except VerificationError:
                outgoing = None
            if outgoing is not None and _verifies(note, outgoing):
                current = outgoing
        if current is None:
            raise KeyContinuityError(
                f"the signing key changed: this log's latest checkpoint (size {size}, {latest.time}) was signed "
                f"by {latest_signer(conn)}, not by the configured key {_describe(configured)}, and no "
                f"key.rotated entry leads from the one to the other (R-L5b). {REMEDY}")
    for index, payload in after:
        try:
            current = verify_rotation(payload, current)
        except VerificationError as exc:
            raise KeyContinuityError(f"{exc} (R-L5b). {REMEDY}", index=index) from None
    if current != configured:
        raise KeyContinuityError(
            f"the signing key changed: the log's key.rotated entries make {_describe(current)} its key, not "
            f"the configured key {_describe(configured)} (R-L5b). Configure {current.vkey} "
            "(ARCREG_SIGNING_KEY_FILE or ARCREG_SIGNING_KEY).")


def trust_root(conn: Any, configured: Verifier) -> Verifier:
    """The key a verifier starting from `configured` trusts first: walk the
    log's rotations backwards while each one's incoming key is the trusted
    one and both signatures verify. Forward verification (chainlog.verify)
    then follows the same rotations from that key to `configured`."""
    trusted = configured
    for _index, payload in reversed(list(_rotations(conn))):
        if not isinstance(payload, dict) or payload.get("incoming_vkey") != trusted.vkey:
            break
        try:
            outgoing = parse_vkey(payload.get("outgoing_vkey"))
            verify_rotation(payload, outgoing)
        except VerificationError:
            break
        trusted = outgoing
    return trusted

"""C2SP signed-note: sign, parse and open (verify) notes (R-L4).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(4-byte key id ‖ signature)``. Parsing is strict, after
golang.org/x/mod/sumdb/note (the reference implementation): no control
characters but newline, the text ends at the *last* blank line, every line of
the signature block is a well-formed signature line, at most 100 signatures.

Opening follows the spec's rules: signatures by unknown keys (name and key id
not both matching a trusted key) are ignored; a signature by a known key that
fails to verify rejects the whole note; at least one known key must verify.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import VerificationError
from .keys import Signer, Verifier, is_valid_key_name

_SIG_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, 4-byte key id, signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_SIG_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    """A parsed note: its text (signed bytes, final newline included) and signatures."""

    text: str
    signatures: tuple[Signature, ...]
    verified: tuple[Signature, ...] = ()

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _malformed(why: str) -> VerificationError:
    return VerificationError(f"malformed note: {why}", kind="malformed")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise _malformed("text must end with a newline")
    if any(c < " " and c != "\n" for c in text):
        raise _malformed("control characters other than newline are not allowed")


def sign_note(text: str, signers: Sequence[Signer], *, keep: Iterable[Signature] = ()) -> str:
    """Sign `text` (which must end in a newline) with each signer; return the note.

    `keep` carries earlier signatures (e.g. a witness cosignature) to append
    after the new ones; a kept signature by one of `signers` is replaced.
    """
    _check_text(text)
    mine = {(s.name, s.key_id) for s in signers}
    sigs = [Signature(s.name, s.key_id, s.sign(text.encode("utf-8"))) for s in signers]
    sigs += [s for s in keep if (s.name, s.key_id) not in mine]
    if not sigs:
        raise ValueError("a note needs at least one signature")
    return text + "\n" + "".join(s.line() for s in sigs)


def parse_note(message: str | bytes) -> Note:
    """Split a signed note into text and signatures without verifying anything."""
    if isinstance(message, (bytes, bytearray)):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("not valid UTF-8") from None
    if not isinstance(message, str):
        raise _malformed("not text")
    try:
        message.encode("utf-8")  # lone surrogates are not UTF-8
    except UnicodeEncodeError:
        raise _malformed("not valid UTF-8") from None
    if any(c < " " and c != "\n" for c in message):
        raise _malformed("control characters other than newline are not allowed")
    split = message.rfind("\n\n")
    if split < 0:
        raise _malformed("no blank line before the signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise _malformed("the signature block must be non-empty and end with a newline")
    sigs: list[Signature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise _malformed(f"signature line {line!r} does not start with an em dash and a space")
        name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not is_valid_key_name(name) or not b64:
            raise _malformed(f"signature line {line!r} has no valid key name and signature")
        try:
            blob = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise _malformed(f"signature of {name} is not base64") from None
        if len(blob) < 5:
            raise _malformed(f"signature of {name} is too short")
        sigs.append(Signature(name, blob[:4], blob[4:]))
        if len(sigs) > MAX_SIGNATURES:
            raise _malformed(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(sigs))


def open_note(message: str | bytes, verifiers: Sequence[Verifier]) -> Note:
    """Parse and verify a note; return it with `.verified` set, or raise VerificationError.

    Kinds: ``malformed``; ``bad_signature`` (a trusted key's signature fails);
    ``unverified`` (no trusted key signed it).
    """
    note = parse_note(message)
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        slot = (v.name, v.key_id)
        if slot in known and known[slot] != v:
            raise VerificationError(f"ambiguous key {v.name}+{v.key_id.hex()}", kind="malformed")
        known[slot] = v
    data = note.text.encode("utf-8")
    verified: list[Signature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None or (sig.name, sig.key_id) in seen:
            continue  # unknown key (or a repeat): ignored, as the spec requires
        seen.add((sig.name, sig.key_id))
        if not v.verify(data, sig.signature):
            raise VerificationError(
                f"invalid signature for key {sig.name}+{sig.key_id.hex()}", kind="bad_signature"
            )
        verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        trusted = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in known.values()) or "none"
        raise VerificationError(
            f"note has no signature by a trusted key: expected one of {trusted}, found {names}",
            kind="unverified",
        )
    return Note(note.text, note.signatures, tuple(verified))

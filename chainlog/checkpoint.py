"""C2SP tlog-checkpoint on a signed note, and C2SP tlog-cosignature (R-L4, R-L9).

A checkpoint's note text is exactly three lines: origin, decimal tree size (no
leading zeros), base64 root hash. We never write extension lines (R-L4); when
parsing we accept them as the spec allows, and expose them.

A cosignature (Ed25519, signature type 0x04) is a witness's note signature
over ``cosignature/v1\\ntime <unix seconds>\\n`` followed by the checkpoint
text; its signature bytes are the 8-byte big-endian timestamp then the
Ed25519 signature.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import VerificationError
from .keys import Signer, Verifier, key_id
from .note import Signature, open_note, parse_note, sign_note

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")

#: C2SP signed-note signature type of Ed25519 cosignatures (tlog-cosignature).
ALG_COSIGNATURE_V1 = 0x04


def _malformed(why: str) -> VerificationError:
    return VerificationError(f"malformed checkpoint: {why}", kind="malformed")


@dataclass(frozen=True)
class Checkpoint:
    """Origin, tree size and root hash of a log (the note text of a checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        if not self.origin or "\n" in self.origin:
            raise ValueError("origin must be one non-empty line")
        if len(self.root) != 32:
            raise ValueError("root must be a 32-byte hash")
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (not a whole note: use `open_checkpoint` for that)."""
    if not text.endswith("\n"):
        raise _malformed("text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise _malformed(f"expected origin, size and root lines, got {len(lines)} line(s)")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise _malformed("empty origin line")
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) >= 2**64:
        raise _malformed(f"tree size {size_text!r} is not a decimal without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed(f"root hash {root_text!r} is not base64") from None
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != root_text:
        raise _malformed(f"root hash {root_text!r} is not the base64 of 32 bytes")
    if any(not line for line in extensions):
        raise _malformed("extension lines must be non-empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed checkpoint note (R-L4)."""
    return sign_note(checkpoint.text(), [signer])


def open_checkpoint(note: str | bytes, verifiers: Sequence[Verifier], *, origin: str | None = None) -> Checkpoint:
    """Verify a checkpoint note's signature, then parse it; optionally require its origin."""
    opened = open_note(note, verifiers)
    checkpoint = parse_checkpoint(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(
            f"checkpoint origin: expected {origin!r}, got {checkpoint.origin!r}", kind="malformed"
        )
    return checkpoint


# --- tlog-cosignature (Ed25519, v1) --------------------------------------------------


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The bytes a witness signs (C2SP tlog-cosignature, Ed25519 signed message)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp < 2**63:
        raise ValueError("timestamp must be POSIX seconds in [0, 2**63)")
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosigner_verifier(name: str, public_key: bytes) -> Verifier:
    """A witness key (type 0x04); its `.vkey` is the witness verifier key text."""
    return Verifier(name, public_key, ALG_COSIGNATURE_V1)


def cosign(note: str, witness: Signer, timestamp: int) -> Signature:
    """A witness's cosignature over the checkpoint in `note` (R-L9).

    The witness must have verified the checkpoint (and consistency with its
    previous one) before calling this. Append ``.line()`` to the note.
    """
    text = parse_note(note).text
    parse_checkpoint(text)
    sig = witness.sign(cosignature_message(text, timestamp))
    kid = key_id(witness.name, ALG_COSIGNATURE_V1, witness.public_key_bytes)
    return Signature(witness.name, kid, struct.pack(">Q", timestamp) + sig)


def verify_cosignature(note: str, witness: Verifier) -> int:
    """Find and check `witness`'s cosignature on a checkpoint note; return its timestamp.

    Raises VerificationError: ``unverified`` when the note holds no
    signature line for this witness, ``bad_signature`` when it does not verify.
    """
    parsed = parse_note(note)
    parse_checkpoint(parsed.text)
    kid = key_id(witness.name, ALG_COSIGNATURE_V1, witness.public_key)
    for sig in parsed.signatures:
        if sig.name != witness.name or sig.key_id != kid:
            continue
        if len(sig.signature) != 8 + 64:
            raise VerificationError(f"cosignature of {witness.name} has the wrong length", kind="bad_signature")
        (timestamp,) = struct.unpack(">Q", sig.signature[:8])
        if timestamp >= 2**63 or not witness.verify(cosignature_message(parsed.text, timestamp), sig.signature[8:]):
            raise VerificationError(f"invalid cosignature for key {witness.name}+{kid.hex()}", kind="bad_signature")
        return timestamp
    raise VerificationError(f"no cosignature by {witness.name}+{kid.hex()}", kind="unverified")


def cosignature_timestamp(signature: Signature) -> int:
    """The timestamp inside an Ed25519 cosignature (the 8 bytes after the key id)."""
    if len(signature.signature) != 8 + 64:
        raise VerificationError("not an Ed25519 cosignature: expected 8 + 64 signature bytes", kind="malformed")
    return struct.unpack(">Q", signature.signature[:8])[0]

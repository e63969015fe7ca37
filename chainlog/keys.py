"""Ed25519 signing keys, C2SP signed-note verifier keys, and key rotation (R-L4, R-L5).

- A `Signer` is a key name plus an Ed25519 private key. Its key id is
  SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4] (C2SP signed-note, type 0x01).
- A `Verifier` is the public half; its text form is the signed-note
  *verifier key* ``name+<8 hex key id>+base64(0x01 ‖ public key)``.
- Private keys live in a PEM file of mode 0600 or in an environment variable
  holding the PEM (R-L5) — never in the database or the repository.
- A ``key.rotated`` entry's payload (`rotation_payload`) names the incoming
  key and is signed by the outgoing one over `rotation_statement`; the
  incoming key signs the same statement too, proving it is held.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import KeyFileError, VerificationError

#: C2SP signed-note signature type byte for Ed25519.
ALG_ED25519 = 0x01


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4] (C2SP signed-note)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()[:4]


def is_valid_key_name(name: str) -> bool:
    """C2SP: non-empty, no Unicode spaces, no '+' (and no newline, a space)."""
    return isinstance(name, str) and bool(name) and "+" not in name and not any(c.isspace() for c in name)


def format_vkey(name: str, public_key: bytes, alg: int = ALG_ED25519) -> str:
    """Verifier key text: ``name+keyidhex+base64(alg ‖ public key)``."""
    if not is_valid_key_name(name):
        raise ValueError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
    kid = key_id(name, alg, public_key).hex()
    return f"{name}+{kid}+{base64.b64encode(bytes([alg]) + public_key).decode('ascii')}"


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: verifies Ed25519 signatures for one key name."""

    name: str
    public_key: bytes  # 32 raw bytes
    alg: int = ALG_ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.public_key, self.alg)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(text: str, *, alg: int = ALG_ED25519) -> Verifier:
    """Parse ``name+keyidhex+base64(alg ‖ key)``, checking the key id; VerificationError if malformed."""

    def bad(why: str) -> VerificationError:
        return VerificationError(f"verifier key {text!r}: {why}", kind="malformed")

    if not isinstance(text, str):
        raise bad("not a string")
    # The base64 part may itself contain '+': split at the first two only.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise bad("expected name+keyid+key")
    name, kid_hex, b64 = parts
    if not is_valid_key_name(name):
        raise bad("invalid key name")
    if len(kid_hex) != 8 or kid_hex != kid_hex.lower() or any(c not in "0123456789abcdef" for c in kid_hex):
        raise bad("key id must be 8 lowercase hex digits")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise bad("key is not base64") from None
    if base64.b64encode(raw).decode("ascii") != b64:
        raise bad("key is not canonical base64")
    if len(raw) != 33 or raw[0] != alg:
        raise bad(f"expected 1 type byte {alg:#04x} and a 32-byte Ed25519 key")
    verifier = Verifier(name, raw[1:], alg)
    if verifier.key_id.hex() != kid_hex:
        raise bad(f"key id {kid_hex} does not match the key (computed {verifier.key_id.hex()})")
    return verifier


class Signer:
    """A named Ed25519 signing key (the log's checkpoint key, R-L4)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey):
        if not is_valid_key_name(name):
            raise ValueError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
        self.name = name
        self._key = private_key
        self.public_key_bytes = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def __repr__(self) -> str:  # never print key material
        return f"Signer({self.vkey!r})"

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """From the 32-byte RFC 8032 secret key (used by the test vectors)."""
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, name: str, pem: bytes | str) -> Signer:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"the PEM holds a {type(key).__name__}, not an Ed25519 key")
        return cls(name, key)

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def key_id(self) -> bytes:
        """The 4-byte C2SP key id (use `.key_id.hex()` for text)."""
        return key_id(self.name, ALG_ED25519, self.public_key_bytes)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.public_key_bytes)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key_bytes)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (RFC 8032, 64 bytes)."""
        return self._key.sign(message)


def load_signer(name: str, path: str | os.PathLike, *, require_private_mode: bool = True) -> Signer:
    """Load the signing key from a PEM file; refuse one readable by group or others (R-L5)."""
    p = Path(path)
    try:
        st = p.stat()
        data = p.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read signing key {p}: {exc.strerror}") from None
    if require_private_mode and stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyFileError(f"signing key {p} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600")
    return Signer.from_pem(name, data)


def signer_from_env(name: str, variable: str, environ: Mapping[str, str] | None = None) -> Signer:
    """Load the signing key from an environment variable holding the PEM text (R-L5)."""
    env = os.environ if environ is None else environ
    pem = env.get(variable)
    if not pem:
        raise KeyFileError(f"environment variable {variable} is not set")
    return Signer.from_pem(name, pem)


def generate_key_file(name: str, path: str | os.PathLike) -> Signer:
    """Write a new Ed25519 key as PEM with mode 0600; never overwrite an existing file."""
    signer = Signer.generate(name)
    try:
        # O_EXCL: refuse to replace a key; 0o600 at creation, so no window
        # in which the key is readable by others.
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a signing key") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(signer.private_pem())
    os.chmod(path, 0o600)  # in case a umask or an existing ACL widened it
    return signer


# --- key rotation (R-L5) ------------------------------------------------------------

ROTATION_HEADER = "chainlog key rotation v1"


def rotation_statement(outgoing_vkey: str, incoming_vkey: str) -> bytes:
    """The bytes both keys sign when the log key rotates.

    ``chainlog key rotation v1\\noutgoing <vkey>\\nincoming <vkey>\\n``: a fixed
    header for domain separation (it can never be a checkpoint or a
    cosignature message), then both verifier keys, which carry names and ids.
    """
    return f"{ROTATION_HEADER}\noutgoing {outgoing_vkey}\nincoming {incoming_vkey}\n".encode()


def rotation_payload(outgoing: Signer, incoming: Signer) -> dict[str, Any]:
    """Payload of the ``key.rotated`` entry, appended while `outgoing` is still the log key."""
    message = rotation_statement(outgoing.vkey, incoming.vkey)
    return {
        "outgoing_vkey": outgoing.vkey,
        "incoming_vkey": incoming.vkey,
        "signature": base64.b64encode(outgoing.sign(message)).decode("ascii"),
        "incoming_signature": base64.b64encode(incoming.sign(message)).decode("ascii"),
    }


def verify_rotation(payload: Any, trusted: Verifier) -> Verifier:
    """Check a ``key.rotated`` payload against the currently trusted key; return the incoming key.

    Verifiers start from the first published key and follow each rotation in
    log order (R-L5). Raises VerificationError (kind ``bad_rotation``).
    """

    def bad(why: str) -> VerificationError:
        return VerificationError(f"key rotation: {why}", kind="bad_rotation")

    fields = ("outgoing_vkey", "incoming_vkey", "signature", "incoming_signature")
    if not isinstance(payload, Mapping) or any(not isinstance(payload.get(f), str) for f in fields):
        raise bad(f"payload must hold the strings {', '.join(fields)}")
    try:
        outgoing = parse_vkey(payload["outgoing_vkey"])
        incoming = parse_vkey(payload["incoming_vkey"])
        signature = base64.b64decode(payload["signature"], validate=True)
        incoming_signature = base64.b64decode(payload["incoming_signature"], validate=True)
    except (VerificationError, binascii.Error, ValueError) as exc:
        raise bad(str(exc)) from None
    if outgoing != trusted:
        raise bad(f"expected the outgoing key {trusted.vkey}, the entry names {outgoing.vkey}")
    message = rotation_statement(outgoing.vkey, incoming.vkey)
    if not trusted.verify(message, signature):
        raise bad(f"signature by the outgoing key {trusted.vkey} does not verify")
    if not incoming.verify(message, incoming_signature):
        raise bad(f"signature by the incoming key {incoming.vkey} does not verify")
    return incoming

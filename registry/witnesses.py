"""Witnesses and their cosignatures on our checkpoints (R-L9, C2SP tlog-cosignature).

A witness is registered by an administrator with its verifier key; from then
on anyone may hand the registry a cosignature line by that key — the
signature is the authentication, so posting needs no token. We keep at most
one cosignature per witness and tree size and serve them as extra signature
lines on the checkpoint note (C2SP signed-note: verifiers ignore lines by
keys they do not know, so the note still opens with the registry key alone).

Shape of a posted cosignature: ``{"checkpoint_size": n, "cosignature":
"— <name> base64(keyid ‖ timestamp ‖ sig)"}``, i.e. exactly the signature
line a C2SP tlog-witness returns from ``add-checkpoint``. The registry
rebuilds the note from its own stored checkpoint of that size, so a witness
can only cosign what we actually signed.
"""

from __future__ import annotations

from dataclasses import dataclass

import chainlog.store
from chainlog.checkpoint import ALG_COSIGNATURE_V1, cosigner_verifier, verify_cosignature
from chainlog.errors import VerificationError
from chainlog.keys import ALG_ED25519, Verifier, parse_vkey
from chainlog.note import parse_note
from sqlmodel import select

from registry.actors import Actor, require_role
from registry.db import UnitOfWork
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from registry.models import Cosignature, Witness

RULE = "R-L9"


def witness_verifier(vkey: str) -> Verifier:
    """A witness's cosigning key from its verifier key text.

    C2SP tlog-cosignature keys have type 0x04; we also accept the plain
    Ed25519 (0x01) vkey that `arcreg keygen` prints and convert it, since it
    is the same key: the key id is always recomputed for type 0x04.
    """
    try:
        return parse_vkey(vkey, alg=ALG_COSIGNATURE_V1)
    except VerificationError:
        pass
    try:
        plain = parse_vkey(vkey, alg=ALG_ED25519)
    except VerificationError as exc:
        raise InvalidInput(str(exc), field="vkey", code="invalid_vkey", rule=RULE) from None
    return cosigner_verifier(plain.name, plain.public_key)


@dataclass(frozen=True)
class WitnessOut:
    id: int
    name: str
    key_id: str
    vkey: str


def witness_out(row: Witness) -> WitnessOut:
    verifier = parse_vkey(row.vkey, alg=ALG_COSIGNATURE_V1)
    return WitnessOut(row.id, row.name, verifier.key_id.hex(), row.vkey)


def register_witness(uow: UnitOfWork, actor: Actor, vkey: str) -> WitnessOut:
    """Admin registers a witness by its verifier key (R-L9); names are unique."""
    require_role(actor, "admin")
    verifier = witness_verifier(vkey.strip())
    if uow.session.exec(select(Witness).where(Witness.name == verifier.name)).first() is not None:
        raise Conflict(f"a witness named {verifier.name!r} is already registered", field="vkey",
                       code="witness_exists", rule=RULE)
    row = Witness(name=verifier.name, vkey=verifier.vkey, created_at=uow.clock.now())
    uow.session.add(row)
    uow.flush()
    return witness_out(row)


def list_witnesses(uow: UnitOfWork, actor: Actor | None) -> list[WitnessOut]:
    """Registered witnesses and their keys: public, so clients know whom to require."""
    return [witness_out(w) for w in uow.session.exec(select(Witness).order_by(Witness.id)).all()]


@dataclass(frozen=True)
class CosignatureOut:
    witness: str
    key_id: str
    size: int
    timestamp: int
    line: str
    created: bool


def _bad(detail: str) -> RuleViolation:
    return RuleViolation(detail, field="cosignature", code="bad_cosignature", rule=RULE)


def add_cosignature(uow: UnitOfWork, checkpoint_size: int, cosignature: str) -> CosignatureOut:
    """Verify a witness's cosignature line on our checkpoint of that size and store it.

    404 unknown size; 403 unknown witness (name and key id must both match a
    registered witness, as signed-note matches keys); 422 bad signature. A
    re-post for a size the witness already cosigned keeps the first one.
    """
    stored = chainlog.store.checkpoint_at(uow.session, checkpoint_size)
    if stored is None:
        raise NotFound(f"no checkpoint of size {checkpoint_size} was signed by this registry",
                       field="checkpoint_size", code="unknown_checkpoint", rule=RULE)
    line = cosignature.strip("\n") + "\n"
    if "\n" in line[:-1]:
        raise InvalidInput("send exactly one signature line", field="cosignature", rule=RULE)
    text = parse_note(stored.note).text
    try:
        (sig,) = parse_note(text + "\n" + line).signatures
    except VerificationError as exc:
        raise InvalidInput(str(exc), field="cosignature", rule=RULE) from None
    row = uow.session.exec(select(Witness).where(Witness.name == sig.name)).first()
    verifier = None if row is None else parse_vkey(row.vkey, alg=ALG_COSIGNATURE_V1)
    if verifier is None or verifier.key_id != sig.key_id:
        raise Forbidden(f"{sig.name}+{sig.key_id.hex()} is not a registered witness key",
                        field="cosignature", code="unknown_witness", rule=RULE)
    try:
        timestamp = verify_cosignature(text + "\n" + line, verifier)
    except VerificationError as exc:
        raise _bad(str(exc)) from None
    existing = _find(uow, row.id, checkpoint_size)
    if existing is not None:
        return CosignatureOut(row.name, verifier.key_id.hex(), checkpoint_size, existing.timestamp,
                              existing.line, created=False)
    uow.session.add(Cosignature(witness_id=row.id, size=checkpoint_size, timestamp=timestamp, line=line,
                                received_at=uow.clock.now()))
    uow.flush()
    return CosignatureOut(row.name, verifier.key_id.hex(), checkpoint_size, timestamp, line, created=True)


def _find(uow: UnitOfWork, witness_id: int, size: int) -> Cosignature | None:
    return uow.session.exec(
        select(Cosignature).where(Cosignature.witness_id == witness_id, Cosignature.size == size)
    ).first()


def cosignature_lines(uow: UnitOfWork, size: int) -> list[str]:
    """Stored cosignature lines for a tree size, in witness registration order."""
    rows = uow.session.exec(
        select(Cosignature).where(Cosignature.size == size).order_by(Cosignature.witness_id)
    ).all()
    return [r.line for r in rows]


def cosigned_note(uow: UnitOfWork, stored: chainlog.store.StoredCheckpoint) -> str:
    """The registry-signed note plus every stored cosignature line (C2SP signed-note)."""
    return stored.note + "".join(cosignature_lines(uow, stored.size))


def latest_cosigned(uow: UnitOfWork) -> str:
    """The largest checkpoint that has at least one cosignature, with its lines.

    Lets a client that requires a witness get one even after the tree has
    grown past the last witnessed size (it then asks for a consistency proof).
    """
    size = uow.session.exec(select(Cosignature.size).order_by(Cosignature.size.desc()).limit(1)).first()
    stored = None if size is None else chainlog.store.checkpoint_at(uow.session, int(size))
    if stored is None:
        raise NotFound("no checkpoint has been cosigned by a witness yet", code="no_cosigned_checkpoint",
                       rule=RULE)
    return cosigned_note(uow, stored)

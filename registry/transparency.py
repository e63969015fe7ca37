"""The public face of the chain log (SPEC §12, §13.1): the signed checkpoint,
entries and proofs, with chainlog's range errors turned into 400s."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import chainlog.store
from chainlog.checkpoint import sign_checkpoint as sign_note
from chainlog.errors import RangeError
from chainlog.keys import Signer
from registry import checkpoint_signing
from registry.db import READ_ONLY, UnitOfWork
from registry.errors import InvalidInput

MAX_ENTRIES = 500  # SPEC §13: lists are paginated, at most 500 at a time
T = TypeVar("T")


@dataclass(frozen=True)
class KeyInfo:
    name: str
    key_id: str
    public_key: str
    vkey: str


def key_info(signer: Signer) -> KeyInfo:
    return KeyInfo(name=signer.name, key_id=signer.key_id.hex(),
                   public_key=base64.b64encode(signer.public_key_bytes).decode(), vkey=signer.vkey)


def current_checkpoint(uow: UnitOfWork, signer: Signer, origin: str) -> chainlog.store.StoredCheckpoint:
    """A checkpoint covering every entry this unit of work sees: the latest
    one, or one of exactly that tree signed now (R-L4).

    Never under the log's append lock (R-L4b, R-X6): a read-only unit of work
    has the checkpoint signed and stored in a transaction of its own (the
    caller's reads go on seeing their snapshot, and the proofs they compute
    are against a tree they see); a writing one (SQLite: it already holds the
    database's write lock) stores it in its own transaction, for the caller to
    commit.
    """
    session = uow.session
    n = chainlog.store.size(session)
    latest = chainlog.store.latest_checkpoint(session)
    if latest is not None and latest.size == n:
        return latest
    stored = chainlog.store.checkpoint_at(session, n)
    if stored is not None:
        return stored
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" or bind.get_execution_options().get(READ_ONLY):
        return checkpoint_signing.sign_tree(bind, signer, origin, uow.clock.now(), size=n)
    unsigned = chainlog.store.checkpoint_to_sign(session, signer, origin, n)
    return chainlog.store.store_checkpoint(session, unsigned, sign_note(unsigned, signer), uow.clock.now())


def _ranged(call: Callable[[], T], field: str) -> T:
    try:
        return call()
    except RangeError as exc:
        raise InvalidInput(str(exc), field=field, code="invalid_range", rule="R-L3") from None


def entries(uow: UnitOfWork, start: int, end: int | None) -> list[chainlog.store.StoredEntry]:
    end = start + MAX_ENTRIES if end is None else end
    if end - start > MAX_ENTRIES:
        raise InvalidInput(f"at most {MAX_ENTRIES} entries at a time", field="end", code="invalid_range")
    return _ranged(lambda: chainlog.store.entries(uow.session, start, end), "end")


def inclusion_proof(uow: UnitOfWork, index: int, size: int) -> tuple[bytes, list[bytes]]:
    if not 0 <= index < size:
        raise InvalidInput(f"index {index} is not inside a tree of size {size}", field="index",
                           code="invalid_range", rule="R-L3")
    proof = _ranged(lambda: chainlog.store.inclusion_proof(uow.session, index, size), "size")
    return chainlog.store.entry(uow.session, index).leaf_hash, proof


def consistency_proof(uow: UnitOfWork, first: int, second: int) -> list[bytes]:
    if not 0 <= first <= second:
        raise InvalidInput(f"need 0 <= first <= second, got {first} and {second}", field="first",
                           code="invalid_range", rule="R-L3")
    return _ranged(lambda: chainlog.store.consistency_proof(uow.session, first, second), "second")

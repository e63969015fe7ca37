"""Idempotency-Key records (R-T5): a retried POST returns the first response
and changes nothing more; the same key with another request is refused."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import delete

from registry.db import UnitOfWork, is_postgres
from registry.errors import InvalidInput, RuleViolation
from registry.models import IdempotencyRecord

KEEP_FOR = timedelta(hours=48)  # R-T5 asks for at least 24 hours
MAX_KEY_LENGTH = 255


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                           field="Idempotency-Key", code="invalid_idempotency_key", rule="R-T5")
    return key


def claim(uow: UnitOfWork, user_id: int, key: str) -> None:
    """R-T5: a retry that arrives while the first request with this key is
    still running waits for it here, then finds its stored response.

    On PostgreSQL: a transaction-scoped advisory lock on (user, key), taken
    before ``find`` and held until the request commits or rolls back — the
    first lock of the transaction, before any participant row (R-X5), and
    only ever awaited by requests holding no other lock. Once it is granted,
    ``find`` (a new statement under READ COMMITTED) sees the first request's
    record if it committed one. Two different keys that share the 64-bit
    hash merely wait for each other. On SQLite the whole write transaction
    already holds the database's write lock (BEGIN IMMEDIATE), so the retry
    waits in its first statement."""
    if not is_postgres(uow.session):
        return
    digest = hashlib.sha256(f"idempotency\n{user_id}\n{key}".encode()).digest()
    uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": int.from_bytes(digest[:8], "big", signed=True)})


def find(uow: UnitOfWork, user_id: int, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """The stored first response for this user's key, if any."""
    record = uow.session.get(IdempotencyRecord, (user_id, key))
    if record is not None and record.fingerprint != fingerprint:
        raise RuleViolation("this Idempotency-Key was used for a different request",
                            field="Idempotency-Key", code="idempotency_key_reused", rule="R-T5")
    return record


def remember(uow: UnitOfWork, user_id: int, key: str, fingerprint: str, status: int, body: str) -> None:
    """Store the response in the same transaction as the change it reports."""
    uow.session.add(IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint, status=status,
                                      body=body, created_at=uow.clock.now()))
    uow.flush()


def purge_expired(uow: UnitOfWork) -> int:
    """Forget records older than KEEP_FOR (run by the daily jobs)."""
    cutoff = uow.clock.now() - KEEP_FOR
    result = uow.session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return result.rowcount or 0

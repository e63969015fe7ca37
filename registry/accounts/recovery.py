"""Recovery codes (R-W1): ten single-use second factors, shown once, stored as
SHA-256. Each holds 64 random bits, so a fast hash is enough (as for API
tokens, R-P5): no dictionary reaches them. A new set retires the old one."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, update
from sqlmodel import select

from registry.accounts.models import RecoveryCode
from registry.db import UnitOfWork

COUNT = 10


def normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch not in " -")


def _hash(code: str) -> str:
    return hashlib.sha256(("arcreg recovery code\n" + normalise(code)).encode()).hexdigest()


def _new_code() -> str:
    raw = secrets.token_hex(8)
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def retire_all(uow: UnitOfWork, user_id: int) -> None:
    uow.session.execute(update(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None),
                                                   RecoveryCode.retired_at.is_(None))
                        .values(retired_at=uow.clock.now()))


def new_codes(uow: UnitOfWork, user_id: int) -> list[str]:
    """A fresh set for the user; the codes it had before stop working. Returns the
    codes: the only time they are visible."""
    retire_all(uow, user_id)
    now = uow.clock.now()
    codes = [_new_code() for _ in range(COUNT)]
    for code in codes:
        uow.session.add(RecoveryCode(user_id=user_id, code_hash=_hash(code), created_at=now))
    uow.flush()
    return codes


def use(uow: UnitOfWork, user_id: int, code: str) -> bool:
    """Spend one code: true once, for a code of the user's current set. One
    conditional UPDATE, so two sign-ins racing with the same code cannot both win."""
    if not normalise(code):
        return False
    result = uow.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(code),
                                   RecoveryCode.used_at.is_(None), RecoveryCode.retired_at.is_(None))
        .values(used_at=uow.clock.now()))
    return result.rowcount == 1


def remaining(uow: UnitOfWork, user_id: int) -> int:
    return uow.session.exec(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None), RecoveryCode.retired_at.is_(None))).one()

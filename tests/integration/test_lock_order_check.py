"""R-X5: the lock order is checked where it is enforced (registry/lockorder.py):
in a transaction that is one write, no participant row is locked after a
block row or the log lock, on SQLite as on PostgreSQL."""

from __future__ import annotations

import pytest

from registry import lockorder
from registry.actors import SYSTEM
from registry.db import UnitOfWork, session_factory
from registry.journal import record
from registry.participants import register_participant
from registry.identity import actor_of, create_admin


def _participant(engine, clock) -> int:
    with UnitOfWork(session_factory(engine), clock) as uow:
        admin, _ = create_admin(uow, "admin@registry.test")
        participant = register_participant(uow, actor_of(admin), name="Acme", country="US", gpp_signed_on=None)
        uow.commit()
        return participant.id


@pytest.mark.parametrize("later_stage", ["block row", "log"])
def test_a_participant_lock_after_a_later_lock_is_refused(engine, clock, later_stage):
    pid = _participant(engine, clock)
    with UnitOfWork(session_factory(engine), clock) as uow:
        lockorder.checked(uow)
        assert lockorder.lock_participants(uow, [pid])[pid].id == pid
        if later_stage == "block row":
            lockorder.note_rows_locked(uow)
        else:
            record(uow, "test.entry", SYSTEM, {"n": 1})
        lockorder.lock_participants(uow, [pid])  # already held: fine
        with pytest.raises(lockorder.LockOrderViolation):
            lockorder.lock_participants(uow, [pid], exclusive=True)  # stronger than held
        with pytest.raises(lockorder.LockOrderViolation):
            lockorder.lock_participants(uow, [pid + 1])


def test_the_check_ends_with_the_transaction_and_builders_are_not_checked(engine, clock):
    pid = _participant(engine, clock)
    sessions = session_factory(engine)
    with UnitOfWork(sessions, clock) as uow:
        lockorder.checked(uow)
        lockorder.note_rows_locked(uow)
        uow.commit()
        lockorder.lock_participants(uow, [pid])  # a new transaction: stage 1 again
    with UnitOfWork(sessions, clock) as uow:  # many writes in one transaction, nobody else writing
        lockorder.note_rows_locked(uow)
        assert pid in lockorder.lock_participants(uow, [pid], exclusive=True)

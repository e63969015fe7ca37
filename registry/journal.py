"""Every state change writes exactly one chain-log entry in the same
transaction as the change (SPEC §12, R-X3)."""

from __future__ import annotations

from dataclasses import dataclass

import chainlog.store
from sqlalchemy import event
from sqlalchemy.orm import Session

from registry.actors import Actor
from registry.db import UnitOfWork
from registry.lockorder import note_log_locked


@dataclass(frozen=True)
class LogRef:
    """Where an entry sits in the log: what lineage links point at (R-L2b)."""

    index: int
    leaf_hash: str  # lowercase hex

    def link(self) -> dict:
        return {"index": self.index, "leaf_hash": self.leaf_hash}


_TAIL = "arcreg.log_tail"


def record(uow: UnitOfWork, event_type: str, actor: Actor, payload: dict) -> LogRef:
    # The entry is complete in ``payload``: pending row changes need not be
    # flushed before it (they are written once, by the caller's next flush,
    # in the same transaction).
    tail = uow.session.info.setdefault(_TAIL, chainlog.store.Tail())  # this transaction's (a bulk request)
    with uow.session.no_autoflush:
        appended = chainlog.store.append(uow.session, type=event_type, actor=actor.label,
                                         payload=payload, time=uow.clock.now(), tail=tail)
    note_log_locked(uow)  # R-X5: the last lock of the transaction
    return LogRef(index=appended.index, leaf_hash=appended.leaf_hash.hex())


@event.listens_for(Session, "after_transaction_end")
def _forget_tail(session: Session, transaction) -> None:
    # What a transaction knew of the log's end ends with it (committed or not).
    if transaction.parent is None:
        session.info.pop(_TAIL, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_tail(session: Session, previous_transaction) -> None:
    # Any rollback, a savepoint's included, may have taken appended entries back.
    session.info.pop(_TAIL, None)

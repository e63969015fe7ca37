"""The administrator's integrity view: is the log verified, signed and witnessed? (R-L7, R-L9)

Read-only: it reports what is stored (the latest VerificationRun written by
`arcreg verify`, the latest signed checkpoint, the witnesses' latest
cosignatures) and never signs a new checkpoint itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import chainlog.store
from chainlog.keys import Signer
from sqlmodel import select

from registry.actors import Actor, require_role
from registry.db import UnitOfWork
from registry.models import Cosignature, VerificationRun, Witness
from registry.transparency import KeyInfo, key_info
from registry.witnesses import WitnessOut, witness_out


@dataclass(frozen=True)
class CheckpointInfo:
    size: int
    time: str


@dataclass(frozen=True)
class WitnessStatus(WitnessOut):
    cosigned_size: int | None = None
    cosigned_at: datetime | None = None  # the witness's own timestamp (C2SP tlog-cosignature)
    received_at: datetime | None = None


@dataclass(frozen=True)
class IntegrityStatus:
    verification: VerificationRun | None
    log_size: int
    checkpoint: CheckpointInfo | None
    key: KeyInfo
    witnesses: list[WitnessStatus]


def _witness_status(uow: UnitOfWork, row: Witness) -> WitnessStatus:
    base = witness_out(row)
    latest = uow.session.exec(
        select(Cosignature).where(Cosignature.witness_id == row.id).order_by(Cosignature.size.desc()).limit(1)
    ).first()
    if latest is None:
        return WitnessStatus(**vars(base))
    return WitnessStatus(**vars(base), cosigned_size=latest.size,
                         cosigned_at=datetime.fromtimestamp(latest.timestamp, UTC), received_at=latest.received_at)


def integrity_status(uow: UnitOfWork, actor: Actor | None, signer: Signer) -> IntegrityStatus:
    """Last verification, log and checkpoint sizes, the registry key, witnesses (admin only)."""
    require_role(actor, "admin")
    run = uow.session.exec(
        select(VerificationRun).order_by(VerificationRun.finished_at.desc(), VerificationRun.id.desc()).limit(1)
    ).first()
    latest = chainlog.store.latest_checkpoint(uow.session)
    witnesses = uow.session.exec(select(Witness).order_by(Witness.id)).all()
    return IntegrityStatus(
        verification=run,
        log_size=chainlog.store.size(uow.session),
        checkpoint=None if latest is None else CheckpointInfo(latest.size, latest.time),
        key=key_info(signer),
        witnesses=[_witness_status(uow, w) for w in witnesses],
    )

"""Disputes of certificate blocks after a back-dated certificate finding (R-C5)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger
from sqlmodel import Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


class BlockDispute(SQLModel, table=True):
    """One block disputed by one certificate event (R-C5): written with its
    ``block.disputed`` entry and closed by the administrator's decision
    (``block.dispute_cleared``, ``block.dispute_cancelled``,
    ``block.dispute_upheld``). Every field comes from those entries."""

    __tablename__ = "block_dispute"

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(foreign_key="block.serial", max_length=80, index=True)
    certificate_id: int = Field(foreign_key="rms_certificate.id", index=True)
    event_id: int = Field(foreign_key="rms_certificate_event.id")
    event_kind: str = Field(max_length=16)  # suspended | revoked
    event_on: date
    reason: str = Field(max_length=1000)
    lot_id: int = Field(foreign_key="lot.id")
    lot_processed_on: date
    block_state: str = Field(max_length=12)  # active | retired when disputed
    log_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    disputed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # open | cleared | cancelled (an active block, R-E5) | upheld (a retired block keeps its retirement)
    outcome: str = Field(default="open", max_length=12)
    decision_reason: str | None = Field(default=None, max_length=1000)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decision_log_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))

"""Offers: transfers held for the recipient's review (R-T6)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


class Offer(SQLModel, table=True):
    """A transfer to a participant that reviews its incoming transfers (R-T6).

    Its id is the index of the ``block.offered`` entry that made it, so the
    log names it without a sequence of its own; every field is written with
    that entry or with the entry that closed it (``block.offer_accepted``,
    ``…_rejected``, ``…_withdrawn``, ``…_lapsed``, or ``block.expired``), and
    replay re-derives it (`registry.replay.offers`)."""

    __tablename__ = "offer"
    __table_args__ = (
        Index("ix_offer_to_state", "to_participant_id", "state", "id"),
        Index("ix_offer_from_state", "from_participant_id", "state", "id"),
        Index("ix_offer_state_lapses", "state", "lapses_on"),
    )

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    serial: str = Field(foreign_key="block.serial", max_length=80, index=True)
    from_participant_id: int = Field(foreign_key="participant.id")
    to_participant_id: int = Field(foreign_key="participant.id")
    # pending | accepted | rejected | withdrawn | lapsed
    state: str = Field(max_length=12)
    lapses_on: date  # the last day it may be accepted
    leaf_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_log_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

"""Certificate blocks: contiguous serial ranges with one owner and one state (R-T1)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Index, false
from sqlmodel import Column, Field, SQLModel

from registry.sqltypes import Milli, UTCDateTime


class Block(SQLModel, table=True):
    __tablename__ = "block"
    __table_args__ = (
        Index("ix_block_owner_state", "owner_id", "state"),
        # GET /blocks?owner= pages in serial order: an index range, not a sort of all the owner's rows.
        Index("ix_block_owner_serial", "owner_id", "serial"),
        # The blocks one log entry wrote (a retirement's remainder, an entry's children).
        Index("ix_block_log_index", "log_index"),
        # A split parent's parts (its provenance head, the explorer's "split into").
        Index("ix_block_parent_serial", "parent_serial"),
        Index("ix_block_generator_year", "generator_id", "generation_year", "first_unit"),
    )

    serial: str = Field(primary_key=True, max_length=80)
    arc_code: str = Field(max_length=24)
    arc_type: str = Field(max_length=8)
    recycled_status: str = Field(max_length=2)
    quantity: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    # active | retired | expired | forfeited | cancelled, or split (a parent
    # whose range now lives in its children: history, not a holding).
    state: str = Field(max_length=12, index=True)
    owner_id: int = Field(foreign_key="participant.id")
    generator_id: int = Field(foreign_key="participant.id")
    lot_id: int = Field(foreign_key="lot.id", index=True)
    lot_reference: str = Field(max_length=100)
    determination_id: int = Field(foreign_key="determination.id")
    generation_year: int
    # Serial units are thousandths of a certificate (R-G2).
    first_unit: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_unit: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The base material mass this block stands for (restored on cancellation, R-E5).
    base_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    parent_serial: str | None = Field(default=None, foreign_key="block.serial", max_length=80)
    # R-L2b: the last log entry in this block's lineage.
    log_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    leaf_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # R-C5: under an open dispute (a back-dated certificate finding) until an administrator
    # cancels or clears it; derived from the block.disputed / block.dispute_* entries.
    disputed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class SerialCounter(SQLModel, table=True):
    """The next free serial unit per generator and generation year: locked at
    generation so serial ranges never overlap (R-G2)."""

    __tablename__ = "serial_counter"

    generator_id: int = Field(foreign_key="participant.id", primary_key=True)
    year: int = Field(primary_key=True)
    next_unit: int = Field(sa_column=Column(BigInteger, nullable=False))

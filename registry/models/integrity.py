"""Integrity records: verification runs and witnesses' cosignatures (R-L7, R-L9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


class VerificationRun(SQLModel, table=True):
    """The outcome of one `arcreg verify` of the live registry (R-L7)."""

    __tablename__ = "verification_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ok: bool
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    checkpoints: int
    bad_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    kind: str | None = Field(default=None, max_length=40)
    detail: str = Field(sa_column=Column(Text, nullable=False))


class Witness(SQLModel, table=True):
    """An independent party whose cosignatures the registry accepts (R-L9)."""

    __tablename__ = "witness"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    vkey: str = Field(max_length=400)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Cosignature(SQLModel, table=True):
    """A witness's C2SP tlog-cosignature on one of our checkpoints (R-L9)."""

    __tablename__ = "cosignature"
    __table_args__ = (UniqueConstraint("witness_id", "size", name="uq_cosignature_witness_size"),)

    id: int | None = Field(default=None, primary_key=True)
    witness_id: int = Field(foreign_key="witness.id", index=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

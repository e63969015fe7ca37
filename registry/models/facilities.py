"""Facilities, production lines and additionality determinations (SPEC §5)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import Milli, UTCDateTime


class Facility(SQLModel, table=True):
    __tablename__ = "facility"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(max_length=500)
    country: str = Field(max_length=2)
    capacity_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProductionLine(SQLModel, table=True):
    __tablename__ = "production_line"

    id: int | None = Field(default=None, primary_key=True)
    facility_id: int = Field(foreign_key="facility.id", index=True)
    name: str = Field(max_length=200)
    capacity_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Determination(SQLModel, table=True):
    """A certifier's additionality determination for one facility or line and
    one certification year (R-A2). Superseding keeps the old one (R-A7)."""

    __tablename__ = "determination"

    id: int | None = Field(default=None, primary_key=True)
    facility_id: int = Field(foreign_key="facility.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="production_line.id", index=True)
    certification_year: int = Field(index=True)
    basis: str = Field(max_length=16)
    # The request as recorded (tests, evidence digests, rationale): the audit trail.
    record: dict = Field(sa_column=Column(JSON, nullable=False))
    outcome: str = Field(max_length=16)
    reasons: list[str] = Field(sa_column=Column(JSON, nullable=False))
    eligible_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    used_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    pc_only: bool
    status: str = Field(default="current", max_length=16)
    superseded_by: int | None = Field(default=None, foreign_key="determination.id")
    recorded_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

"""Base material lots and their dispositions (SPEC §6)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import DecimalText, Milli, UTCDateTime


class Lot(SQLModel, table=True):
    """Physical RMS-certified recycled material produced by a generator (R-B1).

    The running totals (sold, claimed, used) are kept on the row so that the
    ARC-eligible mass (R-B4) is one read under the row lock at generation.
    """

    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("generator_id", "reference", name="uq_lot_generator_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    generator_id: int = Field(foreign_key="participant.id", index=True)
    facility_id: int = Field(foreign_key="facility.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="production_line.id")
    reference: str = Field(max_length=100)
    material_code: str = Field(max_length=20)
    recycled_status: str = Field(max_length=2)
    mass_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    # R-B2: the post-consumer part of a documented PC/PI split (None: not split).
    pc_kg: Decimal | None = Field(default=None, sa_column=Column(Milli(), nullable=True))
    non_plastic_fraction: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    lhv_mj_per_kg: Decimal | None = Field(default=None, sa_column=Column(DecimalText(), nullable=True))
    processed_on: date
    rms_certificate_id: int = Field(foreign_key="rms_certificate.id")
    conversion: dict = Field(sa_column=Column(JSON, nullable=False))
    inputs: list = Field(sa_column=Column(JSON, nullable=False))
    evidence: list = Field(sa_column=Column(JSON, nullable=False))
    sold_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    claimed_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    claimed_pc_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    used_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    used_pc_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    # R-U6: pounds requested so far, per ledger (registry.unit_totals): dispositions, and generations
    # (used_pc_lb: of which from the PC component of a split lot). Derived from the logged requests.
    sold_lb: Decimal = Field(default=Decimal("0.000"), sa_column=Column(Milli(), nullable=False, server_default="0"))
    used_lb: Decimal = Field(default=Decimal("0.000"), sa_column=Column(Milli(), nullable=False, server_default="0"))
    used_pc_lb: Decimal = Field(default=Decimal("0.000"),
                                sa_column=Column(Milli(), nullable=False, server_default="0"))
    disclaimer_required: bool = False
    # R-M6: the custody account the lot is an output of (its generations and claimed sales draw on its credit)
    custody_account_id: int | None = None
    log_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    leaf_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Disposition(SQLModel, table=True):
    """A sale or consumption of lot mass, with the RMS claim it carried (R-B3)."""

    __tablename__ = "lot_disposition"

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    kind: str = Field(max_length=16)
    on: date
    counterparty: str = Field(max_length=200)
    mass_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    claim: str | None = Field(default=None, max_length=60)
    claimed_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    claimed_pc_kg: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    log_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

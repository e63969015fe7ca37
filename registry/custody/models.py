"""Custody account tables (R-M1–R-M5; migration 0017).

Running sums keep every balance a couple of indexed reads (R-M4): per status
the account holds the credit ever received (``credited_*``) and the credit
ever drawn by claims or expired (``drawn_*``); each receipt carries the
account's cumulative credit through it (``cum_*``), so first-in-first-out
consumption is the prefix of receipts whose cumulative credit is at most the
drawn sum, and expiry moves that prefix forward to the last receipt whose
credit is 12 months old — no scan of receipts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import DecimalText, Milli, UTCDateTime


def _kg() -> Field:
    return Field(sa_column=Column(Milli(), nullable=False))


class CustodyAccount(SQLModel, table=True):
    """One participant's book for one product group under one control system (R-M1)."""

    __tablename__ = "custody_account"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    product_group: str = Field(max_length=200)
    control_system: str = Field(max_length=32)
    facility_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    starts_on: date
    period_months: int
    window_periods: int
    conversion_factor: Decimal = Field(sa_column=Column(DecimalText(), nullable=False))
    # R-M1 (RMS 6.4.4.5): the product class (material code without status) its outputs belong to
    output_class: str | None = Field(default=None, max_length=16)
    last_on: date | None = None  # the latest event date: the book is kept in date order
    receipts: int = 0  # receipts so far (the next receipt's seq)
    closed_periods: int = 0
    credited_pc_kg: Decimal = _kg()
    credited_pi_kg: Decimal = _kg()
    credited_r_kg: Decimal = _kg()
    drawn_pc_kg: Decimal = _kg()
    drawn_pi_kg: Decimal = _kg()
    drawn_r_kg: Decimal = _kg()
    # average content (batch level, RMS 6.4.3.3): the batch being produced
    batch_input_kg: Decimal = _kg()
    batch_certified_kg: Decimal = _kg()
    batch_output_kg: Decimal = _kg()
    batch_claimed_kg: Decimal = _kg()
    batch_open: bool = False  # the last event was an input: the next output starts using this batch
    log_index: int = 0
    leaf_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CustodyReceipt(SQLModel, table=True):
    """An input (R-M2), received once registry-wide per (supplier certificate, reference)."""

    __tablename__ = "custody_receipt"
    __table_args__ = (
        UniqueConstraint("supplier_certificate", "reference", name="uq_custody_receipt_certificate_reference"),
        UniqueConstraint("account_id", "seq", name="uq_custody_receipt_account_seq"),
        Index("ix_custody_receipt_account_expiry", "account_id", "expires_on", "seq"),
        Index("ix_custody_receipt_cum_pc", "account_id", "cum_pc_kg", "seq"),
        Index("ix_custody_receipt_cum_pi", "account_id", "cum_pi_kg", "seq"),
        Index("ix_custody_receipt_cum_r", "account_id", "cum_r_kg", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="custody_account.id")
    seq: int
    on: date
    expires_on: date
    facility_id: int = Field(foreign_key="facility.id")
    supplier_name: str = Field(max_length=200)
    supplier_participant_id: int | None = Field(default=None, foreign_key="participant.id")
    supplier_certificate: str | None = Field(default=None, max_length=16)
    reference: str = Field(max_length=200)
    material_code: str = Field(max_length=16)
    mass_kg: Decimal = _kg()
    claim: str | None = Field(default=None, max_length=60)
    certified_pc_kg: Decimal = _kg()
    certified_pi_kg: Decimal = _kg()
    certified_r_kg: Decimal = _kg()
    credit_pc_kg: Decimal = _kg()
    credit_pi_kg: Decimal = _kg()
    credit_r_kg: Decimal = _kg()
    cum_pc_kg: Decimal = _kg()
    cum_pi_kg: Decimal = _kg()
    cum_r_kg: Decimal = _kg()
    log_index: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CustodyOutput(SQLModel, table=True):
    """An output: production or sale, with the claim it leaves with (R-M3)."""

    __tablename__ = "custody_output"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="custody_account.id", index=True)
    on: date
    facility_id: int = Field(foreign_key="facility.id")
    customer: str = Field(max_length=200)
    reference: str = Field(max_length=200, index=True)
    material_code: str = Field(max_length=16)
    mass_kg: Decimal = _kg()
    claim: str | None = Field(default=None, max_length=60)
    claimed_pc_kg: Decimal = _kg()
    claimed_pi_kg: Decimal = _kg()
    claimed_r_kg: Decimal = _kg()
    log_index: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CustodyPeriod(SQLModel, table=True):
    """One reconciliation period of an account per site: its volumes as they
    accrue, and once closed its volume summary (R-M5). Totals of the period
    are the sum over its sites."""

    __tablename__ = "custody_period"

    account_id: int = Field(foreign_key="custody_account.id", primary_key=True)
    n: int = Field(primary_key=True)
    facility_id: int = Field(foreign_key="facility.id", primary_key=True)
    input_kg: Decimal = _kg()
    certified_kg: Decimal = _kg()
    credit_kg: Decimal = _kg()
    output_kg: Decimal = _kg()
    claimed_kg: Decimal = _kg()
    drawn_kg: Decimal = _kg()
    expired_kg: Decimal = _kg()
    # R-M6: credit drawn by ARC generations from the account's lots (migration 0019)
    arc_kg: Decimal = Field(default=Decimal("0.000"), sa_column=Column(Milli(), nullable=False, server_default="0"))


class CustodyClosing(SQLModel, table=True):
    """A closed period's volume summary, as its ``custody.period_closed`` entry logged it (R-M5)."""

    __tablename__ = "custody_closing"

    account_id: int = Field(foreign_key="custody_account.id", primary_key=True)
    n: int = Field(primary_key=True)
    summary: dict = Field(sa_column=Column(JSON, nullable=False))
    log_index: int = 0
    leaf_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

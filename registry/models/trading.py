"""Retirements, idempotency records and job runs (SPEC §9–§11)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import DecimalText, Milli, UTCDateTime


class Retirement(SQLModel, table=True):
    """A public retirement record (R-R1, R-R2): enough to verify the claim.

    The block's identifying fields are copied here because the record is
    public and immutable, and so that the public list filters by them
    without joins.
    """

    __tablename__ = "retirement"
    __table_args__ = (
        Index("ix_retirement_year_type", "reporting_year", "arc_type"),
        # The public list filters by the beneficiary's identity key (R-R2, R-R5, R-R8), and
        # product claims add up per (beneficiary key, product key, reporting year) (R-R5).
        Index("ix_retirement_beneficiary_key", "beneficiary_key", "reporting_year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(foreign_key="block.serial", max_length=80, unique=True)
    owner_id: int = Field(foreign_key="participant.id", index=True)
    quantity: Decimal = Field(sa_column=Column(Milli(), nullable=False))
    arc_code: str = Field(max_length=24)
    arc_type: str = Field(max_length=8)
    generation_year: int
    generator_id: int = Field(foreign_key="participant.id")
    lot_reference: str = Field(max_length=100)
    first_unit: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_unit: int = Field(sa_column=Column(BigInteger, nullable=False))
    beneficiary: str = Field(max_length=200)
    # registry.names.identity_key of the beneficiary and of the product's name (R-R5).
    beneficiary_key: str = Field(max_length=400)
    product_key: str | None = Field(default=None, max_length=400)
    claim_type: str = Field(max_length=8)
    reporting_year: int
    claim_date: date | None = None
    statement: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    basis_kg: Decimal | None = Field(default=None, sa_column=Column(Milli(), nullable=True))
    claim_share: Decimal | None = Field(default=None, sa_column=Column(DecimalText(), nullable=True))
    product: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # R-R8: a product claim's label approval reference (RMS 8.8.1, 9.1.1) and the recycled status it
    # claims (the certificates' status or a lesser one).
    label_approval_ref: str | None = Field(default=None, max_length=100)
    claimed_status: str | None = Field(default=None, max_length=2)
    retired_on: date
    # R-R6: where the claim is made (ISO 3166-1 country, optional ISO 3166-2 subdivision) and the
    # period it covers; with claim_date and statement, amendable within 30 days (R-R7).
    location_country: str | None = Field(default=None, max_length=2)
    location_subdivision: str | None = Field(default=None, max_length=6)
    period_from: date | None = None
    period_to: date | None = None
    # R-T7: a bulk retirement's id (the index of its first entry), shared by all its items.
    bulk_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    log_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    leaf_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RetirementAmendment(SQLModel, table=True):
    """One amendment of a retirement's claim details (R-R7): what changed,
    from what to what, by its ``retirement.amended`` entry (keyed by the
    entry's index: one amendment per entry)."""

    __tablename__ = "retirement_amendment"

    log_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    retirement_id: int = Field(foreign_key="retirement.id", index=True)
    serial: str = Field(max_length=80)
    amended_on: date
    # {field: {"from": old, "to": new}} as the entry logs it (dates as ISO text).
    changes: dict = Field(sa_column=Column(JSON, nullable=False))
    leaf_hash: str = Field(max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a POST with an Idempotency-Key, per user (R-T5).

    Written in the same transaction as the change it answers for, so a
    retry after a crash either finds both or neither.
    """

    __tablename__ = "idempotency_record"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    status: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class JobRun(SQLModel, table=True):
    """One run of a daily job (expiry R-E2, removal R-E4) for one UTC day.

    The unique (name, day) row is claimed in the job's own transaction, so
    however many server processes wake up at 00:00, one of them runs the job
    for that day; a process starting later the same day finds it done.
    """

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("name", "day", name="uq_job_run_name_day"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)
    day: date
    ran_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    summary: dict = Field(sa_column=Column(JSON, nullable=False))

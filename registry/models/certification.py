"""RMS certificates and their dated events (SPEC §4)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import JSON, Column, Field, SQLModel

from registry.sqltypes import UTCDateTime


class RmsCertificate(SQLModel, table=True):
    """An RMS certificate recorded by its certification body (R-C2)."""

    __tablename__ = "rms_certificate"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    number: str = Field(max_length=16, unique=True)
    body_code: str = Field(max_length=3)
    issued_on: date
    expires_on: date
    activities: list[str] = Field(sa_column=Column(JSON, nullable=False))
    facility_scope: str = Field(max_length=16)
    product_groups: list[str] = Field(sa_column=Column(JSON, nullable=False))
    control_systems: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # R-C2: the facilities the certificate covers, as it lists them: [{name, address, country}].
    facilities: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                          server_default="[]"))
    # R-C6: every validity period, renewals included ([{issued_on, expires_on}], date order; issued_on and
    # expires_on above are the latest), and every scope version ([{effective_on, activities, product_groups,
    # control_systems, facilities, members}], registry.certificate_history; the lists above are the latest).
    periods: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    versions: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                        server_default="[]"))
    group_name: str | None = Field(default=None, max_length=200)  # RMS 7.1.6.3: a group certificate's entity
    recorded_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CertificateEvent(SQLModel, table=True):
    """A suspension, reinstatement or revocation: dated, never a deletion (R-C3)."""

    __tablename__ = "rms_certificate_event"

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="rms_certificate.id", index=True)
    kind: str = Field(max_length=16)
    on: date
    reason: str = Field(max_length=1000)
    recorded_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

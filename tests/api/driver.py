"""A small test driver over the HTTP API: factories with explicit defaults
that build a realistic registry one call at a time (DESIGN example 8)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, select

from registry.clock import Clock
from registry.db import UnitOfWork, session_factory
from registry.identity import create_admin

_numbers = itertools.count(1)

DIGEST = {"sha256": "ab" * 32, "description": "mass balance report"}

#: The sites a `Driver.generator`'s multi-site certificate lists (R-G5 is strict: a lot's facility must be
#: listed): its first plant, and the plants tests add by these names.
GENERATOR_SITES = [{"name": name, "address": "1 Mill Rd, Akron OH", "country": "US"}
                   for name in ("Plant 1", "Plant 2", "Plant 100", "Small plant", "New plant", "Bigger plant",
                                "Old plant", "Two-level plant", "Quality plant")]


def kg(value) -> dict:
    return {"value": str(value), "unit": "kg"}


def t(value) -> dict:
    return {"value": str(value), "unit": "t"}


@dataclass
class Driver:
    client: object
    admin: str

    # -- plumbing ---------------------------------------------------------------
    def post(self, path: str, body: dict | None = None, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(f"/api/v1{path}", json=body, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(f"/api/v1{path}", headers=headers)

    def ok(self, path: str, body: dict | None = None, token: str | None = None, status: int = 201):
        response = self.post(path, body, token or self.admin)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    # -- factories ----------------------------------------------------------------
    def participant(self, name: str = "Acme Recycling", country: str = "US", *, activate: bool = True,
                    gpp_signed_on: str | None = "2025-06-01") -> dict:
        body = self.ok("/participants", {"name": name, "country": country, "gpp_signed_on": gpp_signed_on})
        if activate:
            body = self.ok(f"/participants/{body['id']}/activate", status=200)
        return body

    def member(self, participant_id: int, email: str | None = None) -> str:
        email = email or f"member{next(_numbers)}@example.org"
        user = self.ok(f"/participants/{participant_id}/users", {"email": email})
        return self.ok(f"/users/{user['id']}/tokens", {})["token"]

    def certifier(self, body_code: str = "NSF") -> str:
        user = self.ok("/users", {"email": f"auditor{next(_numbers)}@{body_code.lower()}.org",
                                  "role": "certifier", "body_code": body_code})
        return self.ok(f"/users/{user['id']}/tokens", {})["token"]

    def certificate(self, certifier: str, participant_id: int, **overrides) -> dict:
        body = {
            "participant_id": participant_id, "number": f"RMS-NSF-{next(_numbers):05d}",
            "issued_on": "2025-01-01", "expires_on": "2027-12-31",
            "activities": ["reprocessing", "trading"], "facility_scope": "single-site",
            "product_groups": ["PP resin", "PE resin"], "control_systems": ["mass-balance"],
            # R-G5: the site `facility` registers by default
            "facilities": [{"name": "Plant 1", "address": "1 Mill Rd, Akron OH", "country": "US"}],
            **overrides,
        }
        return self.ok("/rms-certificates", body, certifier)

    def facility(self, token: str, participant_id: int, capacity=t(20000), **overrides) -> dict:
        body = {"participant_id": participant_id, "name": "Plant 1", "address": "1 Mill Rd, Akron OH",
                "country": "US", "capacity": capacity, **overrides}
        return self.ok("/facilities", body, token)

    def determination(self, certifier: str, facility_id: int, **overrides) -> dict:
        body = {
            "facility_id": facility_id, "certification_year": 2026, "mandate_share": "0",
            "newness": {"basis": "new_operation", "operation_start": "2024-05-01"},
            "class_b": [{"test": "financial", "passed": True, "rationale": "IRR below hurdle without ARCs",
                         "evidence": [DIGEST]}],
            "evidence": [DIGEST],
            **overrides,
        }
        return self.ok("/determinations", body, certifier)

    def lot(self, token: str, facility_id: int, certificate: str, material_code: str = "PC_P3.1.9",
            mass=t(10000), **overrides) -> dict:
        body = {
            "facility_id": facility_id, "reference": f"LOT-{next(_numbers)}", "material_code": material_code,
            "mass": mass, "non_plastic_fraction": "0.01", "processed_on": "2026-02-01",
            "rms_certificate": certificate,
            "conversion": {
                "inputs": [{"material_code": "PC_P5.1.6", "mass": t(12000)}],
                # R-G6: P2 intermediates (PEQ) come from chemical recycling.
                "transformation": "chemical" if "_P2." in material_code else "physical",
                "description": "sort, wash, extrude",
                "factor": "83.333", "justification": "measured yield Q4 2025",
                "outputs": [{"material_code": material_code, "mass": mass}],
            },
            "evidence": [DIGEST],
            **overrides,
        }
        return self.ok("/lots", body, token)

    def sell(self, token: str, lot_id: int, mass, claim: str | None = None, on: str = "2026-02-15") -> dict:
        body = {"kind": "sale", "on": on, "counterparty": "Brand Co", "mass": mass}
        if claim:
            body["claim"] = claim
        return self.ok(f"/lots/{lot_id}/dispositions", body, token)

    def generate(self, token: str, lot_id: int, mass=None, component=None, status: int = 201):
        body = {"lot_id": lot_id}
        if mass is not None:
            body["mass"] = mass
        if component is not None:
            body["component"] = component
        return self.ok("/generations", body, token, status=status)

    def generator(self, name: str = "Acme Recycling") -> Generator:
        """An active, certified reprocessor with one additional facility (its
        multi-site certificate lists GENERATOR_SITES)."""
        participant = self.participant(name)
        member = self.member(participant["id"])
        certifier = self.certifier()
        cert = self.certificate(certifier, participant["id"], facility_scope="multi-site", facilities=GENERATOR_SITES)
        facility = self.facility(member, participant["id"])
        determination = self.determination(certifier, facility["id"])
        return Generator(participant["id"], member, certifier, cert["number"], facility["id"],
                         determination["id"])


@dataclass
class Generator:
    id: int
    token: str
    certifier: str
    certificate: str
    facility_id: int
    determination_id: int


def bootstrap_admin(engine: Engine, clock: Clock, lifetime_days: int | None = None) -> str:
    from datetime import timedelta

    from tests.conftest import TEST_TOKEN_LIFETIME_DAYS

    days = TEST_TOKEN_LIFETIME_DAYS if lifetime_days is None else lifetime_days
    with UnitOfWork(session_factory(engine), clock) as uow:
        _, issued = create_admin(uow, "admin@registry.test", max_lifetime=timedelta(days=days))
        uow.commit()
    return issued.token


def snapshot(engine: Engine) -> dict:
    """Every row of every table: compared before and after a refused request
    to prove that nothing was written (R-X2)."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: connection.execute(select(table).order_by(*table.primary_key.columns or table.columns)).all()
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }

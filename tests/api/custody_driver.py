"""Custody set-ups over the HTTP API, on top of tests/api/driver.py."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from tests.api.driver import Driver

_refs = itertools.count(1)
ALL_SYSTEMS = ["segregation", "average-content", "mass-balance"]


@dataclass
class Book:
    """A certified converter with facilities, and a certified supplier."""

    driver: Driver
    participant: int
    token: str
    certifier: str
    facilities: list[int]
    supplier: int
    supplier_certificate: str

    def open(self, control_system: str = "mass-balance", *, facilities: list[int] | None = None,
             starts_on: str = "2024-01-01", period_months: int = 1, status: int = 201, **extra) -> dict:
        body = {"participant_id": self.participant, "product_group": "PP resin", "control_system": control_system,
                "facility_ids": facilities or self.facilities[:1], "starts_on": starts_on,
                "period_months": period_months, **extra}
        return self.driver.ok("/custody/accounts", body, self.token, status=status)

    def receive(self, account: int, on: str, mass: dict, claim: str | None = None, *, certified: bool = True,
                reference: str | None = None, status: int = 201, **extra) -> dict:
        body = {"on": on, "supplier_name": "Sorter A" if certified else "Virgin Co",
                "reference": reference or f"INV-{next(_refs)}", "material_code": "PC_P3.1.9", "mass": mass, **extra}
        if claim is not None:
            body["claim"] = claim
            body.setdefault("supplier_certificate", self.supplier_certificate)
        return self.driver.ok(f"/custody/accounts/{account}/inputs", body, self.token, status=status)

    def output_body(self, on: str, mass: dict, claim: str | None = None, **extra) -> dict:
        body = {"on": on, "customer": "Brand Co", "reference": f"SO-{next(_refs)}", "material_code": "PC_P3.1.9",
                "mass": mass, **extra}
        if claim is not None:
            body["claim"] = claim
        return body

    def output(self, account: int, on: str, mass: dict, claim: str | None = None, **extra):
        """The raw response (the caller asserts success or the refusal)."""
        return self.driver.post(f"/custody/accounts/{account}/outputs", self.output_body(on, mass, claim, **extra),
                                self.token)

    def balance(self, account: int, on: str) -> dict:
        response = self.driver.get(f"/custody/accounts/{account}/balance?on={on}", self.token)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()


def book(driver: Driver, *, sites: int = 1) -> Book:
    converter = driver.participant("Converter X")
    token = driver.member(converter["id"])
    certifier = driver.certifier()
    driver.certificate(certifier, converter["id"], issued_on="2023-01-01", expires_on="2027-12-31",
                       activities=["converting", "reprocessing"], facility_scope="multi-site" if sites > 1 else
                       "single-site", control_systems=ALL_SYSTEMS,
                       facilities=[{"name": f"Plant {i + 1}", "address": "1 Mill Rd, Akron OH", "country": "US"}
                                   for i in range(sites)])
    facilities = [driver.facility(token, converter["id"], name=f"Plant {i + 1}")["id"] for i in range(sites)]
    supplier = driver.participant("Sorter A")
    cert = driver.certificate(certifier, supplier["id"], issued_on="2023-01-01", expires_on="2027-12-31",
                              activities=["sorting"], control_systems=ALL_SYSTEMS)
    return Book(driver, converter["id"], token, certifier, facilities, supplier["id"], cert["number"])

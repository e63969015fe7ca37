"""RMS certificates record the facilities they cover (R-C2), in the record,
the response and the log entry; a single-site certificate covers one."""

from __future__ import annotations

import json

import chainlog.store
from registry.db import session_factory
from tests.api.driver import snapshot
from tests.api.test_errors_and_health import assert_problem

SITES = [{"name": "Akron Plant", "address": "1 Mill Rd, Akron OH", "country": "US"},
         {"name": "Windsor Plant", "address": "9 River St, Windsor ON", "country": "CA"}]


def test_certificate_records_the_facilities_it_covers(driver, engine):
    participant = driver.participant("Acme Recycling")
    cert = driver.certificate(driver.certifier(), participant["id"], facility_scope="multi-site",
                              facilities=[{**SITES[0], "name": "  Akron Plant "}, SITES[1]])
    assert cert["facilities"] == SITES  # trimmed, in the order the certificate lists them
    with session_factory(engine)() as session:
        last = chainlog.store.entry(session, chainlog.store.size(session) - 1)
    assert last.type == "certificate.recorded"
    assert json.loads(last.canonical)["payload"]["facilities"] == SITES


def test_facilities_are_optional_and_default_to_none_listed(driver):
    cert = driver.certificate(driver.certifier(), driver.participant()["id"], facilities=[])
    assert cert["facilities"] == []


def test_single_site_certificate_covers_one_facility(driver, engine):
    participant = driver.participant("Acme Recycling")
    certifier = driver.certifier()
    before = snapshot(engine)
    body = {"participant_id": participant["id"], "number": "RMS-NSF-77001", "issued_on": "2025-01-01",
            "expires_on": "2027-12-31", "activities": ["reprocessing"], "facility_scope": "single-site",
            "product_groups": ["PP resin"], "control_systems": ["mass-balance"], "facilities": SITES}
    problem = assert_problem(driver.post("/rms-certificates", body, certifier), 422, "too_many_facilities")
    assert "facilities" in problem["errors"]
    bad_country = {**body, "facility_scope": "multi-site", "facilities": [{**SITES[0], "country": "us"}]}
    problem = assert_problem(driver.post("/rms-certificates", bad_country, certifier), 400, "invalid_country")
    assert "facilities[0].country" in problem["errors"]
    assert snapshot(engine) == before

"""R-L7c for renewals, amendments and groups (R-C6) and strict sites (R-G5):
a registry with them verifies; an entry appended past the services that
breaks one of their rules is refused by replay at its index (see
test_replay_rules for the method). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.driver import t
from tests.api.test_certificate_lifecycle import DEPOT, PLANT, _gen, _group, _lot_body, _member
from tests.integration.test_replay_registry_checks import assert_refused_naming, assert_replays
from tests.integration.test_replay_rules import log  # noqa: F401  (fixture)


def _renewed_and_amended(driver):
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/renew", {"issued_on": "2028-02-01", "expires_on": "2030-12-31"},
              gen.certifier, status=200)
    depot = driver.facility(gen.token, gen.id, name=DEPOT["name"], address=DEPOT["address"])
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-03-02",
                                                             "facilities": [PLANT, DEPOT]}, gen.certifier, status=200)
    return gen, depot


def test_renewals_amendments_and_groups_replay(driver, log):
    gen, depot = _renewed_and_amended(driver)
    driver.ok("/lots", _lot_body(gen, "2026-03-02", depot["id"]), gen.token)
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    a, a_token, a_plant, a_site = _member(driver, "Buckeye Sorting")
    assert _group(driver, certifier, leader, [{"participant_id": a, "facilities": [a_site]}]).status_code == 201
    driver.ok("/lots", _lot_body(_gen(a, a_token, certifier, a_plant), "2026-02-01"), a_token)
    log.assert_verifies()


def test_a_certificate_renewed_twice_keeps_its_first_period(driver, log):
    """R-C6: each renewal adds a period; the first stays. Renewed for 2028-2030 and 2031-2033, the
    certificate still covers a lot processed and a generation made in 2026, and the log verifies."""
    gen = driver.generator()
    for issued, expires in (("2028-02-01", "2030-12-31"), ("2031-01-01", "2033-12-31")):
        driver.ok(f"/rms-certificates/{gen.certificate}/renew", {"issued_on": issued, "expires_on": expires},
                  gen.certifier, status=200)
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(5))
    driver.sell(gen.token, lot["id"], t(5))
    driver.generate(gen.token, lot["id"])
    log.assert_verifies()


def test_a_group_members_generation_under_the_group_certificate_replays(driver, log):
    """R-C6, R-P2: a member certified only by the group certificate listing it (held by the group's
    leader) generates ARCs; replay finds that certificate through the member and the log verifies."""
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    member, token, plant, site = _member(driver, "Buckeye Sorting")
    assert _group(driver, certifier, leader, [{"participant_id": member, "facilities": [site]}]).status_code == 201
    driver.determination(certifier, plant)
    lot = driver.ok("/lots", _lot_body(_gen(member, token, certifier, plant), "2026-02-01"), token)
    driver.sell(token, lot["id"], t(10))
    driver.generate(token, lot["id"])
    log.assert_verifies()


def test_a_renewal_of_a_certificate_no_entry_recorded_is_refused(driver, log):
    gen, _ = _renewed_and_amended(driver)
    real = log.last("certificate.renewed")
    bad = log.append("certificate.renewed", {**real.payload, "certificate": "RMS-NSF-99999"}, real.actor)
    assert_refused_naming(log, bad, "RMS-NSF-99999")


def test_an_overlapping_renewal_is_refused(driver, log):
    gen, _ = _renewed_and_amended(driver)
    real = log.last("certificate.renewed")
    bad = log.append("certificate.renewed", {**real.payload, "issued_on": "2030-06-01"}, real.actor)
    assert_refused_naming(log, bad, "R-C6: certificate.renewed")


def test_a_back_dated_amendment_is_refused(driver, log):
    gen, _ = _renewed_and_amended(driver)
    real = log.last("certificate.amended")
    bad = log.append("certificate.amended", {**real.payload, "effective_on": "2026-01-01"}, real.actor)
    log.assert_refused_at(bad)


def test_an_amendment_effective_before_its_entrys_day_is_refused(driver, log, clock):
    """R-C6 (RMS 7.4.3): an amendment takes effect from the day it is recorded or later. Logged on
    2026-03-10, one effective on 2026-03-05 (after the amendment in force, from 2026-03-02) reaches
    back; its control, effective on the day it is logged, replays."""
    gen, _ = _renewed_and_amended(driver)
    real = log.last("certificate.amended")
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    log.append("certificate.amended", {**real.payload, "effective_on": "2026-03-10"}, real.actor)
    assert_replays(log)
    bad = log.append("certificate.amended", {**real.payload, "effective_on": "2026-03-05"}, real.actor)
    assert_refused_naming(log, bad, "before today")


def test_an_amendment_effective_before_the_amendment_in_force_is_refused(driver, log):
    """R-C6: an amendment follows the version in force. With one effective from 2026-06-01, another
    logged the same day (2026-03-02) but effective from 2026-04-01 is refused, though not before
    its own day."""
    gen, _ = _renewed_and_amended(driver)
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-06-01", "facilities": [PLANT]},
              gen.certifier, status=200)
    log.assert_verifies()
    real = log.last("certificate.amended")
    bad = log.append("certificate.amended", {**real.payload, "effective_on": "2026-04-01"}, real.actor)
    assert_refused_naming(log, bad, "before the amendment in force")


def test_a_lot_at_a_site_listed_only_from_a_later_day_is_refused(driver, log, clock):
    gen, depot = _renewed_and_amended(driver)
    driver.ok("/lots", _lot_body(gen, "2026-03-02", depot["id"]), gen.token)
    real = log.last("lot.registered")
    bad = log.append("lot.registered", {**real.payload, "lot": 10**6, "reference": "FORGED",
                                        "processed_on": "2026-03-01"}, real.actor)
    log.assert_refused_at(bad)


def test_a_lot_of_a_participant_outside_the_group_is_refused(driver, log):
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    a, a_token, a_plant, a_site = _member(driver, "Buckeye Sorting")
    b, b_token, b_plant, _ = _member(driver, "Maumee Plastics")
    assert _group(driver, certifier, leader, [{"participant_id": a, "facilities": [a_site]}]).status_code == 201
    driver.ok("/lots", _lot_body(_gen(a, a_token, certifier, a_plant), "2026-02-01"), a_token)
    log.assert_verifies()
    real = log.last("lot.registered")
    bad = log.append("lot.registered", {**real.payload, "lot": 10**6, "reference": "FORGED", "generator": b,
                                        "facility": b_plant}, real.actor)
    log.assert_refused_at(bad)


def test_a_determination_claiming_continuity_across_a_gap_is_refused(driver, log, clock):
    from tests.api.test_certificate_lifecycle import _determine, _generator_since, _renew

    clock.set(datetime(2023, 3, 1, 9, 0, tzinfo=UTC))
    gen = _generator_since(driver, "2023-01-01", "2024-06-30")
    clock.set(datetime(2025, 10, 1, 9, 0, tzinfo=UTC))
    assert _renew(driver, gen, "2025-09-01", "2028-08-31").status_code == 200
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    _determine(driver, gen.certifier, gen.facility_id, 2026)
    real = log.last("determination.recorded")
    assert real.payload["certified_since"] == "2025-09-01"
    log.assert_verifies()
    bad = log.append("determination.recorded", {**real.payload, "determination": 10**6, "supersedes": real.payload[
        "determination"], "certified_since": "2023-01-01"}, real.actor)
    log.assert_refused_at(bad)


def test_a_generation_from_a_lot_at_a_site_its_certificate_dropped_that_day_is_refused(driver, log):
    """R-G5, R-C6: generation re-checks the lot's site against the certificate's scope in force on the
    processing day, as the register stands at the generation. A lot at the depot processed on
    2026-03-02, then an amendment effective that same day listing the plant only: the depot's lot
    generates nothing (the service refuses), and a copy of a real generation citing it is refused at
    its entry."""
    from decimal import Decimal

    from tests.integration.test_replay_block_checks import _lot_link, _refused
    from tests.integration.test_replay_rules import _generation_beside

    gen, depot = _renewed_and_amended(driver)
    at_depot = driver.ok("/lots", _lot_body(gen, "2026-03-02", depot["id"]), gen.token)
    driver.sell(gen.token, at_depot["id"], t(10), on="2026-03-02")
    at_plant = driver.ok("/lots", _lot_body(gen, "2026-03-02"), gen.token)
    driver.sell(gen.token, at_plant["id"], t(10), on="2026-03-02")
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-03-02", "facilities": [PLANT]},
              gen.certifier, status=200)
    assert driver.generate(gen.token, at_depot["id"], status=422)["code"] == "facility_not_certified"
    block = driver.generate(gen.token, at_plant["id"], mass=t(1))
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    p = _generation_beside(real, 1001, 1000, Decimal(1000), Decimal(10000))
    p.update(lot=at_depot["id"], lot_reference=at_depot["reference"], prev=_lot_link(log, at_depot["id"]))
    _refused(log, log.append("block.generated", p, real.actor), says="R-G5")

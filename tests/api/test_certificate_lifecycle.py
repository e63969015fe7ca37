"""Renewal, amendment and groups (R-C6; issue 20, item 3), and R-G5 made
strict: each reproduction of the audit as a regression test, on SQLite and
PostgreSQL. Today is 2026-03-02 (tests/conftest.py NOW)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.driver import DIGEST, snapshot, t
from tests.api.test_errors_and_health import assert_problem

PLANT = {"name": "Plant 1", "address": "1 Mill Rd, Akron OH", "country": "US"}
DEPOT = {"name": "Depot 2", "address": "2 Rail St, Akron OH", "country": "US"}


def _renew(driver, gen, issued_on, expires_on, status=200, token=None):
    return driver.post(f"/rms-certificates/{gen.certificate}/renew",
                       {"issued_on": issued_on, "expires_on": expires_on}, token or gen.certifier)


# --- Renewal under the same number (RMS 7.2.2) ------------------------------------------------------


def test_re_recording_a_number_is_still_a_conflict_that_points_to_renewal(driver):
    gen = driver.generator()
    body = {"participant_id": gen.id, "number": gen.certificate, "issued_on": "2028-01-01",
            "expires_on": "2029-12-31", "activities": ["reprocessing"], "facility_scope": "single-site",
            "product_groups": ["PP resin"], "control_systems": ["mass-balance"], "facilities": [PLANT]}
    problem = assert_problem(driver.post("/rms-certificates", body, gen.certifier), 409, "certificate_exists")
    assert "renew" in problem["detail"]


def test_a_renewal_adds_a_period_and_keeps_the_history(driver):
    gen = driver.generator()  # 2025-01-01 .. 2027-12-31
    response = _renew(driver, gen, "2028-01-01", "2030-12-31")
    assert response.status_code == 200, response.get_data(as_text=True)
    entry = driver.get(f"/rms-certificates/{gen.certificate}").get_json()
    assert entry["periods"] == [{"issued_on": "2025-01-01", "expires_on": "2027-12-31"},
                                {"issued_on": "2028-01-01", "expires_on": "2030-12-31"}]
    assert (entry["issued_on"], entry["expires_on"]) == ("2028-01-01", "2030-12-31")  # the current period
    assert entry["status_today"] == "valid"
    page = driver.client.get(f"/rms-certificates/{gen.certificate}").get_data(as_text=True)
    assert "2025-01-01" in page and "2030-12-31" in page


def test_a_day_between_two_periods_is_not_valid(driver, clock):
    """Certificates 2023-01-01..2024-06-30, renewed from 2025-09-01: a lot
    processed in the gap is refused; one after the renewal is accepted."""
    clock.set(datetime(2023, 3, 1, 9, 0, tzinfo=UTC))
    gen = _generator_since(driver, "2023-01-01", "2024-06-30")
    clock.set(datetime(2025, 10, 1, 9, 0, tzinfo=UTC))
    assert _renew(driver, gen, "2025-09-01", "2028-08-31").status_code == 200
    gap = driver.post("/lots", _lot_body(gen, "2025-02-10"), gen.token)
    problem = assert_problem(gap, 422, "certificate_invalid")
    assert "2025-02-10" in problem["detail"]
    driver.ok("/lots", _lot_body(gen, "2025-09-10"), gen.token)
    driver.ok("/lots", _lot_body(gen, "2024-06-30"), gen.token)


def test_a_renewal_must_follow_the_last_period_and_cannot_revive_a_revoked_certificate(driver, engine):
    gen = driver.generator()
    other_body = driver.certifier("SCS")
    before = snapshot(engine)
    assert_problem(_renew(driver, gen, "2027-06-01", "2029-12-31"), 422, "period_overlaps")
    assert_problem(_renew(driver, gen, "2029-01-01", "2028-12-31"), 400, "invalid_date_range")
    assert_problem(_renew(driver, gen, "2028-01-01", "2029-12-31", token=other_body), 403,
                   "wrong_certification_body")
    assert_problem(driver.post("/rms-certificates/RMS-NSF-99999/renew",
                               {"issued_on": "2028-01-01", "expires_on": "2029-12-31"}, gen.certifier),
                   404, "certificate_not_found")
    assert snapshot(engine) == before  # R-X2: nothing written
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-02-01", "reason": "finding"},
              gen.certifier, status=200)
    assert_problem(_renew(driver, gen, "2028-01-01", "2029-12-31"), 422, "certificate_revoked")


def test_events_may_fall_in_any_period_but_not_between_them(driver):
    gen = driver.generator()
    assert _renew(driver, gen, "2028-03-01", "2029-12-31").status_code == 200
    assert_problem(driver.post(f"/rms-certificates/{gen.certificate}/suspend",
                               {"on": "2028-02-10", "reason": "x"}, gen.certifier), 422, "outside_validity")
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2028-03-10", "reason": "x"},
              gen.certifier, status=200)


# --- Amendment of scope and sites between audits (RMS 7.4.3) ----------------------------------------


def test_a_site_added_between_audits_covers_lots_from_its_date(driver, clock):
    gen = driver.generator()
    gen.certificate = driver.certificate(gen.certifier, gen.id, facility_scope="multi-site")["number"]
    depot = driver.facility(gen.token, gen.id, name=DEPOT["name"], address=DEPOT["address"])
    problem = assert_problem(driver.post("/lots", _lot_body(gen, "2026-03-01", depot["id"]), gen.token), 422,
                             "facility_not_certified")
    assert "Plant 1" in problem["detail"]
    amended = driver.ok(f"/rms-certificates/{gen.certificate}/amend",
                        {"effective_on": "2026-03-02", "facilities": [PLANT, DEPOT]}, gen.certifier, status=200)
    assert amended["facilities"] == [PLANT, DEPOT]
    driver.ok("/lots", _lot_body(gen, "2026-03-02", depot["id"]), gen.token)
    # the day before the amendment the depot was not listed
    assert_problem(driver.post("/lots", _lot_body(gen, "2026-03-01", depot["id"]), gen.token), 422,
                   "facility_not_certified")
    entry = driver.get(f"/rms-certificates/{gen.certificate}").get_json()
    assert [v["effective_on"] for v in entry["versions"]] == ["2025-01-01", "2026-03-02"]
    assert entry["versions"][0]["facilities"] == [PLANT]


def test_a_narrowed_scope_applies_from_its_date_and_cannot_be_back_dated(driver, engine, clock):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-02-20")
    driver.sell(gen.token, lot["id"], t(10), on="2026-02-21")
    before = snapshot(engine)
    assert_problem(driver.post(f"/rms-certificates/{gen.certificate}/amend",
                               {"effective_on": "2026-02-01", "activities": ["trading"]}, gen.certifier),
                   422, "amendment_backdated")
    assert_problem(driver.post(f"/rms-certificates/{gen.certificate}/amend",
                               {"effective_on": "2028-02-01", "activities": ["trading"]}, gen.certifier),
                   422, "outside_validity")
    assert snapshot(engine) == before
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-03-02", "activities": ["trading"]},
              gen.certifier, status=200)
    # the lot processed under the reprocessing scope still generates: the scope in force that day
    # (its generator holds no reprocessing certificate today, though: R-P2)
    assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": t(1)}, gen.token), 422,
                   "certificate_invalid")
    driver.certificate(gen.certifier, gen.id)  # another certificate covering reprocessing today
    driver.generate(gen.token, lot["id"], mass=t(1))



def test_a_site_struck_off_today_stops_generating_from_its_lot_processed_today(driver, engine, clock):
    """R-G5 at generation: the register as it stands now. A lot processed today at a listed site, whose
    site an amendment effective today then strikes off, generates nothing (RMS 7.4.3, 8.3.2)."""
    gen = driver.generator()
    gen.certificate = driver.certificate(gen.certifier, gen.id, facility_scope="multi-site")["number"]
    depot = driver.facility(gen.token, gen.id, name=DEPOT["name"], address=DEPOT["address"])
    driver.determination(gen.certifier, depot["id"])
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-03-02", "facilities": [PLANT, DEPOT]},
              gen.certifier, status=200)
    lot = driver.ok("/lots", _lot_body(gen, "2026-03-02", depot["id"]), gen.token)
    driver.sell(gen.token, lot["id"], t(10), on="2026-03-02")
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-03-02", "facilities": [PLANT]},
              gen.certifier, status=200)
    before = snapshot(engine)
    problem = assert_problem(driver.post("/generations", {"lot_id": lot["id"], "mass": t(1)}, gen.token), 422,
                             "facility_not_certified")
    assert problem["rule"] == "R-G5" and problem["detail"].startswith("the certificate covers Plant 1 (US), not this "
                                                                     "facility"), problem
    assert snapshot(engine) == before
    # listed again from today, the same lot generates
    driver.ok(f"/rms-certificates/{gen.certificate}/amend", {"effective_on": "2026-03-02", "facilities": [PLANT, DEPOT]},
              gen.certifier, status=200)
    driver.generate(gen.token, lot["id"], mass=t(1))

# --- R-G5 strict ---------------------------------------------------------------------------------


def test_a_certificate_listing_no_site_covers_none(driver):
    gen = driver.generator()
    bare = driver.certificate(gen.certifier, gen.id, facilities=[])
    problem = assert_problem(driver.post("/lots", _lot_body(gen, "2026-02-01", certificate=bare["number"]),
                                         gen.token), 422, "facility_not_certified")
    assert "no site" in problem["detail"]


# --- Group certificates (RMS 7.1.6, P3.1.4, 6.4.4.8 iii) --------------------------------------------


def _group(driver, certifier, leader, members, **overrides):
    body = {"participant_id": leader, "number": "RMS-NSF-70001", "issued_on": "2025-01-01",
            "expires_on": "2027-12-31", "activities": ["reprocessing"], "facility_scope": "group",
            "product_groups": ["PP resin"], "control_systems": ["mass-balance"], "group_name": "Ohio MRF Group",
            "members": members, **overrides}
    return driver.post("/rms-certificates", body, certifier)


def _member(driver, name, country="US", site=None):
    participant = driver.participant(name, country)
    token = driver.member(participant["id"])
    site = site or {"name": f"{name} MRF", "address": "3 Main St", "country": country}
    facility = driver.facility(token, participant["id"], name=site["name"], address=site["address"],
                               country=country)
    return participant["id"], token, facility["id"], site


def test_a_group_spanning_two_countries_is_refused(driver, engine):
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    us, _, _, us_site = _member(driver, "Buckeye Sorting")
    mx, _, _, mx_site = _member(driver, "Monterrey Reciclaje", "MX")
    before = snapshot(engine)
    problem = assert_problem(_group(driver, certifier, leader, [
        {"participant_id": us, "facilities": [us_site]}, {"participant_id": mx, "facilities": [mx_site]}]),
        422, "group_countries_differ")
    assert "members" in problem["errors"] and "MX" in problem["detail"]
    assert snapshot(engine) == before
    assert_problem(_group(driver, certifier, leader, None), 400, "members_required")


def test_each_member_cites_the_group_certificate_for_its_own_facilities(driver):
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    a, a_token, a_plant, a_site = _member(driver, "Buckeye Sorting")
    b, b_token, b_plant, b_site = _member(driver, "Maumee Plastics")
    outsider, o_token, o_plant, _ = _member(driver, "Outsider Recycling")
    response = _group(driver, certifier, leader, [{"participant_id": a, "facilities": [a_site]},
                                                  {"participant_id": b, "facilities": [b_site]}])
    assert response.status_code == 201, response.get_data(as_text=True)
    entry = driver.get("/rms-certificates/RMS-NSF-70001").get_json()
    assert entry["group_name"] == "Ohio MRF Group"
    assert [m["name"] for m in entry["members"]] == ["Buckeye Sorting", "Maumee Plastics"]
    assert {f["participant"] for f in entry["facilities"]} == {a, b}
    # A member's certificates list the group's (R-C4, R-C6); the outsider's do not.
    listed = driver.get(f"/rms-certificates?participant={a}").get_json()["items"]
    assert "RMS-NSF-70001" in [c["number"] for c in listed]
    listed = driver.get(f"/rms-certificates?participant={outsider}").get_json()["items"]
    assert "RMS-NSF-70001" not in [c["number"] for c in listed]
    gen_a = _gen(a, a_token, certifier, a_plant)
    lot = driver.ok("/lots", _lot_body(gen_a, "2026-02-01"), a_token)  # was 422 "belongs to another participant"
    driver.ok("/lots", _lot_body(_gen(b, b_token, certifier, b_plant), "2026-02-01"), b_token)
    problem = assert_problem(driver.post("/lots", _lot_body(_gen(outsider, o_token, certifier, o_plant),
                                                            "2026-02-01"), o_token), 422, "certificate_invalid")
    assert "another participant" in problem["detail"]
    # A member's second facility, not listed for it, is not covered.
    extra = driver.facility(a_token, a, name="Buckeye Annex", address="4 Main St")
    assert_problem(driver.post("/lots", _lot_body(gen_a, "2026-02-01", extra["id"]), a_token), 422,
                   "facility_not_certified")
    # The member generates under the group certificate (R-P2 through its membership).
    driver.determination(certifier, a_plant)
    driver.sell(a_token, lot["id"], t(10))
    driver.generate(a_token, lot["id"], mass=t(1))


def test_members_cannot_pool_mass_balance(driver):
    """RMS 6.4.4.8 iii: a multi-site account needs a multi-site certificate,
    not a group's; a member's single-site account at its listed site opens."""
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    a, a_token, a_plant, a_site = _member(driver, "Buckeye Sorting")
    annex = {"name": "Buckeye Annex", "address": "4 Main St", "country": "US"}
    annex_id = driver.facility(a_token, a, name=annex["name"], address=annex["address"])["id"]
    b, b_token, b_plant, b_site = _member(driver, "Maumee Plastics")
    assert _group(driver, certifier, leader, [{"participant_id": a, "facilities": [a_site, annex]},
                                              {"participant_id": b, "facilities": [b_site]}]).status_code == 201
    body = {"participant_id": a, "product_group": "PP resin", "control_system": "mass-balance",
            "facility_ids": [a_plant, annex_id], "starts_on": "2026-01-01", "period_months": 12}
    assert_problem(driver.post("/custody/accounts", body, a_token), 422, "multi_site_not_certified")
    assert_problem(driver.post("/custody/accounts", {**body, "facility_ids": [a_plant, b_plant]}, a_token), 422,
                   "facility_not_found")
    driver.ok("/custody/accounts", {**body, "facility_ids": [a_plant]}, a_token)


def test_a_member_added_by_amendment_cites_from_the_amendment(driver):
    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    a, _, _, a_site = _member(driver, "Buckeye Sorting")
    b, b_token, b_plant, b_site = _member(driver, "Maumee Plastics")
    assert _group(driver, certifier, leader, [{"participant_id": a, "facilities": [a_site]}]).status_code == 201
    gen_b = _gen(b, b_token, certifier, b_plant)
    assert_problem(driver.post("/lots", _lot_body(gen_b, "2026-03-02"), b_token), 422, "certificate_invalid")
    driver.ok("/rms-certificates/RMS-NSF-70001/amend", {
        "effective_on": "2026-03-02", "members": [{"participant_id": a, "facilities": [a_site]},
                                                  {"participant_id": b, "facilities": [b_site]}]},
        certifier, status=200)
    driver.ok("/lots", _lot_body(gen_b, "2026-03-02"), b_token)
    assert_problem(driver.post("/lots", _lot_body(gen_b, "2026-03-01"), b_token), 422, "certificate_invalid")


# --- "Continuously certified" from the certificate history (P7.2.2.2) -------------------------------


def _determine(driver, certifier, facility_id, year):
    return driver.determination(certifier, facility_id, certification_year=year,
                                newness={"basis": "new_operation", "operation_start": "2020-03-01"})


def test_a_fourteen_month_gap_breaks_continuous_certification(driver, clock):
    """The audit: certificates 2023-01-01..2024-06-30 then from 2025-09-01, and a
    2026 determination for an operation started 2020-03-01: not additional."""
    clock.set(datetime(2023, 3, 1, 9, 0, tzinfo=UTC))
    gen = _generator_since(driver, "2023-01-01", "2024-06-30")
    first = _determine(driver, gen.certifier, gen.facility_id, 2023)
    assert first["outcome"] == "additional"
    clock.set(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    _determine(driver, gen.certifier, gen.facility_id, 2024)
    clock.set(datetime(2025, 10, 1, 9, 0, tzinfo=UTC))
    assert _renew(driver, gen, "2025-09-01", "2028-08-31").status_code == 200
    _determine(driver, gen.certifier, gen.facility_id, 2025)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    d = _determine(driver, gen.certifier, gen.facility_id, 2026)
    assert d["outcome"] == "not-additional", d["reasons"]
    assert not any("continuously certified since 2023" in r for r in d["reasons"]), d["reasons"]
    assert any("New Date 2022-01-01" in r for r in d["reasons"]), d["reasons"]


def test_control_a_renewal_without_a_gap_keeps_continuous_certification(driver, clock):
    clock.set(datetime(2023, 3, 1, 9, 0, tzinfo=UTC))
    gen = _generator_since(driver, "2023-01-01", "2024-06-30")
    clock.set(datetime(2024, 6, 1, 9, 0, tzinfo=UTC))
    assert _renew(driver, gen, "2024-07-01", "2027-06-30").status_code == 200
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    d = _determine(driver, gen.certifier, gen.facility_id, 2026)  # no determination in between is needed
    assert d["outcome"] == "additional", d["reasons"]
    assert any("continuously certified since 2023" in r for r in d["reasons"]), d["reasons"]


def test_a_suspension_breaks_continuous_certification(driver, clock):
    clock.set(datetime(2023, 3, 1, 9, 0, tzinfo=UTC))
    gen = _generator_since(driver, "2023-01-01", "2027-12-31")
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2024-02-01", "reason": "x"}, gen.certifier,
              status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/reinstate", {"on": "2024-03-01", "reason": "y"},
              gen.certifier, status=200)
    d = _determine(driver, gen.certifier, gen.facility_id, 2026)  # certified again since 2024-03-01
    assert d["outcome"] == "not-additional", d["reasons"]
    assert any("New Date 2021-01-01 of certification year 2024" in r for r in d["reasons"]), d["reasons"]


# --- helpers ----------------------------------------------------------------------------------------


class _Gen:
    def __init__(self, pid, token, certifier, facility_id, certificate):
        self.id, self.token, self.certifier = pid, token, certifier
        self.facility_id, self.certificate = facility_id, certificate


def _gen(pid, token, certifier, facility_id, certificate="RMS-NSF-70001"):
    return _Gen(pid, token, certifier, facility_id, certificate)


def _generator_since(driver, issued_on, expires_on):
    participant = driver.participant("Acme Recycling", gpp_signed_on="2022-06-01")
    token = driver.member(participant["id"])
    certifier = driver.certifier()
    cert = driver.certificate(certifier, participant["id"], issued_on=issued_on, expires_on=expires_on)
    facility = driver.facility(token, participant["id"])
    return _Gen(participant["id"], token, certifier, facility["id"], cert["number"])


def _lot_body(gen, processed_on, facility_id=None, certificate=None):
    mass = t(10)
    return {"facility_id": facility_id or gen.facility_id, "reference": f"LOT-{processed_on}-{facility_id}-{certificate}",
            "material_code": "PC_P3.1.9", "mass": mass, "non_plastic_fraction": "0.01",
            "processed_on": processed_on, "rms_certificate": certificate or gen.certificate,
            "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": t(12)}], "transformation": "physical",
                           "description": "sort, wash, extrude", "factor": "83.333",
                           "justification": "measured yield", "outputs": [{"material_code": "PC_P3.1.9",
                                                                           "mass": mass}]},
            "evidence": [DIGEST]}


def test_a_group_member_s_site_is_certified_since_the_group_certificate_listed_it(driver, engine):
    """P7.2.2.2, R-C6: a determination for a group member's site reads its continuous certification
    from the group certificate that lists the site (held by the group's leader, not the member)."""
    from tests.api.test_determinations import _entries

    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    member, _, plant, site = _member(driver, "Buckeye Sorting")
    assert _group(driver, certifier, leader, [{"participant_id": member, "facilities": [site]}]).status_code == 201
    driver.determination(certifier, plant)
    [entry] = _entries(engine, "determination.recorded")
    assert entry["payload"]["certified_since"] == "2025-01-01"

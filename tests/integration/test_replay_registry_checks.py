"""R-L7b/R-L7c: each registry-event check of the offline replay
(`registry.replay.registry_events`, `amendments`, `certificate_state`,
`name_rules`) refuses what it claims to, on SQLite and PostgreSQL.

The method of `test_replay_rules`: a real registry built through the HTTP
API verifies; then one entry is appended past the services — a copy of an
entry they wrote, changed only where the rule is broken — and verification
fails as ``replay_inconsistent`` at exactly that entry. A control appends
the same entry without the fault: it replays, and verification ends later
(``state_drift`` without an index: no table holds what only the log says),
so the fault is what the replay refuses.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from registry.db import session_factory
from registry.jobs import run_daily_jobs
from tests.api.driver import t
from tests.api.test_certificate_lifecycle import _member
from tests.integration import test_replay_rules
from tests.integration.test_replay_rules import Log

log = test_replay_rules.log  # the fixture

BIG = 10**6  # an id no table holds


def assert_replays(log: Log) -> None:
    """The control: replay accepts every entry; only the tables lack the appended one."""
    report = log.verify()
    assert not report.ok, "the appended entry is in no table: verification cannot pass"
    assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()


def assert_refused_naming(log: Log, index: int, words: str) -> None:
    """Refused at ``index`` by the check whose message says ``words`` (not by replay's
    generic guard against a payload that cannot be applied)."""
    report = log.verify()
    assert not report.ok, f"entry {index} was accepted by the replay"
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", index), report.failure()
    assert words in str(report.error), report.failure()


def _copy(entry, **changes) -> dict:
    return {**copy.deepcopy(entry.payload), **changes}


# --- _new: an id recorded twice -----------------------------------------------------------------


def test_a_facility_registered_twice_is_refused(driver, log):
    """R-L7c: an id is recorded once (`_new`): a second facility.registered of the same
    facility, identical to the first, is refused (were it accepted, the tables would match)."""
    gen = driver.generator()
    log.assert_verifies()
    real = log.last("facility.registered", facility=gen.facility_id)
    bad = log.append("facility.registered", _copy(real), real.actor)
    log.assert_refused_at(bad)


def test_a_certificate_recorded_twice_is_refused(driver, log):
    """R-L7c, R-C3: the same RMS certificate recorded again (identical) is refused at its entry."""
    gen = driver.generator()
    log.assert_verifies()
    real = log.last("certificate.recorded", certificate=gen.certificate)
    bad = log.append("certificate.recorded", _copy(real), real.actor)
    assert_refused_naming(log, bad, "recorded twice")


def test_a_certificate_of_a_participant_no_entry_recorded_is_refused(driver, log):
    """R-L7c: a certificate's holder is a participant the log recorded, named at the certificate's entry."""
    gen = driver.generator()
    log.assert_verifies()
    real = log.last("certificate.recorded", certificate=gen.certificate)
    bad = log.append("certificate.recorded", _copy(real, certificate="RMS-NSF-NOBODY", participant=10**6), real.actor)
    assert_refused_naming(log, bad, "not known from earlier entries")


def test_a_lot_of_a_participant_no_entry_recorded_is_refused(driver, log):
    """R-L7c: a lot's generator is a participant the log recorded, named at the lot's entry."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    log.assert_verifies()
    real = log.last("lot.registered", lot=lot["id"])
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="NOBODY", generator=10**6), real.actor)
    assert_refused_naming(log, bad, "not known from earlier entries")


# --- participants: generator removal (R-E4) and participant.updated (RMS 8.1.4) ----------------------


def _removed_generator(driver, engine, clock):
    """A generator whose certificate expired 2026-12-31, removed by the daily job on 2028-01-02 (R-E4)."""
    gen = driver.participant("Lapsed Plastics")
    certifier = driver.certifier()
    driver.certificate(certifier, gen["id"], issued_on="2025-01-01", expires_on="2026-12-31")
    clock.set(datetime(2028, 1, 2, 9, 0, tzinfo=UTC))
    assert run_daily_jobs(session_factory(engine), clock)["removal"]["removed"] == 1
    return gen


def test_a_generator_removal_replays_and_a_second_one_is_refused(driver, log, engine, clock):
    """R-E4: removal ends the generator registration once; the status stays. The real
    removal verifies; the same entry again is refused (`participant`: already removed)."""
    gen = _removed_generator(driver, engine, clock)
    log.assert_verifies()
    real = log.last("participant.generator_removed", participant=gen["id"])
    assert real.payload["status"] == "active"
    bad = log.append("participant.generator_removed", _copy(real), real.actor)
    log.assert_refused_at(bad)


def test_a_generator_removal_changing_the_status_is_refused(driver, log, engine, clock):
    """R-E4: participant.generator_removed leaves the status as it is; one recording
    another status is refused (and the legacy participant.removed must say "removed")."""
    gen = _removed_generator(driver, engine, clock)
    other = driver.participant("Trading House")
    real = log.last("participant.generator_removed", participant=gen["id"])
    moved = {**_copy(real), **{k: log.last("participant.activated", participant=other["id"]).payload[k]
                               for k in ("participant", "name", "country")}}
    bad = log.append("participant.generator_removed", {**moved, "status": "suspended"}, real.actor)
    log.assert_refused_at(bad)


def test_a_legacy_removal_must_record_the_removed_status(driver, log, engine, clock):
    """R-E4, migration 0011: a legacy participant.removed sets the status "removed"; one
    recording the unchanged status is refused."""
    gen = _removed_generator(driver, engine, clock)
    other = driver.participant("Trading House")
    real = log.last("participant.generator_removed", participant=gen["id"])
    payload = {**_copy(real), "participant": other["id"], "name": "Trading House"}
    bad = log.append("participant.removed", {**payload, "status": "active"}, real.actor)
    log.assert_refused_at(bad)


def test_generator_removal_control(driver, log, engine, clock):
    """The control of the two tests above: the removal of another participant with its
    status unchanged replays (the table has no removal: state_drift)."""
    gen = _removed_generator(driver, engine, clock)
    other = driver.participant("Trading House")
    real = log.last("participant.generator_removed", participant=gen["id"])
    log.append("participant.generator_removed", {**_copy(real), "participant": other["id"],
                                                 "name": "Trading House"}, real.actor)
    assert_replays(log)


def _updated(driver, log):
    participant = driver.participant("Cascade Trading")
    response = driver.client.patch(f"/api/v1/participants/{participant['id']}", json={"name": "Cascade Trading LLC"},
                                   headers={"Authorization": f"Bearer {driver.admin}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    log.assert_verifies()
    return log.last("participant.updated", participant=participant["id"])


def test_a_participant_update_to_a_blank_name_is_refused(driver, log):
    """RMS 8.1.4, R-L7c: participant.updated needs a name; a blank one is refused
    (`registry.names.check_name` leaves emptiness to the caller, so only this check sees it)."""
    real = _updated(driver, log)
    bad = log.append("participant.updated", _copy(real, name="   "), real.actor)
    log.assert_refused_at(bad)


def test_a_participant_update_with_an_unknown_transfer_setting_is_refused(driver, log):
    """R-T6: incoming_transfers is "automatic" or "review"; anything else is refused."""
    real = _updated(driver, log)
    bad = log.append("participant.updated", _copy(real, incoming_transfers="sometimes"), real.actor)
    log.assert_refused_at(bad)


def test_participant_update_control(driver, log):
    """The control: the same update with another valid name and setting replays."""
    real = _updated(driver, log)
    log.append("participant.updated", _copy(real, name="Cascade Trading Inc", incoming_transfers="review"),
               real.actor)
    assert_replays(log)


# --- RMS certificates: events (R-C5), groups and amendments (R-C6) ----------------------------------


def test_a_certificate_event_outside_its_validity_is_refused(driver, log):
    """R-C5: a suspension or reinstatement is dated within the certificate's validity
    (2025-01-01 to 2027-12-31): a reinstatement dated 2028-06-01 is refused."""
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-02-01", "reason": "audit"},
              gen.certifier, status=200)
    log.assert_verifies()
    real = log.last("certificate.suspended", certificate=gen.certificate)
    bad = log.append("certificate.reinstated", _copy(real, on="2028-06-01"), real.actor)
    log.assert_refused_at(bad)


def test_certificate_event_control(driver, log):
    """The control: the same reinstatement dated within the validity replays."""
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-02-01", "reason": "audit"},
              gen.certifier, status=200)
    real = log.last("certificate.suspended", certificate=gen.certificate)
    log.append("certificate.reinstated", _copy(real, on="2026-03-01"), real.actor)
    assert_replays(log)


def _group_of(driver, log):
    """A group certificate (RMS-NSF-70001) of a leader listing one US member, as the service wrote it."""
    from tests.api.test_certificate_lifecycle import _group

    certifier = driver.certifier()
    leader = driver.participant("Group Leader")["id"]
    a, a_token, a_plant, a_site = _member(driver, "Buckeye Sorting")
    assert _group(driver, certifier, leader, [{"participant_id": a, "facilities": [a_site]}]).status_code == 201
    log.assert_verifies()
    return certifier, a_site, log.last("certificate.recorded", certificate="RMS-NSF-70001")


def test_a_group_certificate_spanning_two_countries_is_refused(driver, log):
    """R-C6 (P3.1.4): a group's members are in one country: a group certificate listing
    a Mexican member beside a US one is refused."""
    _, _, real = _group_of(driver, log)
    mx, _, _, mx_site = _member(driver, "Monterrey Reciclaje", "MX")
    payload = _copy(real, certificate="RMS-NSF-70002")
    payload["members"] = [*payload["members"], mx]
    payload["facilities"] = [*payload["facilities"], mx_site]
    bad = log.append("certificate.recorded", payload, real.actor)
    log.assert_refused_at(bad)


def test_a_group_certificate_with_members_in_two_countries_but_sites_in_one_is_refused(driver, log):
    """R-C6 (P3.1.4): the members' own countries count, not only their listed sites': a Mexican
    member listed with a US site is refused."""
    _, a_site, real = _group_of(driver, log)
    mx, _, _, _ = _member(driver, "Monterrey Reciclaje", "MX")
    payload = _copy(real, certificate="RMS-NSF-70002")
    payload["members"] = [*payload["members"], mx]
    payload["facilities"] = [*payload["facilities"], {**a_site, "name": "Second US site", "participant": mx}]
    bad = log.append("certificate.recorded", payload, real.actor)
    assert_refused_naming(log, bad, "one country")


def test_a_group_certificate_listing_a_site_in_another_country_is_refused(driver, log):
    """R-C6 (P3.1.4): and the listed sites' countries count too: US members with a Canadian site."""
    _, a_site, real = _group_of(driver, log)
    payload = _copy(real, certificate="RMS-NSF-70002")
    payload["facilities"] = [*payload["facilities"], {**a_site, "name": "Windsor site", "country": "CA"}]
    bad = log.append("certificate.recorded", payload, real.actor)
    assert_refused_naming(log, bad, "one country")


def test_a_group_certificate_listing_a_participant_no_entry_recorded_is_refused(driver, log):
    """R-L7c: a group's members are participants the log recorded."""
    _, _, real = _group_of(driver, log)
    payload = _copy(real, certificate="RMS-NSF-70002")
    payload["members"] = [*payload["members"], 10**6]
    bad = log.append("certificate.recorded", payload, real.actor)
    assert_refused_naming(log, bad, "not known from earlier entries")


def test_a_group_certificate_without_members_is_refused(driver, log):
    """R-C6: a group lists at least one member."""
    _, _, real = _group_of(driver, log)
    bad = log.append("certificate.recorded", _copy(real, certificate="RMS-NSF-70002", members=[], facilities=[]),
                     real.actor)
    log.assert_refused_at(bad)


def test_group_certificate_control(driver, log):
    """The control: the same group certificate under another number replays."""
    _, _, real = _group_of(driver, log)
    log.append("certificate.recorded", _copy(real, certificate="RMS-NSF-70002"), real.actor)
    assert_replays(log)


def _group_amended(driver, log):
    """The group amended from today to list a second US member beside the first (the first
    stays listed), and a determination by the group's body for the new member's plant."""
    certifier, a_site, _ = _group_of(driver, log)
    a = log.last("certificate.recorded", certificate="RMS-NSF-70001").payload["members"][0]
    b, b_token, b_plant, b_site = _member(driver, "Maumee Plastics")
    driver.ok("/rms-certificates/RMS-NSF-70001/amend", {
        "effective_on": "2026-03-02", "members": [{"participant_id": a, "facilities": [a_site]},
                                                  {"participant_id": b, "facilities": [b_site]}]},
        certifier, status=200)
    driver.determination(certifier, b_plant)
    return log.last("certificate.amended", certificate="RMS-NSF-70001")


def test_a_member_added_by_a_group_amendment_is_certified_by_the_group(driver, log):
    """R-C6, R-X10: a member a group amendment adds holds the group's certificate: the
    group's body may record a determination for its plant, and the log verifies."""
    _group_amended(driver, log)
    log.assert_verifies()


def test_a_group_amendment_spanning_two_countries_is_refused(driver, log):
    """R-C6 (P3.1.4): an amendment of a group certificate keeps its members in one
    country: one adding a Mexican member is refused."""
    real = _group_amended(driver, log)
    mx, _, _, mx_site = _member(driver, "Monterrey Reciclaje", "MX")
    payload = _copy(real)
    payload["members"] = [*payload["members"], mx]
    payload["facilities"] = [*payload["facilities"], mx_site]
    bad = log.append("certificate.amended", payload, real.actor)
    log.assert_refused_at(bad)


def test_group_amendment_control(driver, log):
    """The control: the same amendment again, all members in the US, replays."""
    real = _group_amended(driver, log)
    log.append("certificate.amended", _copy(real), real.actor)
    assert_replays(log)


def _site_amendment(driver, log):
    from tests.integration.test_replay_certificate_history import _renewed_and_amended

    gen, _ = _renewed_and_amended(driver)
    log.assert_verifies()
    return gen, log.last("certificate.amended", certificate=gen.certificate)


def test_an_amendment_listing_members_of_a_certificate_that_is_no_group_is_refused(driver, log):
    """R-C6: only a group certificate lists member participants."""
    gen, real = _site_amendment(driver, log)
    bad = log.append("certificate.amended", _copy(real, members=[gen.id]), real.actor)
    log.assert_refused_at(bad)


def test_site_amendment_control(driver, log):
    """The control: the same amendment without members replays."""
    gen, real = _site_amendment(driver, log)
    log.append("certificate.amended", _copy(real), real.actor)
    assert_replays(log)


# --- facilities and lines (R-A9) ------------------------------------------------------------------


def _line(driver, log):
    gen = driver.generator()
    line = driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line A", "capacity": t(10)}, gen.token)
    log.assert_verifies()
    return log.last("facility.line_registered", line=line["id"])


def test_lines_beyond_their_facility_s_capacity_are_refused(driver, log):
    """R-A9: a facility's lines are parts of it: a line taking their capacity past the
    facility's 20 000 t is refused."""
    real = _line(driver, log)
    bad = log.append("facility.line_registered", _copy(real, line=BIG, capacity_kg="20000000.000"), real.actor)
    log.assert_refused_at(bad)


def test_line_control(driver, log):
    """The control: another line within the facility's capacity replays."""
    real = _line(driver, log)
    log.append("facility.line_registered", _copy(real, line=BIG, capacity_kg="19990000.000"), real.actor)
    assert_replays(log)


def test_a_determination_by_a_body_whose_certificate_has_events_replays(driver, log):
    """R-X10: the body's certificate for the participant is read with its events (here a
    suspension and a reinstatement, before the determination's year is over): it still holds it
    for the year, and the log verifies."""
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-02-10", "reason": "audit"}, gen.certifier,
              status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/reinstate", {"on": "2026-02-20", "reason": "fixed"},
              gen.certifier, status=200)
    driver.determination(gen.certifier, gen.facility_id, mandate_share="0.5")
    log.assert_verifies()


def test_an_event_dated_before_a_later_dated_revocation_replays(driver, log):
    """R-C3: nothing follows a revocation *from its date*: a certificate revoked from 2026-06-01 may
    still be suspended from 2026-04-01, recorded after the revocation, and the log verifies."""
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-06-01", "reason": "audit"}, gen.certifier,
              status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-04-01", "reason": "audit"}, gen.certifier,
              status=200)
    log.assert_verifies()


# --- lots (R-B1, R-G5) --------------------------------------------------------------------------------


def _lot(driver, log):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    log.assert_verifies()
    return gen, log.last("lot.registered", lot=lot["id"])


def test_a_lot_at_another_participant_s_facility_is_refused(driver, log):
    """R-B1, R-L7c: a generator registers lots at its own facilities: a lot of the
    generator at another participant's plant (also named "Plant 1", so the generator's
    certificate would list it) is refused."""
    gen, real = _lot(driver, log)
    other = driver.participant("Northwind Packaging")
    plant = driver.facility(driver.member(other["id"]), other["id"])
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="FORGED", facility=plant["id"]), real.actor)
    log.assert_refused_at(bad)


def test_a_peq_lot_from_a_physical_transformation_is_refused(driver, log):
    """R-G6 (P6.1.3): a P2 intermediate, which generates PEQ, comes from chemical recycling: the
    same lot logged with a physical transformation is refused at its entry."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PC_P2.1.1", t(2), lhv_mj_per_kg="42.5")
    log.assert_verifies()
    real = log.last("lot.registered", lot=lot["id"])
    assert real.payload["conversion"]["transformation"] == "chemical"
    conversion = {**real.payload["conversion"], "transformation": "physical"}
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="FORGED", conversion=conversion), real.actor)
    assert_refused_naming(log, bad, "R-G6")


def test_inputs_replay_against_their_supplier_certificates_events(driver, log):
    """R-B8: a cited input is dated by its receipt, or by the lot's processing day when the lot
    states none, and its supplier certificate's suspension counts. Lots citing a certificate
    suspended 2026-01-10 to 2026-01-20 with inputs received before and after, and one with no
    receipt date (processed 2026-02-01), verify; a copy received during the suspension is refused."""
    from tests.api.test_supplier_inputs import _input, driver_lot_body, suspended_supplier

    gen = driver.generator()
    number = suspended_supplier(driver)
    body = driver_lot_body(driver, gen)
    for reference, received in (("BEFORE", {"received_on": "2026-01-05"}), ("AFTER", {"received_on": "2026-01-25"}),
                                ("UNDATED", {})):
        lot = driver.ok("/lots", dict(body, reference=reference, inputs=[_input(number, **received)]), gen.token)
    log.assert_verifies()
    real = log.last("lot.registered", lot=lot["id"])
    inputs = [{**real.payload["inputs"][0], "received_on": "2026-01-15"}]
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="FORGED", inputs=inputs), real.actor)
    assert_refused_naming(log, bad, "R-B8")


def test_lot_control(driver, log):
    """The control: the same lot at the generator's own plant replays."""
    gen, real = _lot(driver, log)
    log.append("lot.registered", _copy(real, lot=BIG, reference="FORGED"), real.actor)
    assert_replays(log)


def test_a_certificate_recorded_before_sites_were_listed_covers_its_lots_sites(driver, log):
    """R-G5 (migration 0018, docs/decisions.md): a certificate recorded without sites
    and before sites were listed strictly covers the sites of the lots citing it, in the
    order they were registered (`certificate_state.adopt_site`): such a lot replays,
    where one citing a certificate listing no site is refused (R-G5)."""
    gen, real = _lot(driver, log)
    cert = log.last("certificate.recorded", certificate=gen.certificate)
    legacy = {k: v for k, v in _copy(cert, certificate="RMS-NSF-LEGACY", facilities=[]).items() if k != "strict_sites"}
    log.append("certificate.recorded", legacy, cert.actor)
    for lot in (BIG, BIG + 1):  # the second lot at the same site adds no site
        log.append("lot.registered", _copy(real, lot=lot, reference=f"LEGACY-{lot}", rms_certificate="RMS-NSF-LEGACY"),
                   real.actor)
    assert_replays(log)


def test_an_amended_certificate_covers_only_the_sites_it_lists(driver, log):
    """R-G5, R-C6: an amendment lists the certificate's sites from its day; a lot at another
    facility of the holder, listed nowhere, is refused (an amendment never makes a certificate
    adopt the sites of its lots)."""
    gen, real = _site_amendment(driver, log)
    plant_2 = driver.facility(gen.token, gen.id, name="Plant 2")
    made = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-03-02")
    log.assert_verifies()
    lot = log.last("lot.registered", lot=made["id"])
    bad = log.append("lot.registered", _copy(lot, lot=BIG, reference="ELSEWHERE", facility=plant_2["id"]), lot.actor)
    assert_refused_naming(log, bad, "R-G5")


def test_a_certificate_recorded_before_sites_were_listed_stops_adopting_once_amended(driver, log):
    """R-G5 (migration 0018): a legacy certificate adopts its lots' sites only until an amendment
    lists its sites; after one, a lot at a site it does not list is refused."""
    gen, real = _lot(driver, log)
    cert = log.last("certificate.recorded", certificate=gen.certificate)
    legacy = {k: v for k, v in _copy(cert, certificate="RMS-NSF-LEGACY", facilities=[]).items() if k != "strict_sites"}
    log.append("certificate.recorded", legacy, cert.actor)
    amendment = {"certificate": "RMS-NSF-LEGACY", "effective_on": "2026-03-02", "activities": cert.payload["activities"],
                 "product_groups": cert.payload.get("product_groups"), "control_systems": cert.payload.get("control_systems"),
                 "facilities": [{"name": "Depot 9", "address": "9 Dock St", "country": "US"}], "members": None}
    log.append("certificate.amended", {**{k: v for k, v in cert.payload.items() if k in ("body",)}, **amendment},
               cert.actor)
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="LEGACY", rms_certificate="RMS-NSF-LEGACY"),
                     real.actor)
    assert_refused_naming(log, bad, "R-G5")


def test_a_strict_certificate_listing_no_site_covers_no_lot(driver, log):
    """The counterpart of the test above: the same certificate recorded strictly (no
    sites, strict_sites) covers no site, so the lot citing it is refused (R-G5)."""
    gen, real = _lot(driver, log)
    cert = log.last("certificate.recorded", certificate=gen.certificate)
    log.append("certificate.recorded", _copy(cert, certificate="RMS-NSF-LEGACY", facilities=[]), cert.actor)
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="LEGACY", rms_certificate="RMS-NSF-LEGACY"),
                     real.actor)
    log.assert_refused_at(bad)


def test_a_site_registered_before_countries_were_logged_is_not_held_to_the_site_list(driver, log):
    """R-G5: a facility logged without a country (before the field) cannot be matched
    with a certificate's sites, so its lots are not refused for it: a lot at such a
    plant, which the certificate does not list by name, replays."""
    gen, real = _lot(driver, log)
    site = log.last("facility.registered", facility=gen.facility_id)
    legacy = {k: v for k, v in _copy(site, facility=BIG, name="Unlisted plant").items() if k != "country"}
    log.append("facility.registered", legacy, site.actor)
    log.append("lot.registered", _copy(real, lot=BIG, reference="LEGACY", facility=BIG), real.actor)
    assert_replays(log)


def test_a_lot_at_a_site_its_certificate_does_not_list_is_refused(driver, log):
    """The counterpart of the test above: the same plant with its country is held to the
    certificate's sites, and the lot is refused (R-G5)."""
    gen, real = _lot(driver, log)
    site = log.last("facility.registered", facility=gen.facility_id)
    log.append("facility.registered", _copy(site, facility=BIG, name="Unlisted plant"), site.actor)
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="LEGACY", facility=BIG), real.actor)
    log.assert_refused_at(bad)


# --- dispositions (R-B3, R-B4) ------------------------------------------------------------------------


def _sale(driver, log, claim=None, **lot):
    gen = driver.generator()
    made = driver.lot(gen.token, gen.facility_id, gen.certificate, **lot)
    driver.sell(gen.token, made["id"], t(4) if claim else t(5), claim=claim)
    log.assert_verifies()
    return log.last("lot.disposition", lot=made["id"])


def test_r_b4_the_claims_of_a_lot_s_sales_add_up(driver, log):
    """R-B4: a lot's claimed mass is the sum of its sales' claims: two claimed sales of 4 t and 5 t of a
    10 t lot leave 1 t for ARCs, which a 2 t generation exceeds; replayed, the claimed mass is the
    lot's 9 t (compared with the table: a replay keeping only the last sale's claim drifts)."""
    gen = driver.generator()
    made = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    for sold in (4, 5):
        driver.sell(gen.token, made["id"], t(sold), claim="RMS 100% PC MB")
    driver.sell(gen.token, made["id"], t(1))
    driver.generate(gen.token, made["id"], mass=t(2), status=422)
    assert driver.get(f"/lots/{made['id']}", gen.token).get_json()["claimed_kg"] == "9000.000"
    log.assert_verifies()


def test_a_sale_claiming_more_than_it_sold_is_refused(driver, log):
    """R-B3: a sale claims at most its own mass: 6 t claimed on a sale of 5 t is
    refused, though the lot (10 t, 10 t sold) would have room for the claim."""
    real = _sale(driver, log, mass=t(10))
    bad = log.append("lot.disposition", _copy(real, disposition=BIG, claimed_kg="6000.000"), real.actor)
    log.assert_refused_at(bad)


def test_a_sale_claiming_more_post_consumer_than_it_claims_is_refused(driver, log):
    """R-B2, R-B3: a claim's post-consumer part is part of the claim: 2 t PC of 1 t claimed is refused."""
    real = _sale(driver, log, mass=t(10))
    bad = log.append("lot.disposition", _copy(real, disposition=BIG, claimed_kg="1000.000",
                                              claimed_pc_kg="2000.000"), real.actor)
    log.assert_refused_at(bad)


def test_sale_claim_control(driver, log):
    """The control: the same sale claiming all of its 5 t, 1 t of it PC, replays."""
    real = _sale(driver, log, mass=t(10))
    log.append("lot.disposition", _copy(real, disposition=BIG, claimed_kg="5000.000", claimed_pc_kg="1000.000"),
               real.actor)
    assert_replays(log)


def _split_sale(driver, log):
    """A split lot (6 t PC, 4 t PI) and a sale of 4 t claiming 4 t PC."""
    return _sale(driver, log, claim="RMS 100% PC MB", material_code="PI_P3.1.5", mass=t(10), pc_mass=t(6),
                 pi_mass=t(4))


def test_a_sale_overdrawing_the_post_consumer_component_is_refused(driver, log):
    """R-B2, R-B4: per component, claimed + ARC mass stays within it: a second sale of
    4 t claiming 4 t PC makes 8 t PC claimed of a 6 t PC component, and is refused."""
    real = _split_sale(driver, log)
    assert (real.payload["claimed_kg"], real.payload["claimed_pc_kg"]) == ("4000.000", "4000.000")
    bad = log.append("lot.disposition", _copy(real, disposition=BIG), real.actor)
    log.assert_refused_at(bad)


def test_split_sale_control(driver, log):
    """The control: the same sale claiming 2 t of it as PC (6 t PC, 2 t PI in all) replays."""
    real = _split_sale(driver, log)
    log.append("lot.disposition", _copy(real, disposition=BIG, claimed_pc_kg="2000.000"), real.actor)
    assert_replays(log)


# --- retirement.amended (R-R7, R-P3) ------------------------------------------------------------------

BAVARIA = {"country": "DE", "subdivision": "DE-BY"}
YEAR_2026 = {"from": "2026-01-01", "to": "2026-12-31"}
FIRST_HALF = {"from": "2026-02-01", "to": "2026-06-30"}


def _amended(driver, log):
    """A retirement on 2026-03-02 with a location and a period, amended the same day
    (statement set, period narrowed, location cleared): as the services wrote it."""
    from tests.api.test_retirements import _holding, _retire

    gen = driver.generator()
    done = _retire(driver, gen.token, _holding(driver, gen)["serial"], "4", beneficiary="Corner Shop GmbH",
                   location=BAVARIA, period=YEAR_2026)
    driver.ok(f"/retirements/{done['id']}/amendments", {"statement": "Our 2026 PP bottles", "period": FIRST_HALF,
                                                         "location": None}, gen.token)
    real = log.last("retirement.amended", serial=done["serial"])
    assert real.payload["changes"]["period"] == {"from": YEAR_2026, "to": FIRST_HALF}
    return gen, real


def _next(real, **changes) -> dict:
    """A further amendment of the same retirement: the statement changed again, from what it now is."""
    return _copy(real, changes={"statement": {"from": "Our 2026 PP bottles", "to": "Our 2026 PE trays"}}, **changes)


def test_an_amended_claim_period_and_location_replay(driver, log):
    """R-R7: the replayed retirement takes each amended detail (the period and the
    location as their two columns each), so the log verifies against the tables."""
    _amended(driver, log)
    log.assert_verifies()


def test_an_amendment_of_a_retirement_the_log_never_recorded_is_refused(driver, log):
    """R-R7, R-L7c: an amendment names a retirement the log recorded."""
    _, real = _amended(driver, log)
    bad = log.append("retirement.amended", _next(real, serial="PP-2026-999-1-1000"), real.actor)
    assert_refused_naming(log, bad, "no retirement")


def test_an_amendment_by_another_participant_is_refused(driver, log):
    """R-R7: only the participant that retired the certificates amends the claim."""
    _, real = _amended(driver, log)
    other = driver.participant("Northwind Packaging")
    bad = log.append("retirement.amended", _next(real, owner=other["id"]), real.actor)
    log.assert_refused_at(bad)


def test_an_amendment_misdating_the_retirement_is_refused(driver, log):
    """R-R7: the retirement date the window runs from is the one the log recorded."""
    _, real = _amended(driver, log)
    bad = log.append("retirement.amended", _next(real, retired_on="2026-02-20"), real.actor)
    log.assert_refused_at(bad)


def test_an_amendment_whose_changes_are_not_an_object_is_refused(driver, log):
    """R-L7c: changes is an object of fields."""
    _, real = _amended(driver, log)
    bad = log.append("retirement.amended", _copy(real, changes=[["statement", "Our 2026 PE trays"]]), real.actor)
    assert_refused_naming(log, bad, "changes is not an object")


def test_an_amendment_misstating_the_old_value_is_refused(driver, log):
    """R-R7: each change's old value is what the claim held until then (here the entry
    repeats the first amendment, whose old period the claim no longer holds)."""
    _, real = _amended(driver, log)
    bad = log.append("retirement.amended", _copy(real, changes={"period": {"from": YEAR_2026, "to": None}}),
                     real.actor)
    log.assert_refused_at(bad)


def test_an_amendment_dated_another_day_than_its_entry_is_refused(driver, log):
    """R-R7: the amendment is dated by its entry's own time (2026-03-02), not by what it says."""
    _, real = _amended(driver, log)
    bad = log.append("retirement.amended", _next(real, amended_on="2026-03-01"), real.actor)
    log.assert_refused_at(bad)


def test_an_amendment_by_a_suspended_participant_is_refused(driver, log):
    """R-P3: a suspended participant amends nothing."""
    gen, real = _amended(driver, log)
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    bad = log.append("retirement.amended", _next(real), real.actor)
    log.assert_refused_at(bad)


def test_an_amendment_of_a_field_that_is_no_claim_detail_is_refused(driver, log):
    """R-R7, RMS 8.8.3: the retired quantity never changes (`amendments.check_amendment`)."""
    _, real = _amended(driver, log)
    bad = log.append("retirement.amended", _copy(real, changes={"quantity": {"from": "4.000", "to": "5.000"}}),
                     real.actor)
    log.assert_refused_at(bad)


def test_details_set_where_none_was_and_cleared_replay_as_the_tables_hold_them(driver, log):
    """R-R7, R-L7b: a claim with no location is given one (a subdivision too) and its period is
    cleared; a second amendment states those as the old values and changes them again. Replay
    reads an absent detail as None and each set or cleared detail into its columns, so both
    amendments replay and the tables match."""
    from tests.api.test_retirements import _holding, _retire

    gen = driver.generator()
    done = _retire(driver, gen.token, _holding(driver, gen)["serial"], "4", period=YEAR_2026)
    driver.ok(f"/retirements/{done['id']}/amendments", {"location": BAVARIA, "period": None}, gen.token)
    first = log.last("retirement.amended", serial=done["serial"])
    assert first.payload["changes"] == {"location": {"from": None, "to": BAVARIA},
                                        "period": {"from": YEAR_2026, "to": None}}
    log.assert_verifies()
    driver.ok(f"/retirements/{done['id']}/amendments", {"location": {"country": "AT"}, "period": FIRST_HALF},
              gen.token)
    second = log.last("retirement.amended", serial=done["serial"])
    assert second.payload["changes"]["location"]["from"] == BAVARIA
    assert second.payload["changes"]["period"] == {"from": None, "to": FIRST_HALF}
    log.assert_verifies()


def test_amendments_replayed_without_entry_times_are_dated_by_what_they_say(driver, log):
    """R-R7, R-C6: `Replayer.apply` takes an entry's time as optional; without it a claim's
    amendment is dated by its own ``amended_on`` and a certificate's by its ``effective_on`` (and
    the claim still takes the new values)."""
    from registry.replay import replay

    _site_amendment(driver, log)
    _, real = _amended(driver, log)
    lines = [{"index": e.index, "type": e.type, "payload": e.payload} for e in log.entries()]
    state = replay(lines)
    try:
        assert state.retirements[real.payload["serial"]]["statement"] == "Our 2026 PP bottles"
    finally:
        state.close()


def test_amendment_control(driver, log):
    """The control: a further amendment of the statement, rightly stated, replays."""
    _, real = _amended(driver, log)
    log.append("retirement.amended", _next(real), real.actor)
    assert_replays(log)


# --- names and product claims (R-R5, R-R3) ---------------------------------------------------------------


def test_a_lot_reference_that_is_not_text_is_refused(driver, log):
    """R-R5, R-L7c: a name the rules check (here a lot reference) is text."""
    _, real = _lot(driver, log)
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference=12345), real.actor)
    assert_refused_naming(log, bad, "reference is not a string")


def _product_retirement(driver, monkeypatch, bypass: str, first: list, second: list) -> int:
    """Two retirements of 1 PE certificate each for the product "Tub" of Acme Foods in 2026,
    composed of ``first`` then ``second``: the second written with the service's ``bypass``
    check switched off (as an older writer, or an operator holding the signing key, could).
    Returns the second one's log index."""
    from registry import retirements
    from tests.api.test_name_identity import _pe_block

    gen = driver.generator()
    serial = _pe_block(driver, gen, 10)

    def body(composition):
        return {"serial": serial, "quantity": "1", "beneficiary": "Acme Foods", "claim_type": "product",
                "reporting_year": 2026, "product": {"name": "Tub", "composition": composition}}

    serial = driver.ok("/retirements", body(first), gen.token)["remainder"]["serial"]
    target = retirements.claims if bypass == "check_product_claim" else retirements
    monkeypatch.setattr(target, bypass, lambda *args, **kwargs: None)
    second = driver.ok("/retirements", body(second), gen.token)
    monkeypatch.undo()
    return second["log"]["index"]


def _item(arc_type: str, tonnes) -> dict:
    return {"arc_type": arc_type, "mass": t(tonnes)}


def test_a_product_claim_of_a_type_the_product_does_not_contain_is_refused(driver, log, monkeypatch):
    """R-R3: certificates are claimed for a product containing their ARC type: PE
    certificates for a product stated as PP only are refused."""
    bad = _product_retirement(driver, monkeypatch, "check_product_claim", [_item("PE", 5)], [_item("PP", 5)])
    assert_refused_naming(log, bad, "R-R3")


def test_restating_the_retired_type_s_mass_is_refused(driver, log, monkeypatch):
    """R-R5: a product's composition is its mass for the year: PE stated as 5 t, then 8 t,
    is refused (though 2 PE certificates are within either)."""
    bad = _product_retirement(driver, monkeypatch, "_check_same_composition", [_item("PE", 5)], [_item("PE", 8)])
    log.assert_refused_at(bad)


def test_restating_a_type_not_retired_yet_is_refused(driver, log, monkeypatch):
    """R-R5: a type stated in the composition keeps its first mass even before any of its
    certificates is retired: PP stated as 3 t beside PE, then as 4 t, is refused."""
    bad = _product_retirement(driver, monkeypatch, "_check_same_composition",
                              [_item("PE", 5), _item("PP", 3)], [_item("PE", 5), _item("PP", 4)])
    log.assert_refused_at(bad)


def test_product_claim_control(driver, log, monkeypatch):
    """The control: the same two retirements stating the same composition verify."""
    _product_retirement(driver, monkeypatch, "_check_same_composition",
                        [_item("PE", 5), _item("PP", 3)], [_item("PE", 5), _item("PP", 3)])
    log.assert_verifies()


# --- determination.recorded: fields replay cannot read, an unknown predecessor -----------------------


@pytest.mark.parametrize("changes, says", [
    ({"used_kg": "lots"}, "used_kg"),
    ({"used_kg": 0}, "used_kg"),
    ({"eligible_kg": "plenty"}, "eligible_kg"),
    ({"supersedes": BIG}, str(BIG)),
])
def test_a_determination_whose_volumes_or_predecessor_replay_cannot_read_is_refused(driver, log, changes, says):
    """R-L7c, R-A7, R-U3: a determination's used and eligible volumes are decimal strings and the
    determination it supersedes is one the log recorded; anything else is refused at its own entry
    (a copy of a real determination superseding it, new id, with one field changed)."""
    gen = driver.generator()
    log.assert_verifies()
    real = log.last("determination.recorded", determination=gen.determination_id)
    bad = log.append("determination.recorded", _copy(real, **{"determination": BIG + 1,
                                                              "supersedes": gen.determination_id, **changes}),
                     real.actor)
    assert_refused_naming(log, bad, says)


@pytest.mark.parametrize("supersedes", ["nothing", "another facility's", "the current one"])
def test_r_a7_a_determination_supersedes_exactly_the_current_one_of_its_facility_and_year(driver, log, supersedes):
    """R-A7: a facility (or line) has one current determination a year; a new one supersedes it and
    inherits its used volume. A copy of the real one under a new id that supersedes nothing (a second
    current determination) or another facility's current one is refused at its entry; superseding
    the current one replays (control)."""
    gen = driver.generator()
    plant = driver.facility(gen.token, gen.id, name="Plant 2")
    elsewhere = driver.determination(gen.certifier, plant["id"])
    log.assert_verifies()
    real = log.last("determination.recorded", determination=gen.determination_id)
    target = {"nothing": None, "another facility's": elsewhere["id"], "the current one": gen.determination_id}
    bad = log.append("determination.recorded", _copy(real, determination=BIG + 1, supersedes=target[supersedes]),
                     real.actor)
    if supersedes == "the current one":
        assert_replays(log)
    else:
        assert_refused_naming(log, bad, "R-A7")


@pytest.mark.parametrize("kind, changes, says", [
    ("determination.recorded", {"supersedes": "same"}, "recorded twice"),
    ("determination.recorded", {"determination": BIG + 2, "supersedes": "same", "facility": BIG}, f"facility {BIG}"),
    ("determination.withdrawn", {"determination": BIG}, f"determination {BIG}"),
])
def test_a_determination_entry_on_an_id_replay_cannot_place_is_refused(driver, log, kind, changes, says):
    """R-L7c: a determination is recorded once, for a facility the log recorded, and only a recorded
    one is withdrawn. The real determination recorded again (superseding itself), one for an unknown
    facility, and the withdrawal of an unknown determination are each refused at their own entry."""
    gen = driver.generator()
    log.assert_verifies()
    real = log.last("determination.recorded", determination=gen.determination_id)
    if kind == "determination.recorded":
        payload = _copy(real, **{**changes, "supersedes": gen.determination_id})
    else:
        payload = {"determination": changes["determination"], "reason": "error", "body": real.payload.get("body")}
    bad = log.append(kind, payload, real.actor)
    assert_refused_naming(log, bad, says)


@pytest.mark.parametrize("capacity", [20000, "a lot", "20000.000"])
def test_a_facility_whose_capacity_is_not_a_decimal_string_is_refused(driver, log, capacity):
    """R-U3, R-L7c: a facility's yearly capacity (the base of its eligible volume, R-A9) is a decimal
    string. A copy of a real facility.registered under a new id with the capacity as a number or as
    words is refused at its entry; with a decimal string it replays (control)."""
    gen = driver.generator()
    log.assert_verifies()
    real = log.last("facility.registered", facility=gen.facility_id)
    bad = log.append("facility.registered", _copy(real, facility=BIG, capacity_kg=capacity), real.actor)
    if capacity == "20000.000":
        assert_replays(log)
    else:
        assert_refused_naming(log, bad, "capacity_kg")


@pytest.mark.parametrize("fault, says", [("twice", "recorded twice"), ("unknown facility", f"facility {BIG}"),
                                         ("suspended", "is suspended"), ("capacity as a number", "capacity_kg"),
                                         (None, None)])
def test_a_line_registration_replay_cannot_place_is_refused(driver, log, fault, says):
    """R-L7c, R-X10: a production line is registered once, on a facility the log recorded, by a
    participant that is not suspended. A copy of a real line registration for the same line, on an
    unknown facility, or (new id) after the owner's suspension or with its capacity as a number is
    refused at its entry; a new line replays (control)."""
    gen = driver.generator()
    line = driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line 1", "capacity": t(1)}, gen.token)
    if fault == "suspended":
        driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    real = log.last("facility.line_registered", line=line["id"])
    changes = {"twice": {}, "unknown facility": {"line": BIG, "facility": BIG},
               "capacity as a number": {"line": BIG, "capacity_kg": 1000}}.get(fault, {"line": BIG})
    bad = log.append("facility.line_registered", _copy(real, **changes), real.actor)
    if fault is None:
        assert_replays(log)
    else:
        assert_refused_naming(log, bad, says)


def test_a_lot_registered_twice_is_refused(driver, log):
    """R-L7c: a lot is registered once: the real lot.registered again, identical, is refused at its entry."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    log.assert_verifies()
    real = log.last("lot.registered", lot=lot["id"])
    bad = log.append("lot.registered", _copy(real), real.actor)
    assert_refused_naming(log, bad, "recorded twice")


def test_a_lot_at_a_facility_no_entry_registered_is_refused(driver, log):
    """R-B1, R-L7c: a lot is registered at a facility an earlier entry registered: the real lot at
    facility 1000000 is refused at its entry."""
    _, real = _lot(driver, log)
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="NOWHERE", facility=BIG), real.actor)
    assert_refused_naming(log, bad, str(BIG))


@pytest.mark.parametrize("field, value", [("non_plastic_fraction", "1%"), ("pc_kg", 5000), ("lhv_mj_per_kg", 43),
                                          ("mass_kg", 10000)])
def test_a_lot_whose_quantities_are_not_decimal_strings_is_refused(driver, log, field, value):
    """R-U3, R-L7c: a lot's mass, non-plastic fraction, post-consumer mass and heating value are decimal
    strings: a copy of a real lot (new id) with one of them as a number or a percentage (the log
    holds no binary floats) is refused at its entry."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    log.assert_verifies()
    real = log.last("lot.registered", lot=lot["id"])
    bad = log.append("lot.registered", _copy(real, lot=BIG, reference="LOT-NUMBERS", **{field: value}), real.actor)
    assert_refused_naming(log, bad, field)


@pytest.mark.parametrize("fault, says", [("twice", "recorded twice"), ("unknown lot", f"lot {BIG}"),
                                         ("suspended", "is suspended")])
def test_a_disposition_replay_cannot_place_is_refused(driver, log, fault, says):
    """R-L7c, R-X10: a lot's sale is recorded once, on a lot the log recorded, by a participant that is
    not suspended. A copy of a real disposition, the same again, on an unknown lot, or (new id) after
    the generator's suspension, is refused at its entry."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(1))
    if fault == "suspended":
        driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    real = log.last("lot.disposition", lot=lot["id"])
    changes = {"twice": {}, "unknown lot": {"disposition": BIG, "lot": BIG}}.get(fault, {"disposition": BIG})
    bad = log.append("lot.disposition", _copy(real, **changes), real.actor)
    assert_refused_naming(log, bad, says)


def _real_sale(driver, log):
    """The entry of a real sale of 1 t of a 10 t lot, once the log verifies."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(1))
    log.assert_verifies()
    return log.last("lot.disposition", lot=lot["id"])


@pytest.mark.parametrize("mass, says", [("9000.001", "leaves more sold"), ("0.000", "leaves more sold"),
                                        (9000, "mass_kg"), ("9000.000", None), ("1.000", None)])
def test_r_b3_a_sale_beyond_the_lots_unsold_mass_or_of_nothing_is_refused(driver, log, mass, says):
    """R-B3: a lot's sales never exceed its mass, and a sale sells something, written as a decimal
    string. A 10 t lot with 1 t sold: a copy of the real sale (new id, no logged request) of 9 000.001 kg,
    of nothing, or of a number is refused at its entry; of the 9 000 kg left, or of 1 kg, it replays."""
    real = _real_sale(driver, log)
    p = _copy(real, disposition=BIG, mass_kg=mass)
    p.pop("requested", None)
    bad = log.append("lot.disposition", p, real.actor)
    if says is None:
        assert_replays(log)
    else:
        assert_refused_naming(log, bad, says)


@pytest.mark.parametrize("field", ["claimed_kg", "claimed_pc_kg"])
def test_a_sale_whose_claimed_mass_is_not_a_decimal_string_is_refused(driver, log, field):
    """R-U3, R-L7c: a sale's claimed masses are decimal strings: a copy of the real sale (new id) with
    one as a number is refused at its entry."""
    real = _real_sale(driver, log)
    p = _copy(real, disposition=BIG, **{field: 0})
    p.pop("requested", None)
    assert_refused_naming(log, log.append("lot.disposition", p, real.actor), field)

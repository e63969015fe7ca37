"""The pure rules of a certificate's history (R-C6): periods, scope versions,
group members, continuous certification (P7.2.2.2)."""

from __future__ import annotations

from datetime import date

import pytest

from registry import certificate_history as h
from registry.certification import CertificateEvent, held_in_year, is_valid_on, status_on
from registry.errors import RegistryError

P1, P2 = (date(2023, 1, 1), date(2024, 6, 30)), (date(2025, 9, 1), date(2028, 8, 31))
SITE = {"name": "Plant 1", "address": "1 Mill Rd", "country": "US"}


def version(on, sites=(SITE,), members=(), activities=("reprocessing",)):
    return h.ScopeVersion(on, tuple(activities), ("PP",), ("mass-balance",), tuple(sites), tuple(members))


def test_a_day_between_two_periods_is_expired_and_the_periods_around_it_valid():
    assert status_on(date(2024, 6, 30), [P1, P2]) == "valid"
    assert status_on(date(2024, 7, 1), [P1, P2]) == "expired"
    assert status_on(date(2025, 8, 31), [P2, P1]) == "expired"  # order given does not matter
    assert status_on(date(2025, 9, 1), [P1, P2]) == "valid"
    assert status_on(date(2022, 12, 31), [P1, P2]) == "not_yet_valid"


def test_a_suspension_lasts_across_a_renewal_until_a_reinstatement_and_a_revocation_for_ever():
    suspended = [CertificateEvent("suspended", date(2024, 5, 1))]
    assert status_on(date(2025, 9, 1), [P1, P2], suspended) == "suspended"
    reinstated = [*suspended, CertificateEvent("reinstated", date(2025, 9, 1))]
    assert is_valid_on(date(2025, 9, 1), [P1, P2], reinstated)
    assert status_on(date(2026, 1, 1), [P1, P2], [CertificateEvent("revoked", date(2024, 1, 1))]) == "revoked"


def test_held_in_a_year_reads_every_period():
    assert held_in_year([P1, P2], [], 2024) and held_in_year([P1, P2], [], 2025)
    assert not held_in_year([(date(2023, 1, 1), date(2023, 12, 31)), (date(2025, 1, 1), date(2025, 12, 31))],
                            [], 2024)


def test_a_renewal_follows_the_last_period_and_never_a_revocation():
    h.require_renewal([P1], [], date(2024, 7, 1), date(2025, 6, 30))
    with pytest.raises(RegistryError) as overlap:
        h.require_renewal([P1], [], date(2024, 6, 30), date(2025, 6, 30))
    assert overlap.value.code == "period_overlaps"
    with pytest.raises(RegistryError) as revoked:
        h.require_renewal([P1], [CertificateEvent("revoked", date(2024, 1, 1))], date(2025, 1, 1), date(2026, 1, 1))
    assert revoked.value.code == "certificate_revoked"


def test_an_amendment_is_not_back_dated_and_lies_in_a_period():
    versions = [version(date(2023, 1, 1))]
    h.require_amendment_date(date(2024, 3, 1), date(2024, 3, 1), [P1], versions)
    for effective, today, code in ((date(2024, 2, 29), date(2024, 3, 1), "amendment_backdated"),
                                   (date(2024, 7, 1), date(2024, 3, 1), "outside_validity")):
        with pytest.raises(RegistryError) as refused:
            h.require_amendment_date(effective, today, [P1], versions)
        assert refused.value.code == code


def test_the_scope_in_force_on_a_day_is_the_last_version_from_before_it():
    versions = [version(date(2023, 1, 1)), version(date(2024, 1, 1), sites=())]
    assert h.scope_on(versions, date(2023, 12, 31)).facilities == (SITE,)
    assert h.scope_on(versions, date(2024, 1, 1)).facilities == ()


def test_a_group_member_cites_only_its_own_sites():
    mine, theirs = {**SITE, "participant": 7}, {**SITE, "name": "Other", "participant": 8}
    v = version(date(2023, 1, 1), sites=(mine, theirs), members=(7, 8))
    assert h.sites_for(v, "group", 1, 7) == [mine]
    assert h.sites_for(v, "group", 1, 9) is None
    assert h.sites_for(v, "group", 1, 1) is None  # the group entity itself, not a member
    assert h.sites_for(version(date(2023, 1, 1)), "multi-site", 1, 7) is None


def test_a_group_is_in_one_country():
    members = [{"participant_id": 7, "facilities": [SITE]}, {"participant_id": 8, "facilities": [SITE]}]
    ids, sites = h.check_group(members, {7: "US", 8: "US"})
    assert ids == (7, 8) and [s["participant"] for s in sites] == [7, 8]
    with pytest.raises(RegistryError) as refused:
        h.check_group(members, {7: "US", 8: "MX"})
    assert refused.value.code == "group_countries_differ"
    with pytest.raises(RegistryError) as refused:
        h.check_group([members[0], {"participant_id": 8, "facilities": [{**SITE, "country": "CA"}]}],
                      {7: "US", 8: "US"})
    assert refused.value.code == "group_countries_differ"


def test_continuity_is_broken_by_a_gap_and_read_for_the_year():
    spans = h.valid_spans([P1, P2], [], [version(date(2023, 1, 1))], lambda v: True)
    assert spans == [P1, P2]
    assert h.continuously_certified_since(spans, 2026, date(2026, 3, 2)) == date(2025, 9, 1)
    assert h.continuously_certified_since(spans, 2024, date(2026, 3, 2)) == date(2023, 1, 1)
    assert h.first_certified_year(date(2025, 9, 1), 2026) == 2025
    assert h.first_certified_year(date(2026, 1, 1), 2026) is None
    joined = h.valid_spans([P1, (date(2024, 7, 1), date(2027, 6, 30))], [], [version(date(2023, 1, 1))],
                           lambda v: True)
    assert h.continuously_certified_since(joined, 2026, date(2026, 3, 2)) == date(2023, 1, 1)


def test_continuity_needs_the_site_listed():
    versions = [version(date(2023, 1, 1), sites=()), version(date(2024, 2, 1))]
    spans = h.valid_spans([P1], [], versions, lambda v: h.lists_site(v.facilities, "US", "plant  1"))
    assert spans == [(date(2024, 2, 1), date(2024, 6, 30))]

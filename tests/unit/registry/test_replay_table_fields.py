"""R-L7b: what the replay records for the table comparison (`registry.replay.table_fields`), entry by
entry on a bare `State`, without a database.

`tests/integration/test_verify_tables.py` compares a whole registry with its log; these pin the fields
that registry does not exercise: a participant's commitment date and removal day by entry type, a
certificate's lists after an amendment and its notes (a renewal is no note), a retirement's basis and
share as decimal strings, and the one JSON text every JSON field is compared as.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chainlog.errors import VerificationError
from registry.replay import table_fields
from registry.replay.state import State

T0 = "2026-03-04T10:00:00Z"


@pytest.fixture
def s():
    state = State()
    yield state
    state.close()


def test_canonical_json_is_compact_with_sorted_keys_and_unescaped_text():
    """One text per JSON value, as `participant_details.contacts_digest` renders contacts."""
    assert table_fields.canonical({"b": [1, "Zürich"], "a": None}) == '{"a":null,"b":[1,"Zürich"]}'
    assert table_fields.canonical(None) == "null"


def _participant(s: State, kind: str, payload: dict, time: str | None = T0) -> dict:
    table_fields.apply(s, 3, kind, {"participant": 1, **payload}, None, time)
    return s.participants[1]


@pytest.mark.parametrize("kind", ["participant.activated", "participant.suspended", "participant.updated"])
def test_a_participant_keeps_its_commitment_date_unless_the_entry_states_one(s, kind):
    """RMS 4.2.1: only registration, or an entry carrying ``gpp_signed_on``, sets the commitment date."""
    s.participants[1] = {"gpp_signed_on": "2026-01-05", "generator_removed_on": None}
    assert _participant(s, kind, {})["gpp_signed_on"] == "2026-01-05"
    assert _participant(s, kind, {"gpp_signed_on": "2026-02-01"})["gpp_signed_on"] == "2026-02-01"
    assert _participant(s, kind, {"gpp_signed_on": None})["gpp_signed_on"] is None


def test_a_registration_records_its_commitment_date_and_no_removal(s):
    s.participants[1] = {"generator_removed_on": "2025-01-01"}
    row = _participant(s, "participant.registered", {"gpp_signed_on": "2026-01-05"})
    assert (row["gpp_signed_on"], row["generator_removed_on"]) == ("2026-01-05", None)
    s.participants[1] = {}
    assert _participant(s, "participant.registered", {})["gpp_signed_on"] is None


def test_a_generator_removal_records_its_day_and_other_entries_keep_it(s):
    """R-E4: the day a generator registration ended is the entry's ``generator_removed_on``."""
    s.participants[1] = {"gpp_signed_on": "2026-01-05"}
    row = _participant(s, "participant.generator_removed", {"generator_removed_on": "2026-05-31"},
                       time="2026-06-02T09:00:00Z")
    assert row["generator_removed_on"] == "2026-05-31"
    for kind in ("participant.activated", "participant.suspended", "participant.updated"):
        assert _participant(s, kind, {})["generator_removed_on"] == "2026-05-31"


def test_a_legacy_removal_is_dated_by_its_entry(s):
    """Before migration 0011 ``participant.removed`` carried no day: the entry's own date (as 0011 upgraded
    the rows), none when replayed without times."""
    s.participants[1] = {}
    assert _participant(s, "participant.removed", {}, time="2026-06-02T09:00:00Z")["generator_removed_on"] \
        == "2026-06-02"
    assert _participant(s, "participant.removed", {}, time=None)["generator_removed_on"] is None


def _certificate(s: State) -> None:
    s.certificates["RMS-1"] = {"facility_scope": "single"}
    table_fields.apply(s, 1, "certificate.recorded", {"certificate": "RMS-1", "product_groups": ["resins"],
                                                     "control_systems": ["mass-balance"]}, None, T0)


def test_an_amendment_records_both_amended_lists(s):
    """R-C6: the register shows the amended product groups and control systems."""
    _certificate(s)
    table_fields.apply(s, 2, "certificate.amended", {"certificate": "RMS-1", "product_groups": ["flakes", "resins"],
                                                    "control_systems": ["segregation"]}, None, T0)
    cert = s.certificates["RMS-1"]
    assert (cert["product_groups"], cert["control_systems"]) == ('["flakes","resins"]', '["segregation"]')
    assert cert["facility_scope"] == "single"  # the rule replay's, kept


def test_certificate_events_are_notes_with_their_times_and_a_renewal_is_none(s):
    """R-C3: each suspension, reinstatement or revocation is a note (reason, time); a renewal is not an
    event of the certificate's event list."""
    _certificate(s)
    table_fields.apply(s, 2, "certificate.suspended", {"certificate": "RMS-1", "reason": "audit overdue"}, None, T0)
    table_fields.apply(s, 3, "certificate.renewed", {"certificate": "RMS-1"}, None, "2026-04-01T00:00:00Z")
    table_fields.apply(s, 4, "certificate.reinstated", {"certificate": "RMS-1", "reason": "audit passed"}, None,
                       "2026-05-01T00:00:00Z")
    assert [list(note) for note in s.certificates["RMS-1"]["notes"]] == [
        ["audit overdue", T0], ["audit passed", "2026-05-01T00:00:00Z"]]


def _retirement(claim: dict) -> dict:
    return {"retired": {"serial": "S-1", "first": 1, "last": 5}, "beneficiary": "Northwind", "claim": claim,
            "retired_on": "2026-06-03"}


def _retire(s: State, i: int, payload: dict) -> dict:
    """Apply a ``block.retired`` entry to the record the rule replay made for the retired block."""
    if "S-1" not in s.retirements:
        s.retirements["S-1"] = {}
    table_fields.apply(s, i, "block.retired", payload, None, T0)
    return s.retirements["S-1"]


def test_a_retirement_records_its_basis_and_share_as_decimals(s):
    row = _retire(s, 4, _retirement({"basis_kg": "10000.000", "claim_share": "0.5000"}))
    assert (row["basis_kg"], row["claim_share"]) == (Decimal("10000.000"), Decimal("0.5000"))
    row = _retire(s, 5, _retirement({}))
    assert (row["basis_kg"], row["claim_share"]) == (None, None)


@pytest.mark.parametrize("field", ["basis_kg", "claim_share"])
@pytest.mark.parametrize("value", [10000, "lots"])
def test_a_retirement_whose_basis_or_share_is_no_decimal_string_is_refused_at_its_entry(s, field, value):
    """R-U3: quantities are decimal strings; the refusal names the entry and the field."""
    with pytest.raises(VerificationError) as refused:
        _retire(s, 4, _retirement({field: value}))
    assert refused.value.index == 4 and f"{field} " in str(refused.value), refused.value


@pytest.mark.parametrize("beneficiary", [None, 42])
def test_a_retirement_without_a_beneficiary_name_records_no_beneficiary_key(s, beneficiary):
    """A field the payload lacks is recorded as absent, for the comparison to name (the rule replay
    reports the retirement itself)."""
    assert _retire(s, 4, {**_retirement({}), "beneficiary": beneficiary})["beneficiary_key"] is None
    assert _retire(s, 5, _retirement({}))["beneficiary_key"] == "northwind"

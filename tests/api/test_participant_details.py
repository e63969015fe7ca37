"""Participant details kept current (RMS 8.1.4): PATCH /participants/{id}.

An administrator changes name, address and contacts; the participant's own
members its contacts only (R-P4, R-X4). Each change is one
``participant.updated`` log entry written with it (R-X3); replay re-derives the
stored fields from the log, so a direct database edit fails verification
(R-L7). The contacts are personal data: the log carries only their salted
digest. On SQLite and PostgreSQL (the ``driver`` fixture's backends).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from chainlog import store
from chainlog.errors import VerificationError
from registry.config import Config
from registry.db import session_factory
from registry.replay import Replayer
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import snapshot
from tests.api.test_errors_and_health import assert_problem

CONTACTS = [{"name": "Dana Ortiz", "role": "compliance", "email": "dana@acme.example", "phone": "+1 330 555 0100"}]


def patch(driver, participant_id: int, body: dict, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return driver.client.patch(f"/api/v1/participants/{participant_id}", json=body, headers=headers)


def log_entries(engine, kind: str) -> list[dict]:
    with session_factory(engine)() as session:
        return [json.loads(e.canonical) for e in store.entries(session, 0, store.size(session)) if e.type == kind]


def verify(driver, engine, db_url, tmp_path):
    assert driver.get("/log/checkpoint").status_code == 200  # signs one (R-L4)
    signer = load_signer(Config(database_url=db_url, signing_key_file=tmp_path / "key.pem"))
    with session_factory(engine)() as session:
        return verify_registry(session, [signer.verifier], record=False)


def test_admin_updates_name_address_and_contacts_as_one_log_entry(driver, engine, db_url, tmp_path):
    p = driver.participant("Acme Recycling")
    response = patch(driver, p["id"], {"name": "Acme Recycling LLC", "address": " 1 Mill Rd, Akron OH ",
                                       "contacts": CONTACTS}, driver.admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["name"] == "Acme Recycling LLC" and body["address"] == "1 Mill Rd, Akron OH"
    assert body["contacts"] == CONTACTS and body["status"] == "active" and body["country"] == "US"
    assert driver.get(f"/participants/{p['id']}", driver.admin).get_json() == body

    [entry] = log_entries(engine, "participant.updated")
    payload = entry["payload"]
    assert entry["actor"].startswith("user:")
    assert payload["participant"] == p["id"] and payload["name"] == "Acme Recycling LLC"
    assert payload["address"] == "1 Mill Rd, Akron OH" and payload["status"] == "active"
    assert payload["changed"] == ["name", "address", "contacts"]
    assert len(payload["contacts_digest"]) == 64
    # The contacts are personal data: only their salted digest is public (decisions.md).
    text_of_log = json.dumps(entry)
    # The whole phone number: a fragment like "555" can occur by chance in the salted digest's hex.
    assert "dana@acme.example" not in text_of_log and "Dana Ortiz" not in text_of_log
    assert "+1 330 555 0100" not in text_of_log and "3305550100" not in text_of_log
    assert verify(driver, engine, db_url, tmp_path).ok


def test_member_updates_its_own_contacts_only(driver, engine):
    p = driver.participant()
    member = driver.member(p["id"])
    response = patch(driver, p["id"], {"contacts": [{"name": "Ops desk", "email": "ops@acme.example"}]}, member)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["contacts"] == [{"name": "Ops desk", "role": None, "email": "ops@acme.example",
                                                "phone": None}]
    [entry] = log_entries(engine, "participant.updated")
    assert entry["payload"]["changed"] == ["contacts"]


def test_an_update_that_changes_nothing_writes_nothing(driver, engine):
    p = driver.participant("Acme Recycling")
    assert patch(driver, p["id"], {"contacts": CONTACTS}, driver.admin).status_code == 200
    before = snapshot(engine)
    again = patch(driver, p["id"], {"name": " Acme Recycling ", "contacts": CONTACTS}, driver.admin)
    assert again.status_code == 200 and again.get_json()["contacts"] == CONTACTS
    assert snapshot(engine) == before
    assert len(log_entries(engine, "participant.updated")) == 1


@pytest.mark.parametrize(("who", "body", "status", "code"), [
    ("member", {"name": "Renamed Inc"}, 403, "admin_only_field"),  # R-P4: its own name is the admin's
    ("member", {"address": "2 Elm St"}, 403, "admin_only_field"),
    ("member", {"contacts": CONTACTS, "name": "Renamed Inc"}, 403, "admin_only_field"),
    ("other", {"contacts": CONTACTS}, 404, "participant_not_found"),  # R-X4: another's is not there
    ("other", {"name": "Renamed Inc"}, 403, "admin_only_field"),
    ("certifier", {"contacts": CONTACTS}, 403, "forbidden_role"),
    ("anonymous", {"contacts": CONTACTS}, 401, "missing_token"),
])
def test_who_may_change_what(driver, engine, who, body, status, code):
    p = driver.participant("Acme Recycling")
    other = driver.participant("Brand Co")
    tokens = {"member": driver.member(p["id"]), "other": driver.member(other["id"]),
              "certifier": driver.certifier(), "anonymous": None}
    before = snapshot(engine)
    problem = assert_problem(patch(driver, p["id"], body, tokens[who]), status, code)
    if code == "admin_only_field":
        assert list(problem["errors"]) == [next(f for f in ("name", "address") if f in body)]
    assert snapshot(engine) == before  # nothing written (R-X2)


def test_an_unknown_participant_is_404(driver):
    assert_problem(patch(driver, 999999, {"contacts": CONTACTS}, driver.admin), 404, "participant_not_found")


@pytest.mark.parametrize(("body", "code", "field"), [
    ({}, "empty_update", "body"),
    ({"name": "   "}, "missing_field", "name"),
    ({"name": ""}, "invalid_input", "name"),
    ({"name": "Acme\u202eRecycling"}, "name_not_allowed", "name"),  # R-R5, as at registration
    ({"name": "Аcme Recycling"}, "name_not_allowed", "name"),  # Cyrillic А in a Latin word
    ({"name": None}, "invalid_input", "name"),
    ({"country": "CA"}, "invalid_input", "country"),  # not a field an update changes
    ({"address": "1 Mill Rd\u200b"}, "invalid_characters", "address"),
    ({"address": "x" * 401}, "invalid_input", "address"),
    ({"contacts": "dana@acme.example"}, "invalid_input", "contacts"),
    ({"contacts": [{"name": "Dana"}]}, "missing_field", "contacts[0].email"),
    ({"contacts": [{"email": "dana@acme.example"}]}, "invalid_input", "contacts"),
    ({"contacts": [{"name": "Dana", "email": "not an email"}]}, "invalid_email", "contacts[0].email"),
    ({"contacts": [{"name": "Dana", "phone": "call me"}]}, "invalid_phone", "contacts[0].phone"),
    ({"contacts": [{"name": "Dana\u200b", "email": "d@acme.example"}]}, "invalid_characters", "contacts[0].name"),
    ({"contacts": [{"name": "Dana", "email": "d@acme.example", "fax": "1"}]}, "invalid_input", "contacts"),
    ({"contacts": [{"name": f"C{i}", "email": f"c{i}@acme.example"} for i in range(11)]}, "invalid_input",
     "contacts"),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(driver, engine, body, code, field):
    p = driver.participant("Acme Recycling")
    before = snapshot(engine)
    problem = assert_problem(patch(driver, p["id"], body, driver.admin), 400, code)
    assert field in problem["errors"], problem
    assert snapshot(engine) == before


def test_an_address_can_be_cleared(driver, engine):
    p = driver.participant()
    patch(driver, p["id"], {"address": "1 Mill Rd"}, driver.admin)
    cleared = patch(driver, p["id"], {"address": None}, driver.admin)
    assert cleared.status_code == 200 and cleared.get_json()["address"] is None
    assert [e["payload"]["address"] for e in log_entries(engine, "participant.updated")] == ["1 Mill Rd", None]


@pytest.mark.parametrize(("column", "value", "named"), [
    ("name", "'Shadow Recycling'", "name"),
    ("address", "'9 Other St'", "address"),
    ("contacts", "'[{\"name\": \"Eve\", \"role\": null, \"email\": \"eve@evil.example\", \"phone\": null}]'",
     "contacts/contacts_salt"),
    ("contacts_salt", "'00'", "contacts/contacts_salt"),
])
def test_a_direct_database_edit_of_the_details_fails_verification(driver, engine, db_url, tmp_path,
                                                                     column, value, named):
    """R-L7: replay re-derives name, address and the contacts' digest from the log."""
    p = driver.participant("Acme Recycling")
    patch(driver, p["id"], {"address": "1 Mill Rd", "contacts": CONTACTS}, driver.admin)
    assert verify(driver, engine, db_url, tmp_path).ok
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE participant SET {column} = {value} WHERE id = :id"), {"id": p["id"]})
    report = verify(driver, engine, db_url, tmp_path)
    assert not report.ok and report.error.kind == "state_drift"
    assert f"participant {p['id']!r}: {named} expected" in str(report.error)


def test_a_name_edited_in_the_database_is_not_laundered_by_a_later_entry(driver, engine, db_url, tmp_path):
    """A suspension logs the participant's row as it is: a name changed behind
    the log's back then differs from the replayed one, and replay names that entry."""
    p = driver.participant("Acme Recycling")
    with engine.begin() as connection:
        connection.execute(text("UPDATE participant SET name = 'Shadow Recycling' WHERE id = :id"), {"id": p["id"]})
    driver.ok(f"/participants/{p['id']}/suspend", {"reason": "audit"}, status=200)
    report = verify(driver, engine, db_url, tmp_path)
    assert not report.ok and report.error.kind == "replay_inconsistent"
    [suspension] = log_entries(engine, "participant.suspended")
    assert report.error.index == suspension["index"] and "changed outside participant.updated" in str(report.error)


def _replayed(*entries):
    replayer = Replayer()
    try:
        for index, (kind, payload) in enumerate(entries):
            replayer.apply(index, kind, payload)
        return dict(replayer.state.participants[1])
    finally:
        replayer.state.close()


REGISTERED = ("participant.registered", {"participant": 1, "name": "Acme", "country": "US", "status": "pending",
                                         "gpp_signed_on": None})


def test_replay_takes_the_details_from_participant_updated_only():
    updated = ("participant.updated", {**REGISTERED[1], "name": "Acme LLC", "address": "1 Mill Rd",
                                       "contacts_digest": "ab" * 32, "changed": ["name", "address", "contacts"]})
    state = _replayed(REGISTERED, updated, ("participant.activated", {**REGISTERED[1], "name": "Acme LLC",
                                                                     "status": "active"}))
    assert (state["name"], state["address"], state["contacts_digest"], state["status"]) == \
        ("Acme LLC", "1 Mill Rd", "ab" * 32, "active")


@pytest.mark.parametrize("entry", [
    ("participant.updated", {**REGISTERED[1], "status": "active", "address": None, "contacts_digest": None}),
    ("participant.updated", {**REGISTERED[1], "country": "CA", "address": None, "contacts_digest": None}),
    ("participant.updated", {**REGISTERED[1], "participant": 2, "address": None, "contacts_digest": None}),
    ("participant.activated", {**REGISTERED[1], "name": "Acme LLC", "status": "active"}),  # renamed unlogged
])
def test_replay_refuses_an_update_the_log_makes_impossible(entry):
    with pytest.raises(VerificationError) as refused:
        _replayed(REGISTERED, entry)
    assert refused.value.kind == "replay_inconsistent" and refused.value.index == 1

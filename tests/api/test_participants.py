"""Participants, users, tokens and authorisation (R-P1, R-P4, R-P5, R-X4)."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import NOW
from tests.api.test_errors_and_health import assert_problem


def test_participant_starts_pending_and_admin_activates(driver):
    created = driver.ok("/participants", {"name": "Acme Recycling", "country": "us",
                                          "gpp_signed_on": "2025-06-01"})
    assert created == {"id": created["id"], "name": "Acme Recycling", "country": "US",
                       "status": "pending", "gpp_signed_on": "2025-06-01", "generator_removed_on": None,
                       "incoming_transfers": "automatic"}  # R-T6: the default
    activated = driver.ok(f"/participants/{created['id']}/activate", status=200)
    assert activated["status"] == "active"


def test_no_signed_commitment_no_activation(driver):
    created = driver.participant(activate=False, gpp_signed_on=None)
    response = driver.post(f"/participants/{created['id']}/activate", token=driver.admin)
    assert_problem(response, 422, "gpp_not_signed")


def test_unknown_country_is_refused(driver):
    response = driver.post("/participants", {"name": "X", "country": "ZZ", "gpp_signed_on": None},
                           driver.admin)
    body = assert_problem(response, 400, "invalid_country")
    assert "country" in body["errors"]


def test_suspend_needs_reason_and_active_participant(driver):
    participant = driver.participant()
    suspended = driver.ok(f"/participants/{participant['id']}/suspend", {"reason": "audit"}, status=200)
    assert suspended["status"] == "suspended"
    again = driver.post(f"/participants/{participant['id']}/suspend", {"reason": "again"}, driver.admin)
    assert_problem(again, 422, "participant_inactive")


def test_writes_need_a_token(driver):
    response = driver.post("/participants", {"name": "X", "country": "US", "gpp_signed_on": None})
    assert_problem(response, 401, "missing_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = driver.post("/participants", {"name": "X", "country": "US", "gpp_signed_on": None}, "arc_nope")
    assert_problem(bad, 401, "invalid_token")


def test_member_cannot_do_admin_work(driver):
    participant = driver.participant()
    member = driver.member(participant["id"])
    response = driver.post("/participants", {"name": "X", "country": "US", "gpp_signed_on": None}, member)
    assert_problem(response, 403, "forbidden_role")


def test_member_reads_own_participant_only(driver):
    mine = driver.participant("Mine")
    other = driver.participant("Other")
    member = driver.member(mine["id"])
    assert driver.get(f"/participants/{mine['id']}", member).status_code == 200
    # R-X4: someone else's participant looks exactly like a missing one.
    hidden = driver.get(f"/participants/{other['id']}", member)
    missing = driver.get("/participants/999999", member)
    assert_problem(hidden, 404, "participant_not_found")
    assert hidden.get_json()["detail"].replace(str(other["id"]), "N") == \
        missing.get_json()["detail"].replace("999999", "N")


def test_token_is_shown_once_stored_hashed_and_revocable(driver, engine):
    participant = driver.participant()
    user = driver.ok(f"/participants/{participant['id']}/users", {"email": "Ops@Acme.example"})
    assert user["email"] == "ops@acme.example" and user["role"] == "member"
    issued = driver.ok(f"/users/{user['id']}/tokens", {})
    token = issued["token"]
    assert len(token) >= 43  # 256 bits in URL-safe base64
    with engine.connect() as connection:
        stored = [row[0] for row in connection.exec_driver_sql("SELECT token_hash FROM api_token")]
    assert token not in stored and all(len(h) == 64 for h in stored)
    assert driver.get(f"/participants/{participant['id']}", token).status_code == 200
    revoke = driver.client.delete(f"/api/v1/tokens/{issued['id']}", headers={"Authorization": f"Bearer {token}"})
    assert revoke.status_code == 204
    assert_problem(driver.get(f"/participants/{participant['id']}", token), 401, "invalid_token")


def test_expired_token_is_refused(driver, clock):
    participant = driver.participant()
    user = driver.ok(f"/participants/{participant['id']}/users", {"email": "short@acme.example"})
    expires = (NOW + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    token = driver.ok(f"/users/{user['id']}/tokens", {"expires_at": expires})["token"]
    assert driver.get(f"/participants/{participant['id']}", token).status_code == 200
    clock.set(NOW + timedelta(hours=2))
    assert_problem(driver.get(f"/participants/{participant['id']}", token), 401, "invalid_token")


def test_certifier_needs_body_code(driver):
    response = driver.post("/users", {"email": "a@b.org", "role": "certifier"}, driver.admin)
    assert_problem(response, 400, "invalid_body_code")


def test_anonymous_write_is_401_before_body_validation(driver):
    # R-X4: no token, no validation feedback either.
    response = driver.post("/participants", {"unexpected": True})
    assert_problem(response, 401, "missing_token")
    bad_token = driver.post("/transfers", {"serial": 5}, "arc_not-a-token")
    assert_problem(bad_token, 401, "invalid_token")

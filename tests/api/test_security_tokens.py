"""Bearer tokens (R-P5): 256 random bits, stored only as SHA-256, compared in
constant time, expiry and revocation enforced on reads and writes alike."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from registry.db import UnitOfWork, session_factory
from registry.errors import Unauthorized
from registry.identity import authenticate, hash_token
from tests.api.conftest import NOW
from tests.api.test_errors_and_health import assert_problem


def _member_token(driver, expires_at=None) -> tuple[dict, dict, str]:
    participant = driver.participant()
    user = driver.ok(f"/participants/{participant['id']}/users", {"email": "ops@acme.example"})
    body = {} if expires_at is None else {"expires_at": expires_at.isoformat().replace("+00:00", "Z")}
    issued = driver.ok(f"/users/{user['id']}/tokens", body)
    return participant, issued, issued["token"]


def test_only_the_exact_token_authenticates(driver, engine, clock):
    participant, _, token = _member_token(driver)
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT token_hash FROM api_token").scalars().all()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest() in stored
    path = f"/participants/{participant['id']}"
    assert driver.get(path, token).status_code == 200
    near_misses = [token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-1], token + "x", token.upper(),
                   hash_token(token), "arc_", " " * 3]
    for wrong in near_misses:
        assert_problem(driver.get(path, wrong), 401, "invalid_token" if wrong.strip() else "missing_token")
    with UnitOfWork(session_factory(engine), clock) as uow:  # the stored hash is not a credential
        try:
            authenticate(uow, hash_token(token))
        except Unauthorized as exc:
            assert exc.code == "invalid_token"
        else:
            raise AssertionError("the hash authenticated")


def test_expiry_is_exact_and_applies_to_writes(driver, clock):
    expires = NOW + timedelta(minutes=30)
    participant, _, token = _member_token(driver, expires)
    path = f"/participants/{participant['id']}"
    clock.set(expires - timedelta(microseconds=1))
    assert driver.get(path, token).status_code == 200
    clock.set(expires)  # at expires_at the token is already dead
    assert_problem(driver.get(path, token), 401, "invalid_token")
    assert_problem(driver.post("/transfers", {"serial": "x"}, token), 401, "invalid_token")


def _token_rows(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT id, user_id, token_hash FROM api_token ORDER BY id").all()


@pytest.mark.parametrize("expires_at", ["2026-03-02T09:30:00Z", "2026-03-02T09:29:59.999999Z", "2025-01-01T00:00:00Z"],
                         ids=["now", "a microsecond ago", "last year"])
def test_a_token_cannot_be_issued_already_expired(driver, engine, expires_at):
    """The clock is NOW (2026-03-02T09:30:00Z): an expiry at or before it is an
    input out of range (R-X2: 400, field named), and no token is stored."""
    participant = driver.participant()
    user = driver.ok(f"/participants/{participant['id']}/users", {"email": "late@acme.example"})
    before = _token_rows(engine)
    response = driver.post(f"/users/{user['id']}/tokens", {"expires_at": expires_at}, driver.admin)
    body = assert_problem(response, 400, "invalid_input")
    assert body["rule"] == "R-P5" and "expires_at" in body["errors"], body
    assert "token" not in body
    assert _token_rows(engine) == before
    # A minute later than NOW is accepted: the refusal is about the instant, not the field.
    later = driver.ok(f"/users/{user['id']}/tokens", {"expires_at": "2026-03-02T09:31:00Z"})
    assert [row[0] for row in _token_rows(engine)] == [row[0] for row in before] + [later["id"]]


def test_revocation_is_immediate_for_reads_and_writes(driver):
    participant, issued, token = _member_token(driver)
    second = driver.member(participant["id"])  # another token for the same participant
    assert driver.client.delete(f"/api/v1/tokens/{issued['id']}",
                                headers={"Authorization": f"Bearer {driver.admin}"}).status_code == 204
    assert_problem(driver.get(f"/participants/{participant['id']}", token), 401, "invalid_token")
    assert_problem(driver.post("/transfers", {"serial": "x"}, token), 401, "invalid_token")
    assert driver.get(f"/participants/{participant['id']}", second).status_code == 200  # only that token


def _stored_bodies(engine) -> list[str]:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT body FROM idempotency_record").scalars().all()


def test_an_idempotent_token_issue_is_replayed_but_never_stored_in_clear(driver, engine):
    participant = driver.participant()
    user = driver.ok(f"/participants/{participant['id']}/users", {"email": "ops@acme.example"})
    headers = {"Authorization": f"Bearer {driver.admin}", "Idempotency-Key": "issue-ops-token"}
    first = driver.client.post(f"/api/v1/users/{user['id']}/tokens", json={}, headers=headers)
    again = driver.client.post(f"/api/v1/users/{user['id']}/tokens", json={}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()  # R-T5
    token = first.get_json()["token"]
    assert driver.get(f"/participants/{participant['id']}", token).status_code == 200
    (stored,) = _stored_bodies(engine)
    assert stored.startswith("sealed:v1:") and token not in stored and hash_token(token) not in stored
    # Another token of the same administrator cannot open it: refused, and nothing is issued.
    with engine.connect() as connection:
        tokens_before = connection.exec_driver_sql("SELECT count(*) FROM api_token").scalar_one()
    other = driver.ok("/users/1/tokens", {})["token"]
    refused = driver.client.post(f"/api/v1/users/{user['id']}/tokens", json={},
                                 headers={**headers, "Authorization": f"Bearer {other}"})
    assert_problem(refused, 409, "idempotent_replay_sealed")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM api_token").scalar_one() == tokens_before + 1


def test_responses_without_secrets_are_stored_as_they_were_sent(driver, engine):
    headers = {"Authorization": f"Bearer {driver.admin}", "Idempotency-Key": "add-acme"}
    body = {"name": "Plainly Stored Co", "country": "US", "gpp_signed_on": "2025-06-01"}
    first = driver.client.post("/api/v1/participants", json=body, headers=headers)
    assert first.status_code == 201
    (stored,) = _stored_bodies(engine)
    assert "Plainly Stored Co" in stored

"""Rate limiting of writes (api/security.py): one budget per participant,
staff user or, without a valid token, client address; 429 problem+json with
Retry-After; reads never limited; nothing changed by a refused write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api import create_app
from registry.config import DEFAULT_RATE_LIMIT, DEFAULT_RATE_LIMIT_STORAGE, Config
from registry.models import Participant
from tests.api.test_errors_and_health import assert_problem

LIMIT = 3


@pytest.fixture
def limited(engine, db_url, clock, tmp_path):
    """A second app over the test's database, with a small write limit."""
    def make(rate_limit: str = f"{LIMIT}/minute", **settings):
        config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=rate_limit,
                        **settings)
        return create_app(config, clock=clock, engine=engine).test_client()
    return make


def _participants(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Participant)).scalar_one()


def _post(client, token: str | None, path: str = "/api/v1/participants", body=None, headers=None, **kwargs):
    headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    body = body if body is not None else {"name": "Acme", "country": "US", "gpp_signed_on": "2025-06-01"}
    return client.post(path, json=body, headers=headers, **kwargs)


def test_defaults_and_environment():
    assert Config().rate_limit == DEFAULT_RATE_LIMIT == "600/minute;10000/hour"
    assert Config.from_env({}).rate_limit_storage == DEFAULT_RATE_LIMIT_STORAGE == "memory://"
    config = Config.from_env({"ARCREG_RATE_LIMIT": "10/second", "ARCREG_RATE_LIMIT_STORAGE": "memory://",
                              "ARCREG_TRUSTED_PROXIES": "1"})
    assert (config.rate_limit, config.trusted_proxies) == ("10/second", 1)


def test_writes_beyond_the_limit_are_429_and_change_nothing(driver, limited, engine):
    client = limited()
    for _ in range(LIMIT):
        assert _post(client, driver.admin).status_code == 201
    before = _participants(engine)
    refused = _post(client, driver.admin)
    body = assert_problem(refused, 429, "rate_limited")
    retry = int(refused.headers["Retry-After"])
    assert 1 <= retry <= 61 and body["retry_after"] == retry  # within the minute window (+1 s rounding)
    assert _participants(engine) == before  # the refused write never ran
    # Reads are never limited: the public record stays readable.
    for _ in range(LIMIT + 2):
        assert client.get("/api/v1/participants/1", headers={"Authorization": f"Bearer {driver.admin}"}) \
            .status_code == 200


def test_every_write_method_shares_one_budget(driver, limited):
    participant = driver.participant("Shared Budget Co")
    member = driver.member(participant["id"])
    client = limited()
    assert client.delete("/api/v1/tokens/999999", headers={"Authorization": f"Bearer {member}"}).status_code == 404
    assert _post(client, member, "/api/v1/transfers", {"serial": 5}).status_code == 400
    assert _post(client, member).status_code == 403
    # DELETE and two POSTs to different routes used the whole budget.
    assert_problem(_post(client, member, f"/api/v1/participants/{participant['id']}/users",
                         {"email": "z@y.org"}), 429, "rate_limited")


def test_the_budget_is_per_participant_not_per_token(driver, limited):
    acme = driver.participant("Acme Recycling")
    first, second = driver.member(acme["id"]), driver.member(acme["id"])
    other = driver.member(driver.participant("Other Co")["id"])
    client = limited()
    for _ in range(LIMIT):
        assert _post(client, first).status_code == 403  # members may not add participants: counted all the same
    assert_problem(_post(client, second), 429, "rate_limited")  # another user, same participant
    assert _post(client, other).status_code == 403  # another participant: its own budget
    assert _post(client, driver.admin).status_code == 201  # staff: per user


def test_anonymous_and_bad_token_writes_count_per_address(driver, limited):
    client = limited()
    here, there = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "192.0.2.2"}
    for _ in range(LIMIT):
        assert_problem(_post(client, "arc_guessed", environ_base=here), 401, "invalid_token")
    assert_problem(_post(client, None, environ_base=here), 429, "rate_limited")  # token guessing stops too
    assert_problem(_post(client, "arc_guessed", environ_base=there), 401, "invalid_token")
    assert _post(client, driver.admin, environ_base=here).status_code == 201  # a valid token is its own client


def test_forwarded_address_is_used_only_behind_a_trusted_proxy(limited):
    def exhaust(client, forwarded_for: str):
        headers = {"X-Forwarded-For": forwarded_for}
        return [_post(client, None, headers=headers).status_code for _ in range(LIMIT + 1)]

    trusting = limited(trusted_proxies=1)
    assert exhaust(trusting, "198.51.100.1")[-1] == 429
    assert exhaust(trusting, "198.51.100.2")[0] == 401  # another client behind the proxy
    direct = limited()
    assert exhaust(direct, "198.51.100.1")[-1] == 429
    assert exhaust(direct, "198.51.100.2")[0] == 429  # a spoofable header is not an identity


def test_off_disables_limiting(driver, limited):
    client = limited("off")
    assert all(_post(client, driver.admin).status_code == 201 for _ in range(LIMIT + 2))


@pytest.mark.parametrize("setting", ["lots", "5/fortnight", ""])
def test_a_malformed_limit_refuses_to_start(db_url, tmp_path, setting):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=setting)
    with pytest.raises(ValueError, match="ARCREG_RATE_LIMIT"):
        create_app(config)


def test_memory_storage_counts_without_a_thread_per_write(driver, limited, monkeypatch):
    """memory:// is served by api.limiter_storage: limits' own MemoryStorage
    starts a Timer thread on nearly every counted write."""
    import threading

    from api.limiter_storage import SweptMemoryStorage

    client = limited("1000/minute")
    storage = client.application.extensions["arcreg.limiter"].storage
    assert isinstance(storage, SweptMemoryStorage)
    started = []
    original_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), original_start(self)))
    for i in range(5):
        assert _post(client, driver.admin, body={"name": f"Acme {i}", "country": "US",
                                                "gpp_signed_on": "2025-06-01"}).status_code == 201
    assert started == []
    assert any(count > 0 for count in storage.storage.values())


def test_memory_storage_sweeps_expired_counters_inline():
    from api.limiter_storage import SweptMemoryStorage, storage_uri

    assert storage_uri("memory://") == "arcreg-memory://"
    assert storage_uri("redis://localhost:6379") == "redis://localhost:6379"
    storage = SweptMemoryStorage()
    storage.incr("gone", expiry=0.001)  # this first hit swept (nothing) and set the next sweep
    storage.expirations["gone"] -= 1  # long expired, and never read again
    storage.incr("other", expiry=60)
    assert "gone" in storage.storage  # the next sweep is not due yet
    storage._next_sweep = 0.0  # it is due
    storage.incr("other", expiry=60)
    assert "gone" not in storage.storage and storage.storage["other"] == 2

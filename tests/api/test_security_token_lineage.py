"""R-X7 tokens: a token created with a token expires no later than it; revoking a
token revokes the tokens created with it; a maximum lifetime (default 365 days);
users list and revoke their tokens; an administrator disables a user (all its
tokens stop at once); users of a suspended participant create no tokens.

These tests run with the registry's default maximum lifetime (the shared ``app``
fixture allows a century so other tests may move the clock years ahead)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from api.app import create_app
from registry.config import DEFAULT_TOKEN_MAX_LIFETIME_DAYS, Config
from tests.api.conftest import NOW
from tests.api.driver import Driver, bootstrap_admin
from tests.api.test_errors_and_health import assert_problem
from tests.conftest import TEST_RATE_LIMIT

YEAR = timedelta(days=365)


@pytest.fixture
def app(engine, db_url, clock, tmp_path):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit=TEST_RATE_LIMIT)
    assert config.token_max_lifetime == YEAR  # the default of R-X7
    app = create_app(config, clock=clock, engine=engine)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def driver(client, engine, clock):
    return Driver(client, bootstrap_admin(engine, clock, lifetime_days=DEFAULT_TOKEN_MAX_LIFETIME_DAYS))


def z(instant) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _delete(driver, path, token):
    return driver.client.delete(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})


def _member(driver, participant_id=None, email="ops@acme.example", **token_body) -> tuple[int, dict]:
    """A member user and a token the administrator issued for it."""
    participant_id = participant_id or driver.participant()["id"]
    user = driver.ok(f"/participants/{participant_id}/users", {"email": email})
    return user["id"], driver.ok(f"/users/{user['id']}/tokens", token_body)


def _works(driver, token) -> bool:
    """The token authenticates (the answer itself may be a 404 for another participant)."""
    return driver.get("/participants/1", token).status_code != 401


def test_maximum_lifetime_defaults_to_365_days_and_is_configurable():
    assert Config().token_max_lifetime_days == DEFAULT_TOKEN_MAX_LIFETIME_DAYS == 365
    assert Config.from_env({"ARCREG_TOKEN_MAX_LIFETIME_DAYS": "30"}).token_max_lifetime == timedelta(days=30)
    for bad in ("0", "-1", "x", "36501"):
        with pytest.raises(ValueError, match="ARCREG_TOKEN_MAX_LIFETIME_DAYS"):
            Config.from_env({"ARCREG_TOKEN_MAX_LIFETIME_DAYS": bad})


def test_a_token_without_expiry_gets_the_maximum_lifetime(driver, clock):
    user_id, issued = _member(driver)
    assert issued["expires_at"] == z(NOW + YEAR)  # the admin's token (NOW + 365 days) allows as much
    clock.set(NOW + YEAR - timedelta(microseconds=1))
    assert _works(driver, issued["token"])
    clock.set(NOW + YEAR)
    assert_problem(driver.get(f"/users/{user_id}/tokens", issued["token"]), 401, "invalid_token")


def test_a_child_without_expiry_expires_with_its_parent(driver, clock):
    """The audit: an admin-issued token valid for 2 minutes made a token with no expiry."""
    user_id, parent = _member(driver, expires_at=z(NOW + timedelta(minutes=2)))
    child = driver.ok(f"/users/{user_id}/tokens", {}, parent["token"])
    assert child["expires_at"] == parent["expires_at"] == z(NOW + timedelta(minutes=2))
    assert child["parent_token_id"] == parent["id"]
    grandchild = driver.ok(f"/users/{user_id}/tokens", {"label": "ci"}, child["token"])
    assert grandchild["expires_at"] == parent["expires_at"] and grandchild["parent_token_id"] == child["id"]
    clock.set(NOW + timedelta(minutes=2))
    for token in (parent, child, grandchild):
        assert_problem(driver.get(f"/users/{user_id}/tokens", token["token"]), 401, "invalid_token")


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59Z", z(NOW + YEAR + timedelta(microseconds=1))],
                         ids=["year 9999", "a microsecond beyond the maximum"])
def test_an_expiry_beyond_the_maximum_lifetime_is_refused(driver, engine, expires_at):
    user_id, _ = _member(driver)
    with engine.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM api_token")).scalar_one()
    body = assert_problem(driver.post(f"/users/{user_id}/tokens", {"expires_at": expires_at}, driver.admin),
                          422, "token_lifetime_exceeded")
    assert body["rule"] == "R-X7" and list(body["errors"]) == ["expires_at"] and "token" not in body
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM api_token")).scalar_one() == before
    # Exactly the maximum is allowed.
    assert driver.ok(f"/users/{user_id}/tokens", {"expires_at": z(NOW + YEAR)})["expires_at"] == z(NOW + YEAR)


def test_an_expiry_beyond_the_parents_is_refused(driver):
    user_id, parent = _member(driver, expires_at=z(NOW + timedelta(minutes=2)))
    later = {"expires_at": z(NOW + timedelta(minutes=2, microseconds=1))}
    body = assert_problem(driver.post(f"/users/{user_id}/tokens", later, parent["token"]), 422,
                          "token_outlives_parent")
    assert body["rule"] == "R-X7" and list(body["errors"]) == ["expires_at"]
    same = driver.ok(f"/users/{user_id}/tokens", {"expires_at": z(NOW + timedelta(minutes=2))}, parent["token"])
    assert same["expires_at"] == z(NOW + timedelta(minutes=2))


def test_revoking_a_token_revokes_its_descendants_only(driver):
    """The audit: revoking the original left the child working."""
    user_id, parent = _member(driver)
    sibling = driver.ok(f"/users/{user_id}/tokens", {})  # also made by the admin: not a descendant
    child = driver.ok(f"/users/{user_id}/tokens", {}, parent["token"])
    grandchild = driver.ok(f"/users/{user_id}/tokens", {}, child["token"])
    other_user = driver.ok("/users", {"email": "auditor@scs.example", "role": "certifier", "body_code": "SCS"})
    # A member's token makes tokens for its own user only; an administrator's token makes
    # them for anyone, and they are its descendants too.
    admin_child = driver.ok("/users/1/tokens", {})
    cert_token = driver.ok(f"/users/{other_user['id']}/tokens", {}, admin_child["token"])
    assert _works(driver, grandchild["token"]) and _works(driver, cert_token["token"])

    assert _delete(driver, f"/tokens/{parent['id']}", parent["token"]).status_code == 204  # its own user
    for token in (parent, child, grandchild):
        assert_problem(driver.get("/participants/1", token["token"]), 401, "invalid_token")
        assert_problem(driver.post("/transfers", {"serial": "x"}, token["token"]), 401, "invalid_token")
    assert _works(driver, sibling["token"])
    listed = {item["id"]: item for item in driver.get(f"/users/{user_id}/tokens", sibling["token"]).get_json()["items"]}
    assert all(listed[t["id"]]["revoked_at"] == z(NOW) and not listed[t["id"]]["active"]
               for t in (parent, child, grandchild))
    assert listed[sibling["id"]]["revoked_at"] is None and listed[sibling["id"]]["active"]

    # Across users: revoking the administrator's child token revokes the certifier's token made with it.
    assert _delete(driver, f"/tokens/{admin_child['id']}", driver.admin).status_code == 204
    assert_problem(driver.get("/participants/1", cert_token["token"]), 401, "invalid_token")
    assert _works(driver, driver.admin)


def test_a_user_lists_its_tokens_without_secrets(driver, engine):
    user_id, first = _member(driver)
    second = driver.ok(f"/users/{user_id}/tokens", {"label": "nightly export",
                                                    "expires_at": z(NOW + timedelta(days=7))}, first["token"])
    response = driver.get(f"/users/{user_id}/tokens", first["token"])
    assert response.status_code == 200
    page = response.get_json()
    assert [item["id"] for item in page["items"]] == [second["id"], first["id"]] and page["next_before"] is None
    assert page["items"][0] == {"id": second["id"], "label": "nightly export", "created_at": z(NOW),
                                "expires_at": z(NOW + timedelta(days=7)), "revoked_at": None,
                                "parent_token_id": first["id"], "active": True}
    with engine.connect() as connection:
        hashes = connection.execute(text("SELECT token_hash FROM api_token")).scalars().all()
    raw = response.get_data(as_text=True)
    assert first["token"] not in raw and second["token"] not in raw and not any(h in raw for h in hashes)
    # Paged: newest first, one at a time.
    one = driver.get(f"/users/{user_id}/tokens?limit=1", first["token"]).get_json()
    assert [i["id"] for i in one["items"]] == [second["id"]] and one["next_before"] == second["id"]
    rest = driver.get(f"/users/{user_id}/tokens?limit=1&before={second['id']}", first["token"]).get_json()
    assert [i["id"] for i in rest["items"]] == [first["id"]] and rest["next_before"] is None
    # Another participant's member sees nothing (R-X4); the administrator sees all.
    _, stranger = _member(driver, driver.participant("Brand Co", "DE")["id"], email="ops@brand.example")
    assert_problem(driver.get(f"/users/{user_id}/tokens", stranger["token"]), 404, "user_not_found")
    assert_problem(_delete(driver, f"/tokens/{second['id']}", stranger["token"]), 404, "token_not_found")
    assert len(driver.get(f"/users/{user_id}/tokens", driver.admin).get_json()["items"]) == 2
    # The user revokes one of its own.
    assert _delete(driver, f"/tokens/{second['id']}", first["token"]).status_code == 204
    assert_problem(driver.get(f"/users/{user_id}/tokens", second["token"]), 401, "invalid_token")


def test_a_disabled_users_tokens_all_stop_at_once(driver):
    user_id, first = _member(driver)
    second = driver.ok(f"/users/{user_id}/tokens", {}, first["token"])
    assert_problem(driver.post(f"/users/{user_id}/disable", None, first["token"]), 403, "forbidden_role")
    disabled = driver.ok(f"/users/{user_id}/disable", None, status=200)
    assert disabled["id"] == user_id and disabled["disabled_at"] == z(NOW)
    for token in (first, second):
        assert_problem(driver.get(f"/users/{user_id}/tokens", token["token"]), 401, "user_disabled")
        assert_problem(driver.post("/transfers", {"serial": "x"}, token["token"]), 401, "user_disabled")
    assert_problem(driver.post(f"/users/{user_id}/tokens", {}, driver.admin), 409, "user_disabled")
    assert_problem(driver.post("/users/1/disable", None, driver.admin), 409, "cannot_disable_self")
    # Enabled again: its tokens work again (disabling pauses them; revoking ends them).
    assert driver.ok(f"/users/{user_id}/enable", None, status=200)["disabled_at"] is None
    assert _works(driver, first["token"]) and _works(driver, second["token"])


def test_users_of_a_suspended_participant_cannot_create_tokens(driver, engine):
    participant = driver.participant()
    user_id, token = _member(driver, participant["id"])
    driver.ok(f"/participants/{participant['id']}/suspend", {"reason": "audit"}, status=200)
    body = assert_problem(driver.post(f"/users/{user_id}/tokens", {}, token["token"]), 403, "participant_suspended")
    assert body["rule"] == "R-X7"
    assert_problem(driver.post(f"/users/{user_id}/tokens", {}, driver.admin), 403, "participant_suspended")
    assert driver.get(f"/participants/{participant['id']}", token["token"]).status_code == 200  # it still reads
    # Reinstated, it may again.
    driver.ok(f"/participants/{participant['id']}/activate", status=200)
    driver.ok(f"/users/{user_id}/tokens", {}, token["token"])


def test_a_participant_removed_as_generator_keeps_its_account_and_tokens(driver, engine):
    """SPEC §16, R-E4: removal ends the generator registration, not the account; R-X7's
    "removed" names no participant status any more, so its users still create tokens."""
    participant = driver.participant()
    user_id, token = _member(driver, participant["id"])
    with engine.begin() as connection:
        connection.execute(text("UPDATE participant SET generator_removed_on = '2026-03-01' WHERE id = :id"),
                           {"id": participant["id"]})
    driver.ok(f"/users/{user_id}/tokens", {}, token["token"])

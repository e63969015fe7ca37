"""Administrator pages: token sign-in opening a server-side session kept in a scoped
cookie, integrity status, pending activations (R-P1, R-P5, R-X7, R-L7, R-L9)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlmodel import select

from api.pages.admin import form_key
from registry.db import session_factory
from registry.identity import hash_token
from registry.models import ApiToken, Participant
from tests.pages.htmlcheck import check_page, text_of


def _login(client, token):
    return client.post("/admin/login", data={"token": token})


def session_secret(client) -> str:
    """The cookie's value: the session's secret (never an API token, R-X7)."""
    cookie = client.get_cookie("arcreg_admin", path="/admin")
    return "" if cookie is None else cookie.value


def _activate(client, participant_id, token, key=None):
    return client.post(f"/admin/participants/{participant_id}/activate",
                       data={"form_key": form_key(session_secret(client)) if key is None else key})


def _add_pending(driver) -> int:
    body = {"name": "Harbor Films", "country": "MX", "gpp_signed_on": date(2026, 1, 5).isoformat()}
    return driver.ok("/participants", body)["id"]


def test_admin_pages_need_a_login(client, demo):
    response = client.get("/admin")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/login")


def test_only_an_administrator_token_logs_in(client, demo):
    for token in ("", "arc_not-a-token", demo.brand_token):
        response = _login(client, token)
        assert response.status_code == 401, token
        assert "not a valid administrator token" in text_of(response.get_data(as_text=True))
        assert "Set-Cookie" not in response.headers
    assert client.get("/admin").status_code == 303


def test_login_sets_a_scoped_httponly_strict_cookie(client, demo):
    response = _login(client, demo.admin_token)
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("arcreg_admin=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/admin"):
        assert flag in cookie, cookie
    assert "Secure" not in cookie  # plain HTTP on 127.0.0.1; Secure behind HTTPS
    secure = client.post("/admin/login", data={"token": demo.admin_token}, base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_status_page_shows_integrity_and_pending_participants(client, demo, driver):
    _add_pending(driver)
    _login(client, demo.admin_token)
    response = client.get("/admin")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert check_page(page) == []
    text = text_of(page)
    assert "Last full verification Never run" in text
    assert "No witness is registered" in text
    assert "Harbor Films MX 2026-01-05" in text


def test_activation_from_the_page(client, demo, driver, engine):
    participant_id = _add_pending(driver)
    _login(client, demo.admin_token)
    response = _activate(client, participant_id, demo.admin_token)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin?activated={participant_id}")
    with session_factory(engine)() as session:
        assert session.get(Participant, participant_id).status == "active"
    text = text_of(client.get(f"/admin?activated={participant_id}").get_data(as_text=True))
    assert f"Participant {participant_id} is now active" in text
    assert "No participant is waiting for activation" in text


def test_activation_refused_without_the_form_key_or_login(client, demo, driver, engine):
    participant_id = _add_pending(driver)
    anonymous = _activate(client, participant_id, demo.admin_token)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].endswith("/admin/login")
    _login(client, demo.admin_token)
    # A forged form (another site's page, sent with the cookie) lacks the key the session gives,
    # and the key of the API token is not it either.
    for key in ("", form_key("ses_some-other-session"), form_key(demo.admin_token), "0" * 64):
        assert _activate(client, participant_id, demo.admin_token, key=key).status_code == 403
    with session_factory(engine)() as session:
        assert session.get(Participant, participant_id).status == "pending"


def test_activation_rule_violation_is_shown(client, demo, driver, engine):
    """R-P1: no signed commitment, no activation — the page says why, nothing changes."""
    participant_id = driver.ok("/participants", {"name": "No GPP Ltd", "country": "US", "gpp_signed_on": None})["id"]
    _login(client, demo.admin_token)
    response = _activate(client, participant_id, demo.admin_token)
    assert response.status_code == 422
    assert "commitment" in text_of(response.get_data(as_text=True)).lower()
    with session_factory(engine)() as session:
        statuses = dict(session.exec(select(Participant.name, Participant.status)).all())
    assert statuses["No GPP Ltd"] == "pending"


def test_logout_clears_the_cookie(client, demo):
    _login(client, demo.admin_token)
    assert client.get("/admin").status_code == 200
    response = client.post("/admin/logout")
    assert response.status_code == 303
    assert "arcreg_admin=;" in response.headers["Set-Cookie"]
    assert client.get("/admin").status_code == 303


def test_a_revoked_token_ends_the_login(client, demo, driver, engine):
    """The session opened with a token ends when that token is revoked (R-P5, R-X7)."""
    _login(client, demo.admin_token)
    assert client.get("/admin").status_code == 200
    with session_factory(engine)() as session:
        token_id = session.exec(select(ApiToken.id).where(ApiToken.token_hash == hash_token(demo.admin_token))).one()
    assert client.delete(f"/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {driver.admin}"}
                         ).status_code == 204
    assert client.get("/admin").status_code == 303


# --- R-X7: the admin pages keep a server-side session, not the raw API token ---------

def _signed_out(response) -> bool:
    return response.status_code == 303 and response.headers["Location"].endswith("/admin/login")


def _browser_with(app, secret):
    browser = app.test_client()
    browser.set_cookie("arcreg_admin", secret, path="/admin")
    return browser


def test_the_cookie_holds_a_session_secret_not_the_api_token(app, client, demo, engine):
    response = _login(client, demo.admin_token)
    secret = session_secret(client)
    assert secret.startswith("ses_") and demo.admin_token not in response.headers["Set-Cookie"]
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT secret_hash, method, user_id, expires_at, revoked_at "
                                       "FROM web_session")).all()
    assert [(r.secret_hash, r.method, r.revoked_at) for r in rows] == [(hash_token(secret), "api_token", None)]
    assert secret not in str(rows)  # only its hash is stored
    # The API token itself opens nothing when put in the cookie.
    assert _signed_out(_browser_with(app, demo.admin_token).get("/admin"))
    assert _browser_with(app, secret).get("/admin").status_code == 200


def test_sign_out_revokes_the_session_server_side(app, client, demo, engine):
    _login(client, demo.admin_token)
    secret = session_secret(client)
    assert client.post("/admin/logout").status_code == 303
    # A copy of the cookie kept from before the sign-out is worthless.
    assert _signed_out(_browser_with(app, secret).get("/admin"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT revoked_at FROM web_session")).scalar_one() is not None
    # The API token still works: signing out of the pages ends the session only.
    assert _login(app.test_client(), demo.admin_token).status_code == 303


def test_disabling_an_administrator_ends_its_sessions(client, demo, driver):
    other = driver.ok("/users", {"email": "second-admin@registry.test", "role": "admin"})
    token = driver.ok(f"/users/{other['id']}/tokens", {})["token"]
    _login(client, token)
    assert client.get("/admin").status_code == 200
    driver.ok(f"/users/{other['id']}/disable", None, status=200)
    assert _signed_out(client.get("/admin"))
    assert _login(client, token).status_code == 401  # nor can it sign in again
    driver.ok(f"/users/{other['id']}/enable", None, status=200)
    assert _signed_out(client.get("/admin"))  # the session ended for good; its tokens work again
    assert _login(client, token).status_code == 303


def test_a_session_expires_and_never_outlives_its_token(client, demo, driver, clock):
    start = clock.now()
    _login(client, demo.admin_token)
    clock.set(start + timedelta(hours=12) - timedelta(microseconds=1))
    assert client.get("/admin").status_code == 200
    clock.set(start + timedelta(hours=12))  # ARCREG_SESSION_HOURS, default 12
    assert _signed_out(client.get("/admin"))
    clock.set(start)
    short = driver.ok("/users/1/tokens", {"expires_at": (start + timedelta(minutes=2)).isoformat()
                                          .replace("+00:00", "Z")})["token"]
    browser = client.application.test_client()
    _login(browser, short)
    assert browser.get("/admin").status_code == 200
    clock.set(start + timedelta(minutes=2))
    assert _signed_out(browser.get("/admin"))


def test_a_session_of_a_disabled_user_is_refused_even_if_not_revoked(client, demo, engine):
    """Defence in depth: the session check itself refuses a disabled user (a sign-in path
    that forgot to end the sessions would still be stopped)."""
    _login(client, demo.admin_token)
    with engine.begin() as connection:
        connection.execute(text("UPDATE app_user SET disabled_at = created_at WHERE role = 'admin'"))
        assert connection.execute(text("SELECT count(*) FROM web_session WHERE revoked_at IS NULL")).scalar_one() == 1
    assert _signed_out(client.get("/admin"))

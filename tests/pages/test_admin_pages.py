"""Administrator pages: token sign-in opening a server-side session kept in a scoped
cookie, integrity status, pending activations (R-P1, R-P5, R-X7, R-L7, R-L9)."""

from __future__ import annotations

from datetime import date

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

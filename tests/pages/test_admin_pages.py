"""Administrator pages: integrity status and pending activations (R-P1, R-L7, R-L9),
behind the workspace's sign-in (R-W1: password and TOTP, a server-side session, CSRF
tokens on the forms). The sign-in itself is tested in tests/workspace/."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from registry.db import session_factory
from registry.models import Participant
from tests.pages.htmlcheck import check_page, text_of
from tests.workspace.people import Browser, make_account


@pytest.fixture
def app(app, clock):
    app.extensions["arcreg"].otp_clock = clock  # TOTP on the pinned clock (tests/workspace/conftest.py)
    return app


@pytest.fixture
def admin_browser(app, demo, engine, clock):
    admin = make_account(engine, clock, "pages-admin@registry.test", "admin", with_totp=True)
    browser = Browser(app)
    browser.sign_in(admin)
    assert browser.give_code(admin.code(clock.now())).status_code == 303
    return browser


def _add_pending(driver) -> int:
    body = {"name": "Harbor Films", "country": "MX", "gpp_signed_on": date(2026, 1, 5).isoformat()}
    return driver.ok("/participants", body)["id"]


def _activate(browser, participant_id, *, token=True):
    return browser.post(f"/admin/participants/{participant_id}/activate", token=token, from_page="/admin")


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 303 and "/workspace/sign-in" in response.headers["Location"]


def test_admin_pages_need_a_sign_in(client, demo):
    response = client.get("/admin")
    assert _sent_to_sign_in(response) and "next=/admin" in response.headers["Location"]
    old = client.get("/admin/login")  # the former token sign-in's address
    assert old.status_code == 303 and old.headers["Location"].endswith("/workspace/sign-in?next=/admin")


def test_a_member_signed_in_is_not_an_administrator(app, demo, engine, clock, driver):
    participant = driver.participant("Cascade Trading")
    member = make_account(engine, clock, "trader@cascade.example", participant_id=participant["id"])
    browser = Browser(app)
    browser.sign_in(member)
    assert browser.is_signed_in()
    assert _sent_to_sign_in(browser.client.get("/admin"))


def test_status_page_shows_integrity_and_pending_participants(admin_browser, driver):
    _add_pending(driver)
    response = admin_browser.get("/admin")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert check_page(page) == []
    text = text_of(page)
    assert "Last full verification Never run" in text
    assert "No witness is registered" in text
    assert "Harbor Films MX 2026-01-05" in text
    assert "Signed in as pages-admin@registry.test" in text


def test_activation_from_the_page(admin_browser, driver, engine):
    participant_id = _add_pending(driver)
    response = _activate(admin_browser, participant_id)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin?activated={participant_id}")
    with session_factory(engine)() as session:
        assert session.get(Participant, participant_id).status == "active"
    text = text_of(admin_browser.get(f"/admin?activated={participant_id}").get_data(as_text=True))
    assert f"Participant {participant_id} is now active" in text
    assert "No participant is waiting for activation" in text


def test_activation_refused_without_the_csrf_token_or_sign_in(app, admin_browser, driver, engine):
    participant_id = _add_pending(driver)
    anonymous = Browser(app)
    assert _sent_to_sign_in(anonymous.post(f"/admin/participants/{participant_id}/activate",
                                           from_page="/workspace/sign-in"))
    forged = admin_browser.client.post(f"/admin/participants/{participant_id}/activate",
                                       data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert _activate(admin_browser, participant_id, token=False).status_code == 400
    with session_factory(engine)() as session:
        assert session.get(Participant, participant_id).status == "pending"


def test_activation_rule_violation_is_shown(admin_browser, driver, engine):
    """R-P1: no signed commitment, no activation — the page says why, nothing changes."""
    participant_id = driver.ok("/participants", {"name": "No GPP Ltd", "country": "US", "gpp_signed_on": None})["id"]
    response = _activate(admin_browser, participant_id)
    assert response.status_code == 422
    assert "commitment" in text_of(response.get_data(as_text=True)).lower()
    with session_factory(engine)() as session:
        statuses = dict(session.exec(select(Participant.name, Participant.status)).all())
    assert statuses["No GPP Ltd"] == "pending"


def test_sign_out_ends_the_admin_pages(admin_browser):
    assert admin_browser.get("/admin").status_code == 200
    assert admin_browser.post("/workspace/sign-out", from_page="/admin").status_code == 303
    assert _sent_to_sign_in(admin_browser.client.get("/admin"))

"""The administrator's participants page and the users page's "add a user" (R-W5, R-P1, R-P3,
R-P4): register, activate, suspend (with a reason) and reactivate a participant, each a log
entry; add a member and a certifier; refusals say what to change and change nothing; only
administrators reach the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.api.driver import snapshot
from tests.workspace.people import make_account


@pytest.fixture
def admin(browser, engine, clock):
    account = make_account(engine, clock, "second-admin@registry.test", "admin", with_totp=True)
    assert browser.sign_in(account).status_code == 303
    assert browser.give_code(account.code(clock.now())).status_code == 303
    return browser


def _participant(engine, name: str) -> tuple:
    with engine.connect() as c:
        return tuple(c.execute(text("SELECT id, status FROM participant WHERE name = :n"), {"n": name}).one())


def _log_types(engine) -> list[str]:
    with engine.connect() as c:
        return [r[0] for r in c.execute(text('SELECT type FROM log_entries ORDER BY "index"'))]


def _state(engine) -> dict:
    return {name: rows for name, rows in snapshot(engine).items() if name != "web_session"}


def test_register_activate_suspend_and_reactivate(admin, engine):
    assert admin.post("/workspace/participants", {"name": "Baltic Polymers", "country": "ee",
                                                  "gpp_signed_on": "2026-01-05"}).status_code == 303
    pid, status = _participant(engine, "Baltic Polymers")
    assert status == "pending"
    page = "/workspace/participants"
    assert admin.post(f"/workspace/participants/{pid}/activate", from_page=page).status_code == 303
    assert _participant(engine, "Baltic Polymers")[1] == "active"
    assert admin.post(f"/workspace/participants/{pid}/suspend", {"reason": "audit overdue"},
                      from_page=page).status_code == 303
    assert _participant(engine, "Baltic Polymers")[1] == "suspended"
    assert admin.post(f"/workspace/participants/{pid}/activate", from_page=page).status_code == 303
    assert _participant(engine, "Baltic Polymers")[1] == "active"
    assert _log_types(engine)[-4:] == ["participant.registered", "participant.activated", "participant.suspended",
                                       "participant.activated"]


def test_refusals_say_why_and_change_nothing(admin, engine):
    assert admin.post("/workspace/participants", {"name": "No Principles Co", "country": "US"}).status_code == 303
    pid, _ = _participant(engine, "No Principles Co")
    before = _state(engine)
    response = admin.post(f"/workspace/participants/{pid}/activate", from_page="/workspace/participants")
    assert response.status_code == 422 and "Good Practice Principles" in admin.last  # R-P1
    response = admin.post(f"/workspace/participants/{pid}/suspend", {"reason": "x"},
                          from_page="/workspace/participants")
    assert response.status_code == 422 and "only an active participant" in admin.last
    assert admin.post(f"/workspace/participants/{pid}/suspend", {"reason": ""},
                      from_page="/workspace/participants").status_code == 400
    assert admin.post("/workspace/participants", {"name": "", "country": "US"}).status_code == 400
    assert admin.post("/workspace/participants", {"name": "Bad Country", "country": "XX"}).status_code == 400
    assert admin.post("/workspace/participants", {"name": "Tokenless", "country": "US"}, token=False).status_code == 400
    assert _state(engine) == before


def test_add_a_member_and_a_certifier(admin, engine, driver):
    brand = driver.participant("Northwind Packaging")["id"]
    assert admin.post("/workspace/users", {"email": "new@northwind.example", "role": "member",
                                           "participant_id": str(brand)}, from_page="/workspace/users").status_code == 303
    assert admin.post("/workspace/users", {"email": "auditor2@nsf.example", "role": "certifier", "body_code": "NSF"},
                      from_page="/workspace/users").status_code == 303
    with engine.connect() as c:
        rows = {r[0]: (r[1], r[2], r[3]) for r in c.execute(text(
            "SELECT email, role, participant_id, body_code FROM app_user"))}
    assert rows["new@northwind.example"] == ("member", brand, None)
    assert rows["auditor2@nsf.example"] == ("certifier", None, "NSF")
    before = _state(engine)
    for data, words in (({"email": "new@northwind.example", "role": "member", "participant_id": str(brand)}, "exists"),
                        ({"email": "nobody", "role": "member", "participant_id": str(brand)}, "not an email"),
                        ({"email": "x@y.example", "role": "certifier", "body_code": "nsf"}, "three capital letters"),
                        ({"email": "x@y.example", "role": "member"}, "Choose the participant")):
        response = admin.post("/workspace/users", data, from_page="/workspace/users")
        assert response.status_code in (400, 409), (data, response.status_code)
        assert words in admin.last, (data, words)
    assert _state(engine) == before


def test_members_do_not_reach_the_admin_pages(browser, driver, engine, clock):
    brand = driver.participant("Northwind Packaging")["id"]
    assert browser.sign_in(make_account(engine, clock, "ops@northwind.example", participant_id=brand)).status_code == 303
    assert browser.get("/workspace/participants").status_code == 403
    before = _state(engine)
    assert browser.post("/workspace/participants", {"name": "X", "country": "US"},
                        from_page="/workspace").status_code == 403
    assert _state(engine) == before

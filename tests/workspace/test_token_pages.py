"""API tokens managed from the workspace (R-W1, R-P5, R-X7): a person creates a token (shown
once, working on the API), lists it, and revokes it with the tokens created with it; another
person's token cannot be revoked here; CSRF is required; bad input changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.api.driver import snapshot
from tests.workspace.people import Browser, make_account


def _tokens(engine, user_id: int) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT id, label, revoked_at IS NULL FROM api_token WHERE user_id = :u ORDER BY id"), {"u": user_id})]


def _state(engine) -> dict:
    return {name: rows for name, rows in snapshot(engine).items() if name != "web_session"}


def test_create_use_and_revoke_a_token_with_its_children(app, client, driver, engine, clock):
    brand = driver.participant("Northwind Packaging")["id"]
    account = make_account(engine, clock, "ops@northwind.example", participant_id=brand)
    browser = Browser(app)
    assert browser.sign_in(account).status_code == 303
    assert browser.post("/workspace/account/tokens", {"label": "ERP export", "days": "30"}).status_code == 200
    token = re.search(r'<code class="secret">(arc_[^<]+)</code>', browser.last).group(1)
    [(token_id, label, live)] = _tokens(engine, account.id)
    assert (label, live) == ("ERP export", True)
    # It works on the API, and a program makes a child token with it.
    mine = client.get(f"/api/v1/users/{account.id}/tokens", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200 and [t["id"] for t in mine.get_json()["items"]] == [token_id]
    child = client.post(f"/api/v1/users/{account.id}/tokens", headers={"Authorization": f"Bearer {token}"},
                        json={"label": "nightly job"})
    assert child.status_code == 201, child.get_data(as_text=True)
    browser.get("/workspace/account/tokens")
    assert token not in browser.last and "ERP export" in browser.last and f"made with #{token_id}" in browser.last

    assert browser.post(f"/workspace/account/tokens/{token_id}/revoke",
                        from_page="/workspace/account/tokens").status_code == 303
    assert [live for _, _, live in _tokens(engine, account.id)] == [False, False]  # with its child (R-X7)
    revoked = client.get(f"/api/v1/users/{account.id}/tokens", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


def test_someone_elses_token_and_bad_input_change_nothing(app, driver, engine, clock):
    brand = driver.participant("Northwind Packaging")["id"]
    other = driver.participant("Cascade Trading")["id"]
    mine = make_account(engine, clock, "ops@northwind.example", participant_id=brand)
    theirs = make_account(engine, clock, "ops@cascade.example", participant_id=other)
    owner = Browser(app)
    assert owner.sign_in(theirs).status_code == 303
    assert owner.post("/workspace/account/tokens", {"label": "theirs", "days": "30"}).status_code == 200
    [(their_token, _, _)] = _tokens(engine, theirs.id)
    browser = Browser(app)
    assert browser.sign_in(mine).status_code == 303
    before = _state(engine)
    response = browser.post(f"/workspace/account/tokens/{their_token}/revoke", from_page="/workspace/account/tokens")
    assert response.status_code == 404 and _state(engine) == before
    assert browser.post("/workspace/account/tokens", {"label": "", "days": "30"}).status_code == 400
    assert browser.post("/workspace/account/tokens", {"label": "x", "days": "9999"}).status_code == 400
    assert browser.post("/workspace/account/tokens", {"label": "x", "days": "30"}, token=False).status_code == 400
    assert _state(engine) == before

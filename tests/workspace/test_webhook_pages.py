"""The webhooks page (R-W3, R-N1): a member registers an endpoint and sees its secret once,
sees each delivery attempt, disables, enables and deletes it; refusals say what to change and
change nothing; another participant's endpoint is not reachable; CSRF is required."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.api.driver import snapshot
from tests.workspace.people import Browser, make_account


def _setup(app, driver, engine, clock):
    brand = driver.participant("Northwind Packaging")["id"]
    other = driver.participant("Cascade Trading")["id"]
    browser = Browser(app)
    assert browser.sign_in(make_account(engine, clock, "ops@northwind.example", participant_id=brand)).status_code == 303
    stranger = Browser(app)
    assert stranger.sign_in(make_account(engine, clock, "ops@cascade.example", participant_id=other)).status_code == 303
    return brand, browser, stranger


def _endpoints(engine) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT id, url, enabled, deleted_at IS NULL FROM webhook_endpoint ORDER BY id"))]


def _state(engine) -> dict:
    return {name: rows for name, rows in snapshot(engine).items() if name != "web_session"}


def test_register_see_the_secret_once_then_disable_enable_delete(app, driver, engine, clock):
    brand, browser, stranger = _setup(app, driver, engine, clock)
    assert browser.get("/workspace/webhooks").status_code == 200 and "None yet." in browser.last
    response = browser.post("/workspace/webhooks", {"url": "https://hooks.northwind.example/arc",
                                                    "events": ["transfer.received", "offer.pending"]})
    assert response.status_code == 200, browser.last
    secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', browser.last).group(1)
    [(endpoint, url, enabled, live)] = _endpoints(engine)
    assert (url, enabled, live) == ("https://hooks.northwind.example/arc", True, True)
    browser.get("/workspace/webhooks")
    assert secret not in browser.last and "transfer.received, offer.pending" in browser.last

    # Another participant's member can neither see nor touch it.
    stranger.get("/workspace/webhooks")
    assert "hooks.northwind.example" not in stranger.last
    before = _state(engine)
    assert stranger.post(f"/workspace/webhooks/{endpoint}/disable", from_page="/workspace/webhooks").status_code == 404
    assert _state(engine) == before

    assert browser.post(f"/workspace/webhooks/{endpoint}/disable", from_page="/workspace/webhooks").status_code == 303
    assert not _endpoints(engine)[0][2]
    assert browser.post(f"/workspace/webhooks/{endpoint}/enable", from_page="/workspace/webhooks").status_code == 303
    assert bool(_endpoints(engine)[0][2])
    assert browser.post(f"/workspace/webhooks/{endpoint}/delete", from_page="/workspace/webhooks").status_code == 303
    assert not _endpoints(engine)[0][3]
    browser.get("/workspace/webhooks?notice=deleted")
    assert "nothing more is sent to it" in browser.last and "hooks.northwind.example" not in browser.last


def test_a_refused_endpoint_says_what_to_change_and_changes_nothing(app, driver, engine, clock):
    _, browser, _ = _setup(app, driver, engine, clock)
    before = _state(engine)
    for url, words in (("http://hooks.northwind.example/arc", "https"), ("https://10.0.0.7/arc", "private"),
                       ("not a url", "")):
        response = browser.post("/workspace/webhooks", {"url": url})
        assert response.status_code in (400, 422), (url, response.status_code)
        assert 'class="field-error"' in browser.last or 'class="notice error"' in browser.last
        assert words.lower() in browser.last.lower(), (url, browser.last[-2000:])
        assert _state(engine) == before


def test_a_post_without_its_token_is_refused(app, driver, engine, clock):
    _, browser, _ = _setup(app, driver, engine, clock)
    before = _state(engine)
    response = browser.post("/workspace/webhooks", {"url": "https://hooks.northwind.example/arc"}, token=False)
    assert response.status_code == 400 and _state(engine) == before

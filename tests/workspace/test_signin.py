"""Sign-in for people (R-W1): passwords, TOTP required for administrators and certifiers,
recovery codes, throttling, server-side sessions with idle and absolute expiry and their
revocation, reset links, CSRF. Both databases, the registry's clock pinned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from registry.accounts import recovery, signin
from registry.db import UnitOfWork, session_factory
from tests.workspace.people import PASSWORD, make_account


@pytest.fixture
def member(engine, clock, driver):
    participant = driver.participant("Northwind Packaging")
    return make_account(engine, clock, "ops@northwind.example", participant_id=participant["id"])


@pytest.fixture
def admin(engine, clock, driver):
    return make_account(engine, clock, "second-admin@registry.test", "admin", with_totp=True)


def _sessions(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(text("SELECT user_id, method, revoked_at FROM web_session ORDER BY id")).all()


# --- password ------------------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_get_the_same_refusal(browser, member, engine):
    for email, password in ((member.email, "not the password"), ("nobody@example.org", PASSWORD),
                            (member.email, "")):
        response = browser.post("/workspace/sign-in", {"email": email, "password": password})
        assert response.status_code in (400, 401), (email, response.status_code)
        if response.status_code == 401:
            assert "The email address or the password is not right." in browser.last
        assert "arcreg_session" not in response.headers.get("Set-Cookie", "")
    assert _sessions(engine) == []
    assert not browser.is_signed_in()


def test_a_member_without_a_second_factor_signs_in_with_the_password(browser, member, engine):
    response = browser.sign_in(member)
    assert response.status_code == 303 and browser.where(response).endswith("/workspace")
    cookie = response.headers["Set-Cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert browser.cookie().startswith("ses_")
    page = browser.get("/workspace")
    assert page.status_code == 200
    assert "ops@northwind.example" in browser.last and "Northwind Packaging" in browser.last
    assert [(user, method) for user, method, _ in _sessions(engine)] == [(member.id, "password")]


def test_email_is_matched_without_case_and_next_page_must_be_local(browser, new_browser, member):
    response = browser.post("/workspace/sign-in", {"email": member.email.upper(), "password": member.password,
                                                   "next": "//evil.example/phish"})
    assert response.status_code == 303 and browser.where(response) == "/workspace"
    second = new_browser()
    response = second.sign_in(member, next_page="/workspace/account")
    assert second.where(response) == "/workspace/account"
    for elsewhere in ("https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        third = new_browser()
        assert third.where(third.sign_in(member, next_page=elsewhere)) == "/workspace", elsewhere


def test_a_disabled_user_cannot_sign_in(browser, member, driver):
    driver.ok(f"/users/{member.id}/disable", None, status=200)
    assert browser.sign_in(member).status_code == 401


# --- throttling ----------------------------------------------------------------------------------


def test_failed_attempts_are_throttled_per_account(browser, new_browser, member, engine, clock):
    for _ in range(5):  # ARCREG_LOGIN_RATE_LIMIT: 5/minute
        assert browser.sign_in(member, password="guess guess guess").status_code == 401
    refused = browser.sign_in(member)  # even the right password, now
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed sign-in attempts" in browser.last
    assert _sessions(engine) == []
    # Another account from the same address is not locked out by these five.
    other = make_account(engine, clock, "other@northwind.example")
    assert new_browser().sign_in(other).status_code == 303


def test_failed_attempts_are_throttled_per_address(new_browser, engine, clock):
    accounts = [make_account(engine, clock, f"user{n}@example.org") for n in range(5)]
    browser = new_browser()
    for attempt in range(20):  # ARCREG_LOGIN_ADDRESS_RATE_LIMIT: 20/minute, spread over five accounts
        assert browser.sign_in(accounts[attempt % 5], password="guess guess guess").status_code == 401
    fresh = make_account(engine, clock, "fresh@example.org")
    assert new_browser().sign_in(fresh).status_code == 429  # same address (the test client's)


def test_wrong_codes_count_against_the_account(browser, admin, clock):
    assert browser.sign_in(admin).status_code == 303
    for _ in range(5):
        assert browser.give_code("000000" if admin.code(clock.now()) != "000000" else "111111").status_code == 401
    assert browser.give_code(admin.code(clock.now())).status_code == 429


# --- second factor -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "certifier"])
def test_administrators_and_certifiers_must_enrol_a_second_factor(role, browser, engine, clock):
    account = make_account(engine, clock, f"new-{role}@registry.test", role,
                           body_code="NSF" if role == "certifier" else None)
    response = browser.sign_in(account)
    assert response.status_code == 303 and "/workspace/sign-in/enrol" in browser.where(response)
    # The pending session opens nothing else.
    assert browser.client.get("/workspace").status_code == 303
    assert browser.client.get("/workspace/account").status_code == 303
    page = browser.get("/workspace/sign-in/enrol")
    assert page.status_code == 200 and "<svg" in browser.last and 'role="img"' in browser.last
    with UnitOfWork(session_factory(engine), clock) as uow:
        secret = signin.login_of(uow, account.id).totp_pending_secret
    assert secret and secret in browser.last
    import pyotp
    wrong = browser.post("/workspace/sign-in/enrol", {"code": "12345"})
    assert wrong.status_code == 400
    response = browser.post("/workspace/sign-in/enrol", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert response.status_code == 200 and "Your recovery codes" in browser.last
    codes = [code for code in _codes(browser.last)]
    assert len(codes) == recovery.COUNT
    assert browser.is_signed_in()
    assert [m for u, m, r in _sessions(engine) if r is None] == ["password+totp"]


def _codes(html: str) -> list[str]:
    import re
    return re.findall(r"<li><code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code></li>", html)


def test_a_totp_code_signs_in_once(browser, new_browser, admin, clock, engine):
    assert "/workspace/sign-in/code" in browser.where(browser.sign_in(admin))
    assert browser.client.get("/workspace").status_code == 303  # not signed in before the code
    assert browser.give_code("000000" if admin.code(clock.now()) != "000000" else "111111").status_code == 401
    code = admin.code(clock.now())
    response = browser.give_code(code)
    assert response.status_code == 303 and browser.is_signed_in()
    # The same code again, from another browser within its 30 seconds: refused (no replay).
    other = new_browser()
    other.sign_in(admin)
    assert other.give_code(code).status_code == 401
    # The next step's code is accepted (one step of drift either way).
    clock.set(clock.now() + timedelta(seconds=30))
    assert other.give_code(admin.code(clock.now())).status_code == 303


def test_a_code_from_long_ago_or_far_ahead_is_refused(browser, admin, clock):
    browser.sign_in(admin)
    assert browser.give_code(admin.code(clock.now() - timedelta(seconds=90))).status_code == 401
    assert browser.give_code(admin.code(clock.now() + timedelta(seconds=90))).status_code == 401


def test_a_recovery_code_works_once(browser, new_browser, admin, engine, clock):
    with UnitOfWork(session_factory(engine), clock) as uow:
        codes = recovery.new_codes(uow, admin.id)
        uow.commit()
    browser.sign_in(admin)
    response = browser.give_code(codes[3].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 303 and browser.is_signed_in()
    assert [m for u, m, r in _sessions(engine) if r is None] == ["password+recovery"]
    again = new_browser()
    again.sign_in(admin)
    assert again.give_code(codes[3]).status_code == 401
    assert again.give_code(codes[4]).status_code == 303
    with UnitOfWork(session_factory(engine), clock) as uow:
        assert recovery.remaining(uow, admin.id) == recovery.COUNT - 2
        fresh = recovery.new_codes(uow, admin.id)  # a new set retires the old one
        uow.commit()
    third = new_browser()
    third.sign_in(admin)
    assert third.give_code(codes[5]).status_code == 401
    assert third.give_code(fresh[0]).status_code == 303


def test_an_administrator_cannot_turn_the_second_factor_off(browser, admin, clock, engine):
    browser.sign_in(admin)
    browser.give_code(admin.code(clock.now()))
    response = browser.post("/workspace/account/two-factor/disable", {"password": admin.password},
                            from_page="/workspace/account")
    assert response.status_code == 422
    assert "a second factor is required for the role admin" in browser.last
    with UnitOfWork(session_factory(engine), clock) as uow:
        assert signin.login_of(uow, admin.id).totp_secret == admin.totp_secret


def test_a_member_adds_and_removes_an_authenticator(browser, new_browser, member, clock, engine):
    import pyotp
    browser.sign_in(member)
    browser.get("/workspace/account/two-factor")
    with UnitOfWork(session_factory(engine), clock) as uow:
        secret = signin.login_of(uow, member.id).totp_pending_secret
    response = browser.post("/workspace/account/two-factor", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert response.status_code == 200 and len(_codes(browser.last)) == recovery.COUNT
    other = new_browser()
    assert "/workspace/sign-in/code" in other.where(other.sign_in(member))  # now the code is asked
    wrong = browser.post("/workspace/account/two-factor/disable", {"password": "not my password"},
                         from_page="/workspace/account")
    assert wrong.status_code == 400 and "the password is not right" in browser.last
    assert browser.post("/workspace/account/two-factor/disable", {"password": member.password},
                        from_page="/workspace/account").status_code == 303
    third = new_browser()
    assert third.where(third.sign_in(member)).endswith("/workspace")


# --- sessions ------------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time(browser, member, clock):
    start = clock.now()
    browser.sign_in(member)
    clock.set(start + timedelta(minutes=29, seconds=59))  # ARCREG_SESSION_IDLE_MINUTES: 30
    assert browser.is_signed_in()  # …and this request moves the idle clock on
    clock.set(start + timedelta(minutes=59, seconds=58))
    assert browser.is_signed_in()  # 29:59 after the last request
    clock.set(start + timedelta(minutes=89, seconds=58))  # 30 minutes after the last request
    response = browser.client.get("/workspace")
    assert response.status_code == 303 and "/workspace/sign-in" in browser.where(response)


def test_a_session_ends_at_its_absolute_expiry_however_busy(browser, member, clock):
    start = clock.now()
    browser.sign_in(member)
    moment = start
    while moment + timedelta(minutes=20) < start + timedelta(hours=12):
        moment += timedelta(minutes=20)
        clock.set(moment)
        assert browser.is_signed_in(), moment
    clock.set(start + timedelta(hours=12) - timedelta(microseconds=1))
    assert browser.is_signed_in()
    clock.set(start + timedelta(hours=12))  # ARCREG_SESSION_HOURS: 12
    assert not browser.is_signed_in()


def test_a_pending_session_lasts_ten_minutes(browser, admin, clock):
    start = clock.now()
    browser.sign_in(admin)
    clock.set(start + timedelta(minutes=10))
    response = browser.client.get("/workspace/sign-in/code")
    assert response.status_code == 303 and "notice=expired" in browser.where(response)


def test_sign_out_revokes_the_session_server_side(app, browser, member, engine):
    browser.sign_in(member)
    kept = browser.cookie()
    response = browser.post("/workspace/sign-out", from_page="/workspace/account")
    assert response.status_code == 303 and "arcreg_session=;" in response.headers["Set-Cookie"]
    copy = app.test_client()
    copy.set_cookie("arcreg_session", kept)
    assert copy.get("/workspace").status_code == 303  # a copy of the cookie is worthless
    assert all(revoked is not None for _, _, revoked in _sessions(engine))


def test_a_password_change_ends_every_other_session(browser, new_browser, member, engine):
    browser.sign_in(member)
    elsewhere = new_browser()
    elsewhere.sign_in(member)
    old_cookie = browser.cookie()
    refused = browser.post("/workspace/account/password", {"current_password": "wrong wrong wrong",
                                                           "new_password": "a new long passphrase",
                                                           "confirm": "a new long passphrase"},
                           from_page="/workspace/account")
    assert refused.status_code == 400 and "the current password is not right" in browser.last
    short = browser.post("/workspace/account/password", {"current_password": member.password,
                                                         "new_password": "short", "confirm": "short"},
                         from_page="/workspace/account")
    assert short.status_code == 400 and "A password has 12 to 256 characters." in browser.last
    response = browser.post("/workspace/account/password", {"current_password": member.password,
                                                            "new_password": "a new long passphrase",
                                                            "confirm": "a new long passphrase"},
                            from_page="/workspace/account")
    assert response.status_code == 303
    assert browser.cookie() != old_cookie and browser.is_signed_in()  # this browser: a new session
    assert not elsewhere.is_signed_in()  # every other one: ended
    assert new_browser().sign_in(member).status_code == 401  # the old password is gone
    member.password = "a new long passphrase"
    assert new_browser().sign_in(member).status_code == 303


def test_disabling_a_user_ends_its_sessions(browser, new_browser, member, admin, clock, engine):
    browser.sign_in(member)
    assert browser.is_signed_in()
    administrator = new_browser()
    administrator.sign_in(admin)
    administrator.give_code(admin.code(clock.now()))
    response = administrator.post(f"/workspace/users/{member.id}/disable", from_page="/workspace/users")
    assert response.status_code == 303 and "notice=disabled" in administrator.where(response)
    assert not browser.is_signed_in()
    administrator.post(f"/workspace/users/{member.id}/enable", from_page="/workspace/users")
    assert not browser.is_signed_in()  # ended for good; a new sign-in works
    assert new_browser().sign_in(member).status_code == 303


def test_the_users_page_is_for_administrators(browser, member):
    browser.sign_in(member)
    assert browser.client.get("/workspace/users").status_code == 403
    forged = browser.post(f"/workspace/users/{member.id}/disable", from_page="/workspace/account")
    assert forged.status_code == 403


# --- reset links ---------------------------------------------------------------------------------


def _reset_link(administrator, user_id: int, clears_totp: bool = False) -> str:
    import re
    data = {"clears_totp": "y"} if clears_totp else {}
    response = administrator.post(f"/workspace/users/{user_id}/reset-link", data, from_page="/workspace/users")
    assert response.status_code == 200, administrator.last
    return re.search(r'id="reset-link">http://localhost(/workspace/reset/rst_[A-Za-z0-9_-]+)<', administrator.last
                     ).group(1)


@pytest.fixture
def administrator(new_browser, admin, clock):
    browser = new_browser()
    browser.sign_in(admin)
    browser.give_code(admin.code(clock.now()))
    return browser


def test_a_reset_link_works_once(administrator, new_browser, member, engine):
    user_browser = new_browser()
    user_browser.sign_in(member)
    link = _reset_link(administrator, member.id)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT secret_hash FROM password_reset")).scalar_one()
    assert link.rsplit("/", 1)[1] not in stored  # only its hash
    visitor = new_browser()
    assert visitor.get(link).status_code == 200 and member.email in visitor.last
    response = visitor.post(link, {"new_password": "chosen after the reset", "confirm": "chosen after the reset"})
    assert response.status_code == 303 and "notice=reset" in visitor.where(response)
    assert not user_browser.is_signed_in()  # the reset ends every session of the user
    assert visitor.get(link).status_code == 410
    assert visitor.client.post(link, data={"new_password": "someone else again", "confirm": "someone else again",
                                           "csrf_token": visitor.token("/workspace/sign-in")}).status_code == 410
    member.password = "chosen after the reset"
    assert new_browser().sign_in(member).status_code == 303


def test_a_reset_link_expires_and_a_newer_one_replaces_it(administrator, new_browser, member, clock):
    first = _reset_link(administrator, member.id)
    second = _reset_link(administrator, member.id)
    visitor = new_browser()
    assert visitor.get(first).status_code == 410  # replaced
    clock.set(clock.now() + timedelta(hours=24))  # ARCREG_RESET_LINK_HOURS: 24
    assert visitor.get(second).status_code == 410
    assert visitor.get("/workspace/reset/rst_made-up").status_code == 410


def test_a_reset_link_can_remove_the_second_factor(administrator, new_browser, engine, clock):
    certifier = make_account(engine, clock, "auditor@nsf.example", "certifier", body_code="NSF", with_totp=True)
    link = _reset_link(administrator, certifier.id, clears_totp=True)
    visitor = new_browser()
    visitor.post(link, {"new_password": "a fresh start for me", "confirm": "a fresh start for me"})
    certifier.password = "a fresh start for me"
    response = visitor.sign_in(certifier)
    assert "/workspace/sign-in/enrol" in visitor.where(response)  # enrols again


# --- CSRF ----------------------------------------------------------------------------------------


def test_forms_posted_without_their_token_are_refused(browser, new_browser, member, admin, administrator, engine,
                                                      driver):
    from tests.api.driver import snapshot
    refused = browser.post("/workspace/sign-in", {"email": member.email, "password": member.password}, token=False)
    assert refused.status_code == 400 and "Request refused" in browser.last
    assert not browser.is_signed_in()
    browser.sign_in(member)
    pending = driver.participant("Harbor Films", "MX", activate=False)["id"]
    before = snapshot(engine)
    forged = {"current_password": member.password, "new_password": "forged forged forged",
              "confirm": "forged forged forged"}
    assert browser.post("/workspace/account/password", forged, token=False).status_code == 400
    assert browser.post("/workspace/account/password", {**forged, "csrf_token": "forged"},
                        token=False).status_code == 400
    for path in (f"/workspace/users/{member.id}/disable", f"/workspace/users/{member.id}/reset-link",
                 f"/admin/participants/{pending}/activate", "/workspace/sign-out"):
        assert administrator.post(path, token=False).status_code == 400, path
    assert snapshot(engine) == before  # nothing written
    assert browser.is_signed_in() and administrator.is_signed_in()


# --- races ---------------------------------------------------------------------------------------


def test_one_recovery_code_and_one_reset_link_win_one_race(engine, clock, admin, member, driver):
    """Four threads spend the same recovery code, four use the same reset link: one wins each."""
    import threading

    from registry.accounts import resets
    from registry.actors import SYSTEM
    from registry.errors import RuleViolation
    from tests.threads import Worker, finish

    with UnitOfWork(session_factory(engine), clock) as uow:
        code = recovery.new_codes(uow, admin.id)[0]
        link = resets.create_link(uow, SYSTEM, member.id)
        uow.commit()
    start = threading.Barrier(8)
    spent, used = [], []

    def spend():
        with UnitOfWork(session_factory(engine), clock) as uow:
            start.wait()
            if signin.check_code(uow, admin.id, code, at=clock.now()):
                spent.append(1)
            uow.commit()

    def reset(n):
        with UnitOfWork(session_factory(engine), clock) as uow:
            start.wait()
            try:
                resets.use_link(uow, link, f"racing password number {n}")
                uow.commit()
                used.append(n)
            except RuleViolation:
                pass

    workers = [Worker(spend) for _ in range(4)] + [Worker(reset, n) for n in range(4)]
    for worker in workers:
        worker.start()
    finish(workers, timeout=60)
    assert len(spent) == 1 and len(used) == 1
    with UnitOfWork(session_factory(engine), clock) as uow:
        assert signin.check_password(uow, member.email, f"racing password number {used[0]}") is not None


# --- the pages themselves --------------------------------------------------------------------------


def test_every_workspace_page_is_valid_accessible_html(browser, new_browser, admin, member, engine, clock):
    """Strict HTML5, labels, landmarks and no inline script or style (tests/pages/htmlcheck.py)."""
    from tests.pages.htmlcheck import check_page

    seen = {}
    seen["sign-in"] = browser.get("/workspace/sign-in")
    browser.sign_in(admin, password="wrong wrong wrong")
    seen["sign-in refused"] = browser.last
    browser.sign_in(admin)
    seen["code"] = browser.get("/workspace/sign-in/code")
    browser.give_code(admin.code(clock.now()))
    for path in ("/workspace", "/workspace/account", "/workspace/users", "/admin", "/workspace/account/two-factor"):
        seen[path] = browser.get(path)
    link = _reset_link(browser, member.id)
    seen["reset link"] = browser.last
    seen["reset"] = new_browser().get(link)
    seen["recovery codes"] = browser.post("/workspace/account/recovery-codes", from_page="/workspace/account")
    certifier = make_account(engine, clock, "enrolling@nsf.example", "certifier", body_code="NSF")
    enrolling = new_browser()
    enrolling.sign_in(certifier)
    seen["enrol"] = enrolling.get("/workspace/sign-in/enrol")
    problems = {}
    for name, page in seen.items():
        html = page if isinstance(page, str) else page.get_data(as_text=True)
        if isinstance(page, str) or page.status_code == 200:
            problems[name] = check_page(html)
        else:
            problems[name] = [f"status {page.status_code}"]
    assert {name: found for name, found in problems.items() if found} == {}

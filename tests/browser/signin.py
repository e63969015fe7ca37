"""Signing in through the pages in Chromium (R-W1), with a real TOTP code.

The served registry checks codes against real time (the phone's), and accepts each
code once: a second sign-in of the same account in the same 30 seconds takes the
next step's code (one step of drift is allowed), and a third waits for the clock."""

from __future__ import annotations

import time

import pyotp

from tests.browser.demoserver import Login

_last_step: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    while True:
        now = int(time.time()) // 30
        for step in (now, now + 1):
            if step > _last_step.get(secret, -1):
                _last_step[secret] = step
                return pyotp.TOTP(secret).generate_otp(step)
        time.sleep(1)


def sign_in(page, base: str, login: Login, *, then: str = "/workspace") -> None:
    """From wherever the page is sent to sign in: password, then the code if asked."""
    if "/workspace/sign-in" not in page.url:
        page.goto(f"{base}/workspace/sign-in?next={then}")
    page.fill("#email", login.email)
    page.fill("#password", login.password)
    page.click("form.login button[type=submit]")
    if login.totp_secret:
        page.wait_for_url(f"{base}/workspace/sign-in/code**")
        page.fill("#code", fresh_code(login.totp_secret))
        page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}{then}")

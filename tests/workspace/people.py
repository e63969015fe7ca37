"""A person in a browser for the workspace's tests: the Flask test client with its own
cookies, reading each form's CSRF token from the page it came from, as a browser does."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp

from registry.accounts import signin, totp
from registry.db import UnitOfWork, session_factory
from registry.identity import create_user

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Account:
    id: int
    email: str
    password: str
    totp_secret: str | None = None

    def code(self, at) -> str:
        return pyotp.TOTP(self.totp_secret).at(at)


def make_account(engine, clock, email: str, role: str = "member", *, participant_id=None, body_code=None,
                 with_totp: bool = False, password: str = PASSWORD) -> Account:
    """A user with a password (and an enrolled authenticator) through the domain's functions."""
    with UnitOfWork(session_factory(engine), clock) as uow:
        user = create_user(uow, email=email, role=role, participant_id=participant_id, body_code=body_code)
        signin.set_password(uow, user, password)
        secret = None
        if with_totp:
            login = signin.login_of(uow, user.id, lock=True)
            secret = login.totp_secret = totp.new_secret()
            login.totp_enabled_at = clock.now()
            uow.flush()
        uow.commit()
        return Account(user.id, user.email, password, secret)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


class Browser:
    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.last = ""

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        self.last = response.get_data(as_text=True)
        return response

    def post(self, path: str, data: dict | None = None, *, token: bool = True, from_page: str | None = None):
        """POST as the form on ``from_page`` (default: the page at ``path``) would, with its token."""
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.token(from_page or path)
        response = self.client.post(path, data=data)
        self.last = response.get_data(as_text=True)
        return response

    def token(self, page: str) -> str:
        """The CSRF token of a form page: ``page`` if it shows a form, else the account or sign-in page."""
        for candidate in (page, "/workspace/account", "/workspace/sign-in"):
            response = self.client.get(candidate)
            html = response.get_data(as_text=True)
            if response.status_code == 200 and _CSRF.search(html):
                return csrf_of(html)
        raise AssertionError(f"no form with a CSRF token near {page}")

    def sign_in(self, account: Account, *, password: str | None = None, next_page: str | None = None):
        data = {"email": account.email, "password": account.password if password is None else password}
        if next_page:
            data["next"] = next_page
        return self.post("/workspace/sign-in", data)

    def give_code(self, code: str):
        return self.post("/workspace/sign-in/code", {"code": code})

    def cookie(self) -> str:
        cookie = self.client.get_cookie("arcreg_session")
        return "" if cookie is None else cookie.value

    def is_signed_in(self) -> bool:
        response = self.client.get("/workspace")
        return response.status_code == 200

    def where(self, response) -> str:
        return response.headers.get("Location", "")

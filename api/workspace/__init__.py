"""The participant workspace (SPEC §18): server-rendered pages for people signed in
with a password and, where required, a second factor (R-W1).

- `people`: the session cookie and who is signed in (``signed_in_page``).
- `csrf`: the CSRF token every form of the pages carries (Flask-WTF).
- `throttle`: failed sign-in attempts per account and per address.
- `signin`: sign-in, second factor, enrolment at first sign-in, sign-out, reset links.
- `home`: each role's home page; `account`: password, authenticator, recovery codes.
- `users`: the administrator's users page (disable, enable, reset link).
- `holder`: a member's holdings, transfer (single or a CSV upload), offers and retire pages (R-W3).
- `forms/`: the forms, one module per area; `qr`: the enrolment QR code as SVG.

No rule lives in a view: every check is in ``registry/accounts`` or the services
the API uses.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from registry.config import Config

bp = Blueprint("workspace", __name__, url_prefix="/workspace")


def init_workspace(app: Flask, config: Config) -> None:
    from api.workspace import csrf, throttle

    csrf.init_csrf(app, config)
    app.extensions["arcreg.login_throttle"] = throttle.LoginThrottle(config)
    from api.workspace import (account, certifier, custody, generator, holder, home, signin,  # noqa: F401  (views on bp)
                               downloads, participants, tokens, transfer, users, webhooks)

    app.register_blueprint(bp)

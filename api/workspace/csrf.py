"""CSRF protection of every form of the pages (R-W1), with Flask-WTF.

Each form carries a token tied to a random value in a signed cookie
(``arcreg_csrf``, HttpOnly, SameSite=Strict); every POST to the workspace and
to the admin pages is checked before its view runs — a form class or a bare
button alike — and refused (400, nothing changed) without a valid token. The
API (/api/v1) takes bearer tokens, never cookies, and is not checked.

The cookie's signing key is ``ARCREG_SECRET_KEY`` or, by default, derived from
the log's signing key (SHA-256 of its deterministic Ed25519 signature of a fixed
label): every worker of a registry has the same one without a new secret to
manage. Tokens do not expire on their own (a form left open over lunch still
posts); they end with the browser session. The Referer check Flask-WTF makes
over HTTPS is off: the pages send ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import hashlib

from flask import Flask, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from api.context import EXTENSION
from registry.config import Config

CSRF = CSRFProtect()
_LABEL = b"arcreg pages: CSRF cookie signing key v1"


def init_csrf(app: Flask, config: Config) -> None:
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_SSL_STRICT=False, WTF_CSRF_TIME_LIMIT=None,
                      SESSION_COOKIE_NAME="arcreg_csrf", SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_HTTPONLY=True)
    if config.secret_key:
        app.secret_key = config.secret_key
    app.session_interface = _KeyedSessions()
    CSRF.init_app(app)
    app.register_error_handler(CSRFError, _refused)


class _KeyedSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, its key derived on first use (the signing key is loaded
    lazily for a registry not migrated yet)."""

    def open_session(self, app: Flask, request):
        # The API takes bearer tokens, never this cookie: its requests neither read it nor need the key.
        if request.path.startswith("/api/"):
            return self.null_session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            app.secret_key = hashlib.sha256(app.extensions[EXTENSION].signer.sign(_LABEL)).hexdigest()
        return super().get_signing_serializer(app)


def protect() -> None:
    """before_request of the pages' blueprints: a POST needs its form's token."""
    if request.method == "POST":
        CSRF.protect()


def _refused(error: CSRFError):
    return render_template("workspace/refused.html", reason=error.description), 400

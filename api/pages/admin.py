"""Administrator pages: integrity status and pending participant activations.

Sign-in is a form that posts an administrator's API token (R-P5: the same
token the API takes). The token is checked and a server-side session is
opened (``registry.web_sessions``, R-X7): the cookie holds only the
session's random secret, never the token — scoped to ``/admin``, HttpOnly
(no script reads it), SameSite=Strict (no other site's page sends it),
Secure when the request came over HTTPS. The session is checked on every
admin request; it expires (``ARCREG_SESSION_HOURS``, never after the token
it was opened with), and ends on sign-out, when that token is revoked, and
when the user is disabled. The one write (activation) also carries a form
field derived from the session secret (SHA-256 of a fixed label and the
secret): another site's page can send neither the cookie (SameSite) nor
that field (it does not know the secret).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import make_response, redirect, render_template, request, url_for

from api.context import registry, unit_of_work
from api.pages import bp
from registry import explorer, participants
from registry.actors import Actor
from registry.errors import RegistryError, Unauthorized
from registry.identity import actor_of, authenticate_token
from registry.integrity_status import integrity_status
from registry.web_sessions import SIGNED_IN_WITH_TOKEN, close_session, open_session, session_user

COOKIE = "arcreg_admin"
COOKIE_PATH = "/admin"


def _secret() -> str:
    return request.cookies.get(COOKIE, "").strip()


def _admin(uow) -> Actor | None:
    user = session_user(uow, _secret())
    return actor_of(user) if user is not None and user.role == "admin" else None


def form_key(secret: str) -> str:
    """The anti-forgery field of the admin forms: only a holder of the session secret can compute it."""
    return hashlib.sha256(b"arcreg admin form\n" + secret.encode()).hexdigest()


def _from_our_form() -> bool:
    return hmac.compare_digest(request.form.get("form_key", ""), form_key(_secret()))


def _to_login():
    return redirect(url_for("pages.admin_login"), code=303)


@bp.get("/admin/login")
def admin_login():
    return render_template("admin/login.html")


@bp.post("/admin/login")
def admin_login_post():
    token = request.form.get("token", "").strip()
    secret = None
    with unit_of_work() as uow:
        try:
            row, user = authenticate_token(uow, token) if token else (None, None)
        except Unauthorized:
            row, user = None, None
        if user is not None and user.role == "admin":
            try:
                secret = open_session(uow, user_id=user.id, method=SIGNED_IN_WITH_TOKEN, token_id=row.id,
                                      lifetime=registry().config.session_lifetime)
                uow.commit()
            except Unauthorized:  # the token was revoked meanwhile
                secret = None
    if secret is None:
        return render_template("admin/login.html", failed=True), 401
    response = make_response(redirect(url_for("pages.admin_home"), code=303))
    response.set_cookie(COOKIE, secret, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


@bp.post("/admin/logout")
def admin_logout():
    """Sign out: the session is revoked server-side (R-X7), then the cookie is cleared."""
    with unit_of_work() as uow:
        close_session(uow, _secret())
        uow.commit()
    response = make_response(redirect(url_for("pages.home"), code=303))
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=request.is_secure)
    return response


def _render_admin(uow, actor: Actor, status: int = 200, **extra):
    state = registry()
    integrity = integrity_status(uow, actor, state.signer)
    pending = explorer.pending_participants(uow, actor)
    return render_template("admin/status.html", integrity=integrity, pending=pending,
                           form_key=form_key(_secret()),
                           activated=request.args.get("activated", type=int), **extra), status


@bp.get("/admin")
def admin_home():
    with unit_of_work() as uow:
        actor = _admin(uow)
        if actor is None:
            return _to_login()
        return _render_admin(uow, actor)


@bp.post("/admin/participants/<id:participant_id>/activate")
def admin_activate(participant_id):
    """Activate a pending participant (R-P1), the same service as the API's."""
    with unit_of_work() as uow:
        actor = _admin(uow)
        if actor is None:
            return _to_login()
        if not _from_our_form():
            return render_template("refused.html"), 403
        try:
            participants.activate_participant(uow, actor, participant_id)
            uow.commit()  # the participant and its log entry together (R-X3)
        except RegistryError as error:
            uow.session.rollback()
            return _render_admin(uow, actor, status=error.status, failure=str(error))
    return redirect(url_for("pages.admin_home", activated=participant_id), code=303)

"""Administrator pages: integrity status and pending participant activations.

Login is a form that posts an administrator's API token (R-P5: the same
token the API takes). The token is checked, then kept in a cookie scoped to
``/admin`` — HttpOnly (no script reads it), SameSite=Strict (no other site's
page sends it), Secure when the request came over HTTPS — and checked again
on every admin request, so revoking or expiring the token ends the login at
once; the registry keeps no session of its own and needs no extra secret.
The one write (activation) also carries a form field derived from the
token (SHA-256 of a fixed label and the token): another site's page can send
neither the cookie (SameSite) nor that field (it does not know the token).
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
from registry.identity import actor_of, authenticate
from registry.integrity_status import integrity_status

COOKIE = "arcreg_admin"
COOKIE_PATH = "/admin"


def _admin(uow) -> Actor | None:
    token = request.cookies.get(COOKIE, "").strip()
    if not token:
        return None
    try:
        actor = actor_of(authenticate(uow, token))
    except Unauthorized:
        return None
    return actor if actor.role == "admin" else None


def form_key(token: str) -> str:
    """The anti-forgery field of the admin forms: only a holder of the token can compute it."""
    return hashlib.sha256(b"arcreg admin form\n" + token.encode()).hexdigest()


def _from_our_form() -> bool:
    token = request.cookies.get(COOKIE, "").strip()
    return hmac.compare_digest(request.form.get("form_key", ""), form_key(token))


def _to_login():
    return redirect(url_for("pages.admin_login"), code=303)


@bp.get("/admin/login")
def admin_login():
    return render_template("admin/login.html")


@bp.post("/admin/login")
def admin_login_post():
    token = request.form.get("token", "").strip()
    with unit_of_work() as uow:
        try:
            actor = actor_of(authenticate(uow, token)) if token else None
        except Unauthorized:
            actor = None
    if actor is None or actor.role != "admin":
        return render_template("admin/login.html", failed=True), 401
    response = make_response(redirect(url_for("pages.admin_home"), code=303))
    response.set_cookie(COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


@bp.post("/admin/logout")
def admin_logout():
    response = make_response(redirect(url_for("pages.home"), code=303))
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=request.is_secure)
    return response


def _render_admin(uow, actor: Actor, status: int = 200, **extra):
    state = registry()
    integrity = integrity_status(uow, actor, state.signer)
    pending = explorer.pending_participants(uow, actor)
    return render_template("admin/status.html", integrity=integrity, pending=pending,
                           form_key=form_key(request.cookies.get(COOKIE, "").strip()),
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

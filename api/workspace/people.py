"""Who is signed in: the session cookie and the check every workspace page makes (R-W1).

The cookie (``arcreg_session``) holds only the session's random secret —
HttpOnly, SameSite=Strict, Path=/ (the workspace and the admin pages), Secure
over HTTPS. Each page checks the session (``registry.accounts.sessions.find``:
absolute and idle expiry, revocation, a disabled user) and the role; the page
then runs in the same unit of work, which it commits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for

from api.context import registry, unit_of_work
from registry.accounts import sessions
from registry.actors import Actor
from registry.identity import actor_of
from registry.models import Participant, User, WebSession

COOKIE = "arcreg_session"


@dataclass
class Person:
    user: User
    session: WebSession
    actor: Actor
    participant: Participant | None


def lifetimes() -> sessions.Lifetimes:
    config = registry().config
    return sessions.Lifetimes(absolute=config.session_lifetime, idle=config.session_idle)


def secret() -> str:
    return request.cookies.get(COOKIE, "").strip()


def session_of(uow, *methods: str) -> tuple[WebSession, User] | None:
    """The cookie's live session if its method is one of ``methods``."""
    found = sessions.find(uow, secret(), idle=registry().config.session_idle)
    return found if found is not None and found[0].method in methods else None


def signed_in(uow) -> Person | None:
    found = session_of(uow, *sessions.SIGNED_IN)
    if found is None:
        return None
    row, user = found
    sessions.touch(uow, row)
    participant = uow.session.get(Participant, user.participant_id) if user.participant_id else None
    return Person(user=user, session=row, actor=actor_of(user), participant=participant)


def set_cookie(response, value: str):
    response.set_cookie(COOKIE, value, path="/", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


def clear_cookie(response):
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


def safe_next(target: str | None) -> str | None:
    """A page of this site to return to after signing in: a local path, nothing else
    (no other host, no scheme, no ``//host``)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def to_sign_in():
    here = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("workspace.sign_in", next=here), code=303)


def signed_in_page(*roles: str):
    """A page for people signed in (with one of ``roles``, if given): others are sent to
    the sign-in page (303), a signed-in person of another role is refused (403)."""
    def wrap(view):
        @functools.wraps(view)
        def page(*args, **kwargs):
            with unit_of_work() as uow:
                person = signed_in(uow)
                if person is None:
                    return to_sign_in()
                if roles and person.user.role not in roles:
                    uow.commit()
                    return render_template("workspace/forbidden.html", person=person), 403
                result = view(uow, person, *args, **kwargs)
                uow.commit()
                return result
        return page
    return wrap

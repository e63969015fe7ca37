"""Administrator pages: integrity status and pending participant activations.

They sit behind the workspace's sign-in (R-W1, ``api/workspace``): an
administrator signed in with a password and a second factor. The former
sign-in with an API token in a form is gone: ``/admin/login`` sends to the
workspace's sign-in page. Every POST carries the pages' CSRF token
(``api/workspace/csrf.py``).
"""

from __future__ import annotations

import functools

from flask import redirect, render_template, request, url_for

from api.context import registry, unit_of_work
from api.pages import bp
from api.workspace import csrf, people
from registry import explorer, participants
from registry.errors import RegistryError
from registry.integrity_status import integrity_status



@bp.before_request
def _protect_forms():
    if request.path == "/admin" or request.path.startswith("/admin/"):
        csrf.protect()


def _admin_page(view):
    """Signed in as an administrator; anyone else is sent to sign in (303)."""
    @functools.wraps(view)
    def page(*args, **kwargs):
        with unit_of_work() as uow:
            person = people.signed_in(uow)
            if person is None or not person.actor.is_admin:
                return people.to_sign_in()
            result = view(uow, person, *args, **kwargs)
            uow.commit()
            return result
    return page


@bp.get("/admin/login")
def admin_login():
    """The old sign-in address: the workspace's sign-in, back to /admin afterwards."""
    return redirect(url_for("workspace.sign_in", next=url_for("pages.admin_home")), code=303)


def _render_admin(uow, person, status: int = 200, **extra):
    integrity = integrity_status(uow, person.actor, registry().signer)
    pending = explorer.pending_participants(uow, person.actor)
    return render_template("admin/status.html", person=person, integrity=integrity, pending=pending,
                           activated=request.args.get("activated", type=int), **extra), status


@bp.get("/admin")
@_admin_page
def admin_home(uow, person):
    return _render_admin(uow, person)


@bp.post("/admin/participants/<id:participant_id>/activate")
@_admin_page
def admin_activate(uow, person, participant_id):
    """Activate a pending participant (R-P1), the same service as the API's."""
    try:
        participants.activate_participant(uow, person.actor, participant_id)
        uow.commit()  # the participant and its log entry together (R-X3)
    except RegistryError as error:
        uow.session.rollback()
        return _render_admin(uow, person, status=error.status, failure=str(error))
    return redirect(url_for("pages.admin_home", activated=participant_id), code=303)

"""The administrator's users page (R-W5, R-X7, R-W1): disable and enable a user, and
create a one-time password reset link to hand over (no email server is assumed)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlmodel import select

from api.context import registry
from api.workspace import bp, people
from api.workspace.forms.participants import NewUserForm
from api.workspace.forms.users import ResetLinkForm
from registry import identity
from registry.accounts import resets
from registry.accounts.models import UserLogin
from registry.errors import RegistryError
from registry.models import Participant, User

LIMIT = 500


def _page(uow, person, status: int = 200, **extra):
    rows = uow.session.exec(select(User, UserLogin, Participant)
                            .join(UserLogin, UserLogin.user_id == User.id, isouter=True)
                            .join(Participant, Participant.id == User.participant_id, isouter=True)
                            .order_by(User.id).limit(LIMIT)).all()
    notice = {"disabled": "The user is disabled: every session and API token of it stopped.",
              "enabled": "The user is enabled again.",
              "created": "The user is created: make a reset link below and hand it over, so that they choose "
                         "their password."}.get(request.args.get("notice", ""))
    if "new_user" not in extra:
        from api.workspace.participants import participant_choices
        extra["new_user"] = NewUserForm(formdata=None)
        extra["new_user"].participant_id.choices = participant_choices(uow)
    return render_template("workspace/users.html", person=person, section="users", rows=rows, limit=LIMIT,
                           notice=notice, **extra), status


@bp.get("/users")
@people.signed_in_page("admin")
def users(uow, person):
    return _page(uow, person)


def _set_disabled(uow, person, user_id: int, disabled: bool):
    try:
        identity.set_user_disabled(uow, person.actor, user_id, disabled=disabled)
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, error.status, failure=error.detail)
    return redirect(url_for("workspace.users", notice="disabled" if disabled else "enabled"), code=303)


@bp.post("/users/<id:user_id>/disable")
@people.signed_in_page("admin")
def user_disable(uow, person, user_id):
    return _set_disabled(uow, person, user_id, True)


@bp.post("/users/<id:user_id>/enable")
@people.signed_in_page("admin")
def user_enable(uow, person, user_id):
    return _set_disabled(uow, person, user_id, False)


@bp.post("/users/<id:user_id>/reset-link")
@people.signed_in_page("admin")
def user_reset_link(uow, person, user_id):
    form = ResetLinkForm()
    try:
        secret = resets.create_link(uow, person.actor, user_id, lifetime=registry().config.reset_link_lifetime,
                                    clears_totp=bool(form.clears_totp.data))
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, error.status, failure=error.detail)
    user = uow.session.get(User, user_id)
    link = url_for("workspace.reset", secret=secret, _external=True)
    return render_template("workspace/reset_link.html", person=person, section="users", user=user, link=link,
                           hours=registry().config.reset_link_hours, clears_totp=bool(form.clears_totp.data))

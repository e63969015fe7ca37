"""Each role's home page: who is signed in, and the pages there are for that role."""

from __future__ import annotations

from flask import render_template

from api.context import registry
from api.workspace import bp, people
from registry.accounts import recovery
from registry.accounts.models import UserLogin


@bp.get("")
@people.signed_in_page()
def home(uow, person: people.Person):
    login = uow.session.get(UserLogin, person.user.id)
    return render_template("workspace/home.html", person=person, section="home",
                           totp_on=bool(login and login.totp_secret),
                           recovery_left=recovery.remaining(uow, person.user.id),
                           config_idle=registry().config.session_idle_minutes)

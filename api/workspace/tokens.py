"""API tokens for programs, managed from the workspace (R-W1, R-P5, R-X7): a person lists
their own tokens, creates one (shown once) and revokes one — with it, every token created
with it and the sessions signed in with any of them. Through ``registry.identity``, as the
API's ``/users/{id}/tokens`` and ``/tokens/{id}``."""

from __future__ import annotations

from datetime import timedelta

from flask import redirect, render_template, request, url_for

from api.context import registry
from api.workspace import bp, messages, people
from api.workspace.forms.tokens import RevokeForm, TokenForm
from registry import identity
from registry.errors import RegistryError

LIMIT = 100


def _page(uow, person, form=None, status: int = 200, **extra):
    listed = identity.list_tokens(uow, person.actor, person.user.id, limit=LIMIT)
    notice = "The token is revoked, with every token created with it." if request.args.get("notice") == "revoked" \
        else None
    return render_template("workspace/tokens.html", person=person, section="account", tokens=listed["items"],
                           form=form or TokenForm(formdata=None), revoke=RevokeForm(formdata=None), notice=notice,
                           max_days=registry().config.token_max_lifetime_days, **extra), status


@bp.get("/account/tokens")
@people.signed_in_page()
def tokens_page(uow, person):
    return _page(uow, person)


@bp.post("/account/tokens")
@people.signed_in_page()
def token_create(uow, person):
    form = TokenForm()
    if not form.validate():
        return _page(uow, person, form, 400)
    config = registry().config
    try:
        issued = identity.create_token_for(
            uow, person.actor, person.user.id, label=form.label.data.strip(),
            expires_at=uow.clock.now() + timedelta(days=int(form.days.data)),
            max_lifetime=config.token_max_lifetime)
    except RegistryError as error:
        uow.session.rollback()
        messages.apply(form, error)
        return _page(uow, person, form, error.status)
    return _page(uow, person, issued=issued)


@bp.post("/account/tokens/<id:token_id>/revoke")
@people.signed_in_page()
def token_revoke(uow, person, token_id):
    if not RevokeForm().validate():
        return _page(uow, person, status=400, failure="The form was not complete: reload the page and try again.")
    try:
        identity.revoke_token(uow, person.actor, token_id)
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, status=error.status, failure=messages.refusal(error).text)
    return redirect(url_for("workspace.tokens_page", notice="revoked"), code=303)

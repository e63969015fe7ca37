"""The webhooks page (R-W3, R-N1): a member's endpoints for its participant's events,
each with its latest delivery attempts; register one (its signing secret shown once),
disable, enable or delete one — through ``registry.notifications.endpoints``, as the API."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from api.context import registry
from api.workspace import bp, messages, people
from api.workspace.forms.webhooks import ButtonForm, WebhookForm
from registry.errors import RegistryError
from registry.notifications import endpoints

MEMBER = "member"
ATTEMPTS = 10  # the latest attempts shown per endpoint
NOTICES = {"disabled": "The endpoint is disabled: nothing is sent to it until you enable it.",
           "enabled": "The endpoint is enabled: its waiting deliveries are tried at once.",
           "deleted": "The endpoint is deleted: nothing more is sent to it."}


def _page(uow, person, form=None, status: int = 200, **extra):
    listed = endpoints.list_endpoints(uow, person.actor)
    rows = [(e, endpoints.attempts(uow, person.actor, e.id, limit=ATTEMPTS).items) for e in listed]
    return render_template("workspace/webhooks.html", person=person, section="webhooks", rows=rows,
                           form=form or WebhookForm(formdata=None), buttons=ButtonForm(formdata=None),
                           notice=NOTICES.get(request.args.get("notice", "")), **extra), status


@bp.get("/webhooks")
@people.signed_in_page(MEMBER)
def webhooks_page(uow, person):
    return _page(uow, person)


@bp.post("/webhooks")
@people.signed_in_page(MEMBER)
def webhook_register(uow, person):
    form = WebhookForm()
    if not form.validate():
        return _page(uow, person, form, 400)
    try:
        registered = endpoints.register(uow, person.actor, url=form.url.data.strip(), events=form.events.data or None,
                                        allow_loopback=registry().config.webhooks_allow_loopback)
    except RegistryError as error:
        uow.session.rollback()
        messages.apply(form, error)
        return _page(uow, person, form, error.status)
    return _page(uow, person, created=registered.endpoint, secret=registered.secret)


@bp.post("/webhooks/<id:webhook_id>/<any(disable, enable, delete):action>")
@people.signed_in_page(MEMBER)
def webhook_action(uow, person, webhook_id, action):
    if not ButtonForm().validate():
        return _page(uow, person, status=400, failure="The form was not complete: reload the page and try again.")
    try:
        if action == "delete":
            endpoints.delete(uow, person.actor, webhook_id)
        else:
            endpoints.set_enabled(uow, person.actor, webhook_id, enabled=action == "enable")
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, status=error.status, failure=messages.refusal(error).text)
    return redirect(url_for("workspace.webhooks_page", notice=f"{action}d"), code=303)

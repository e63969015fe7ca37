"""The administrator's participants page (R-W5, R-P1, R-P3): every participant with its
status; register one, activate a pending or suspended one (the Good Practice Principles
signed first), suspend an active one with a reason — the same services as the API, each
a log entry in the same transaction (R-X3). The users page's "add a user" form is here
too (members of a participant, certifiers, administrators; R-P4)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlmodel import select

from api.workspace import bp, messages, people
from api.workspace.forms.participants import ActivateForm, NewUserForm, RegisterParticipantForm, SuspendForm
from api.workspace.users import _page as users_page
from registry import identity, participants
from registry.errors import RegistryError
from registry.models import Participant

ADMIN = "admin"
LIMIT = 500
NOTICES = {"registered": "The participant is registered: activate it once it has signed the Good Practice "
                         "Principles.",
           "activated": "The participant is active.", "suspended": "The participant is suspended: its holdings are "
                                                                   "frozen until it is activated again (R-P3)."}


def _page(uow, person, status: int = 200, **forms):
    rows = list(uow.session.exec(select(Participant).order_by(Participant.name, Participant.id).limit(LIMIT)))
    context = {"register": RegisterParticipantForm(formdata=None), "suspend": SuspendForm(formdata=None),
               "activate": ActivateForm(formdata=None), **forms}
    return render_template("workspace/participants.html", person=person, section="participants", rows=rows,
                           limit=LIMIT, notice=NOTICES.get(request.args.get("notice", "")), **context), status


@bp.get("/participants")
@people.signed_in_page(ADMIN)
def participants_page(uow, person):
    return _page(uow, person)


def _done(notice: str):
    return redirect(url_for("workspace.participants_page", notice=notice), code=303)


@bp.post("/participants")
@people.signed_in_page(ADMIN)
def participant_register(uow, person):
    form = RegisterParticipantForm()
    if not form.validate():
        return _page(uow, person, 400, register=form)
    try:
        participants.register_participant(uow, person.actor, name=form.name.data, country=form.country.data.upper(),
                                          gpp_signed_on=form.gpp_signed_on.data)
    except RegistryError as error:
        uow.session.rollback()
        messages.apply(form, error)
        return _page(uow, person, error.status, register=form)
    return _done("registered")


@bp.post("/participants/<id:participant_id>/activate")
@people.signed_in_page(ADMIN)
def participant_activate(uow, person, participant_id):
    if not ActivateForm().validate():
        return _page(uow, person, 400, failure="The form was not complete: reload the page and try again.")
    try:
        participants.activate_participant(uow, person.actor, participant_id)
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, error.status, failure=messages.refusal(error).text)
    return _done("activated")


@bp.post("/participants/<id:participant_id>/suspend")
@people.signed_in_page(ADMIN)
def participant_suspend(uow, person, participant_id):
    form = SuspendForm()
    if not form.validate():
        return _page(uow, person, 400, failure="A suspension needs a reason (up to 500 characters).")
    try:
        participants.suspend_participant(uow, person.actor, participant_id, reason=form.reason.data)
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, error.status, failure=messages.refusal(error).text)
    return _done("suspended")


@bp.post("/users")
@people.signed_in_page(ADMIN)
def user_create(uow, person):
    form = NewUserForm()
    form.participant_id.choices = participant_choices(uow)
    if not form.validate():
        return users_page(uow, person, 400, new_user=form)
    try:
        if form.role.data == "member":
            if not (form.participant_id.data or "").isdigit():
                form.participant_id.errors = ["Choose the participant the member acts for."]
                return users_page(uow, person, 400, new_user=form)
            identity.add_member(uow, person.actor, int(form.participant_id.data), email=form.email.data)
        else:
            identity.add_staff_user(uow, person.actor, email=form.email.data, role=form.role.data,
                                    body_code=(form.body_code.data or "").strip() or None)
    except RegistryError as error:
        uow.session.rollback()
        messages.apply(form, error)
        return users_page(uow, person, error.status, new_user=form)
    return redirect(url_for("workspace.users", notice="created"), code=303)


def participant_choices(uow) -> list[tuple[str, str]]:
    rows = uow.session.exec(select(Participant.id, Participant.name).order_by(Participant.name).limit(LIMIT))
    return [("", "—"), *((str(pid), name) for pid, name in rows)]

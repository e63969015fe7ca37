"""The account page: change the password, add or remove the authenticator, new recovery codes (R-W1)."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for

from api.context import registry
from api.workspace import bp, people
from api.workspace.forms.account import DisableTwoFactorForm, EnrolForm, PasswordChangeForm
from api.workspace.signin import enrolment_page, recovery_codes_page
from registry.accounts import recovery, sessions, signin
from registry.accounts.models import UserLogin
from registry.errors import RegistryError

NOTICES = {"password": "Your password is changed. Every other browser signed in as you is signed out.",
           "two-factor-off": "The authenticator is removed: you sign in with your password alone."}


def _page(uow, person, status: int = 200, **forms):
    login = uow.session.get(UserLogin, person.user.id)
    context = {"password_form": PasswordChangeForm(formdata=None), "disable_form": DisableTwoFactorForm(formdata=None),
               **forms}
    return render_template("workspace/account.html", person=person, section="account",
                           totp_on=bool(login and login.totp_secret),
                           totp_since=login.totp_enabled_at if login else None,
                           recovery_left=recovery.remaining(uow, person.user.id),
                           required=signin.needs_second_factor(person.user),
                           notice=NOTICES.get(request.args.get("notice", "")), **context), status


@bp.get("/account")
@people.signed_in_page()
def account(uow, person):
    return _page(uow, person)


@bp.post("/account/password")
@people.signed_in_page()
def account_password(uow, person):
    form = PasswordChangeForm()
    if not form.validate():
        return _page(uow, person, 400, password_form=form)
    try:
        signin.change_password(uow, person.user, current=form.current_password.data, new=form.new_password.data)
    except RegistryError as error:
        uow.session.rollback()
        form.form_errors.append(error.detail)
        return _page(uow, person, error.status, password_form=form)
    # Every session ended with the change; this browser gets a new one, as signed in as before.
    secret = sessions.open_session(uow, user_id=person.user.id, method=person.session.method,
                                   lifetimes=people.lifetimes())
    response = make_response(redirect(url_for("workspace.account", notice="password"), code=303))
    return people.set_cookie(response, secret)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@people.signed_in_page()
def account_two_factor(uow, person):
    """Add an authenticator (or replace the one there is)."""
    form = EnrolForm()
    action = url_for("workspace.account_two_factor")
    if request.method == "GET" or not form.validate():
        return enrolment_page(uow, person.user, form, action=action, status=200 if request.method == "GET" else 400,
                              person=person)
    try:
        codes = signin.confirm_enrolment(uow, person.user, form.code.data, at=registry().otp_clock.now())
    except RegistryError as error:
        uow.session.rollback()
        return enrolment_page(uow, person.user, form, action=action, status=error.status, failure=error.detail,
                              person=person)
    return recovery_codes_page(codes, continue_to=url_for("workspace.account"), person=person)


@bp.post("/account/two-factor/disable")
@people.signed_in_page()
def account_two_factor_disable(uow, person):
    form = DisableTwoFactorForm()
    if not form.validate():
        return _page(uow, person, 400, disable_form=form)
    try:
        signin.disable_second_factor(uow, person.user, password=form.password.data)
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, error.status, disable_form=form, failure=error.detail)
    return redirect(url_for("workspace.account", notice="two-factor-off"), code=303)


@bp.post("/account/recovery-codes")
@people.signed_in_page()
def account_recovery_codes(uow, person):
    try:
        codes = signin.regenerate_recovery_codes(uow, person.user)
    except RegistryError as error:
        uow.session.rollback()
        return _page(uow, person, error.status, failure=error.detail)
    return recovery_codes_page(codes, continue_to=url_for("workspace.account"), person=person)

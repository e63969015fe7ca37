"""Sign-in, the second factor, enrolment at first sign-in, sign-out, reset links (R-W1)."""

from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, url_for

from api.context import registry, unit_of_work
from api.workspace import bp, csrf, people
from api.workspace.forms.signin import CodeForm, NewPasswordForm, SignInForm
from api.workspace.forms.account import EnrolForm
from api.workspace.qr import qr_svg
from api.workspace.throttle import account_key
from registry.accounts import resets, sessions, signin, totp
from registry.errors import RegistryError

bp.before_request(csrf.protect)

WRONG_PASSWORD = "The email address or the password is not right."
WRONG_CODE = "That code is not right, or was used already. Type the 6 digits the app shows now, or a recovery code."


def _throttle():
    return current_app.extensions["arcreg.login_throttle"]


def _wait_message(wait: int) -> str:
    minutes = max(1, (wait + 59) // 60)
    return (f"Too many failed sign-in attempts. Sign-in is paused for this account or this network: try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}.")


def _too_many(template: str, wait: int, **context):
    response = make_response(render_template(template, failure=_wait_message(wait), **context), 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _next_page(form_next: str | None = None) -> str | None:
    return people.safe_next(form_next if form_next is not None else request.args.get("next"))


def _signed_in_to(secret: str, target: str | None):
    return people.set_cookie(make_response(redirect(target or url_for("workspace.home"), code=303)), secret)


def _step_url(method: str, target: str | None) -> str | None:
    if method == sessions.PENDING_CODE:
        return url_for("workspace.sign_in_code", next=target)
    if method == sessions.PENDING_ENROL:
        return url_for("workspace.sign_in_enrol", next=target)
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if request.method == "GET":
        form.next.data = _next_page()
        with unit_of_work() as uow:
            if people.signed_in(uow) is not None:
                uow.commit()
                return redirect(_next_page() or url_for("workspace.home"), code=303)
        notice = {"signed_out": "You are signed out.", "reset": "Your password is set: sign in with it.",
                  "expired": "Your session ended: sign in again."}.get(request.args.get("notice", ""))
        return render_template("workspace/sign_in.html", form=form, notice=notice)
    if not form.validate():
        return render_template("workspace/sign_in.html", form=form), 400
    target = _next_page(form.next.data)
    account, address = account_key(form.email.data), request.remote_addr
    wait = _throttle().wait_seconds(account, address)
    if wait is not None:
        return _too_many("workspace/sign_in.html", wait, form=form)
    with unit_of_work() as uow:
        user = signin.check_password(uow, form.email.data, form.password.data)
        if user is None:
            _throttle().failed(account, address)
            return render_template("workspace/sign_in.html", form=form, failure=WRONG_PASSWORD), 401
        method = signin.first_step(uow, user)
        secret = sessions.open_session(uow, user_id=user.id, method=method, lifetimes=people.lifetimes())
        uow.commit()
    return _signed_in_to(secret, _step_url(method, target))


def _finish(uow, user, method: str) -> str:
    """The pending session is replaced by a signed-in one, with a new secret."""
    sessions.close_session(uow, people.secret())
    return sessions.open_session(uow, user_id=user.id, method=method, lifetimes=people.lifetimes())


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code():
    form = CodeForm()
    target = _next_page(form.next.data if request.method == "POST" else None)
    with unit_of_work() as uow:
        found = people.session_of(uow, sessions.PENDING_CODE)
        if found is None:
            return redirect(url_for("workspace.sign_in", next=target, notice="expired"), code=303)
        _, user = found
        if request.method == "GET":
            form.next.data = target
            return render_template("workspace/sign_in_code.html", form=form)
        if not form.validate():
            return render_template("workspace/sign_in_code.html", form=form), 400
        account, address = account_key(user.email), request.remote_addr
        wait = _throttle().wait_seconds(account, address)
        if wait is not None:
            return _too_many("workspace/sign_in_code.html", wait, form=form)
        method = signin.check_code(uow, user.id, form.code.data, at=registry().otp_clock.now())
        if method is None:
            uow.session.rollback()
            _throttle().failed(account, address)
            return render_template("workspace/sign_in_code.html", form=form, failure=WRONG_CODE), 401
        secret = _finish(uow, user, method)
        uow.commit()
    return _signed_in_to(secret, target)


def enrolment_page(uow, user, form, *, action: str, status: int = 200, failure: str | None = None,
                   first_sign_in: bool = False, person=None):
    pending = signin.pending_secret(uow, user)
    return render_template("workspace/enrol.html", form=form, action=action, secret=pending,
                           qr=qr_svg(totp.provisioning_uri(pending, user.email)), failure=failure,
                           first_sign_in=first_sign_in, required=signin.needs_second_factor(user),
                           person=person, section="account"), status


def recovery_codes_page(codes: list[str], *, continue_to: str, person=None):
    return render_template("workspace/recovery_codes.html", codes=codes, continue_to=continue_to, person=person)


@bp.route("/sign-in/enrol", methods=["GET", "POST"])
def sign_in_enrol():
    """An administrator or certifier without a second factor enrols one before anything else."""
    form = EnrolForm()
    target = _next_page()
    action = url_for("workspace.sign_in_enrol", next=target)
    with unit_of_work() as uow:
        found = people.session_of(uow, sessions.PENDING_ENROL)
        if found is None:
            return redirect(url_for("workspace.sign_in", next=target, notice="expired"), code=303)
        _, user = found
        if request.method == "GET" or not form.validate():
            page = enrolment_page(uow, user, form, action=action, first_sign_in=True,
                                  status=200 if request.method == "GET" else 400)
            uow.commit()
            return page
        account, address = account_key(user.email), request.remote_addr
        wait = _throttle().wait_seconds(account, address)
        if wait is not None:
            page, _ = enrolment_page(uow, user, form, action=action, first_sign_in=True, failure=_wait_message(wait))
            uow.commit()
            return page, 429, {"Retry-After": str(wait)}
        try:
            codes = signin.confirm_enrolment(uow, user, form.code.data, at=registry().otp_clock.now())
        except RegistryError as error:
            uow.session.rollback()
            _throttle().failed(account, address)
            page = enrolment_page(uow, user, form, action=action, first_sign_in=True, status=error.status,
                                  failure=error.detail)
            uow.commit()
            return page
        secret = _finish(uow, user, sessions.PASSWORD_TOTP)
        uow.commit()
    response = make_response(recovery_codes_page(codes, continue_to=target or url_for("workspace.home")))
    return people.set_cookie(response, secret)


@bp.post("/sign-out")
def sign_out():
    """The session is revoked server-side (a kept copy of the cookie is worthless), then the cookie cleared."""
    with unit_of_work() as uow:
        sessions.close_session(uow, people.secret())
        uow.commit()
    response = make_response(redirect(url_for("workspace.sign_in", notice="signed_out"), code=303))
    return people.clear_cookie(response)


@bp.route("/reset/<string:secret>", methods=["GET", "POST"])
def reset(secret: str):
    """A one-time link an administrator made: choose a new password (R-W1)."""
    form = NewPasswordForm()
    with unit_of_work() as uow:
        user = resets.link_user(uow, secret)
        if user is None:
            return render_template("workspace/reset_gone.html"), 410
        if request.method == "GET" or not form.validate():
            return render_template("workspace/reset.html", form=form, email=user.email), \
                200 if request.method == "GET" else 400
        try:
            resets.use_link(uow, secret, form.new_password.data)
        except RegistryError as error:
            uow.session.rollback()
            return render_template("workspace/reset.html", form=form, email=user.email,
                                   failure=error.detail), error.status
        uow.commit()
    response = make_response(redirect(url_for("workspace.sign_in", notice="reset"), code=303))
    return people.clear_cookie(response)

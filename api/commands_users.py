"""User commands: `arcreg create-admin`, `issue-token` and `reset-link` — how an
operator gets the first administrator, a token when every token has expired
(R-X7), and a one-time password reset link (R-W1), without the API."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click


def _write(migrate: str, work: Callable) -> object:
    """Run ``work(uow, config)`` in one unit of work on the configured database and
    commit; a registry refusal is printed (``arcreg: …``) and exits 1."""
    from api.cli import (  # here: api.cli imports this module at its end
        _config,
        _engine_or_exit,
        _migrate_if_owner,
    )
    from registry.clock import clock_from_setting
    from registry.db import UnitOfWork, session_factory
    from registry.errors import RegistryError
    from registry.migrate import upgrade

    config = _config()
    engine = _engine_or_exit(config)
    if migrate == "always":
        upgrade(engine)
    else:
        _migrate_if_owner(engine)
    try:
        with UnitOfWork(session_factory(engine), clock_from_setting(config.clock)) as uow:
            out = work(uow, config)
            uow.commit()
            return out
    except RegistryError as exc:
        click.echo(f"arcreg: {exc.detail}", err=True)
        sys.exit(1)


def _no_user(email: str):
    click.echo(f"arcreg: no user {email}", err=True)
    sys.exit(1)


@click.command("create-admin")
@click.argument("email")
def create_admin(email: str) -> None:
    """Create a registry administrator and print one API token."""
    from registry.identity import create_admin as create

    issued = _write("if-owner", lambda uow, config: create(uow, email, max_lifetime=config.token_max_lifetime)[1])
    # SPEC §13.1: the token alone on its line, so scripts can capture it.
    click.echo(issued.token)


@click.command("issue-token")
@click.argument("email")
def issue_token_command(email: str) -> None:
    """Print a new API token for an existing user, for the maximum lifetime (R-X7).

    Tokens made with a token never outlive it, so when every token of a registry
    has expired (or was revoked), this is how an administrator gets a new one."""
    from sqlmodel import select

    from registry.identity import issue_token
    from registry.models import User

    def work(uow, config):
        user = uow.session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            _no_user(email)
        return issue_token(uow, user_id=user.id, max_lifetime=config.token_max_lifetime, label="arcreg issue-token")

    click.echo(_write("always", work).token)


@click.command("reset-link")
@click.argument("email")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True,
              help="The registry's address, to print a whole link.")
@click.option("--clear-totp", is_flag=True, help="Also remove the user's authenticator (lost phone).")
def reset_link_command(email: str, base_url: str, clear_totp: bool) -> None:
    """Print a one-time password reset link for a user (R-W1).

    How the first administrator gets a password (`arcreg create-admin` gives an API
    token only); afterwards administrators make links on the workspace's users page."""
    from registry.accounts import resets, signin
    from registry.actors import SYSTEM

    def work(uow, config):
        user = signin.user_by_email(uow, email)
        if user is None:
            _no_user(email)
        return resets.create_link(uow, SYSTEM, user.id, lifetime=config.reset_link_lifetime, clears_totp=clear_totp)

    click.echo(f"{base_url.rstrip('/')}/workspace/reset/{_write('if-owner', work)}")

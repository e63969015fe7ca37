"""R-X7 under concurrency on PostgreSQL: a token created from a parent at the
moment the parent is revoked is either revoked with it or refused -- never a
live orphan of a revoked token. Real connections, real row locks."""

from __future__ import annotations

from sqlalchemy import text

from registry.actors import Actor
from registry.db import UnitOfWork, session_factory
from registry.errors import Unauthorized
from registry.identity import IssuedToken, issue_token, revoke_token
from registry.models import ApiToken
from tests.threads import Worker, finish, wait_until


def _waiting_on_a_lock(engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar() > 0


def _parent(engine, clock) -> IssuedToken:
    """A root token of the administrator that ``pg_driver`` created (user 1)."""
    with UnitOfWork(session_factory(engine), clock) as uow:
        issued = issue_token(uow, user_id=1)
        uow.commit()
    return issued


ADMIN = Actor(user_id=1, role="admin")


def test_a_child_created_while_its_parent_is_being_revoked_is_revoked_too(pg_driver, pg_wide_engine, pg_clock):
    parent = _parent(pg_wide_engine, pg_clock)
    issuing = UnitOfWork(session_factory(pg_wide_engine), pg_clock).__enter__()
    child = issue_token(issuing, user_id=1, parent_token_id=parent.id)  # holds the parent's row lock

    def revoke():
        with UnitOfWork(session_factory(pg_wide_engine), pg_clock) as uow:
            revoke_token(uow, ADMIN, parent.id)
            uow.commit()

    revoker = Worker(revoke, name="revoke")
    revoker.start()
    wait_until(lambda: _waiting_on_a_lock(pg_wide_engine), timeout=30, what="the revocation waits for the parent",
               workers=[revoker])
    issuing.commit()
    issuing.__exit__(None, None, None)
    finish([revoker], timeout=30)
    with session_factory(pg_wide_engine)() as session:
        assert session.get(ApiToken, child.id).revoked_at is not None


def test_a_child_asked_for_while_its_parent_is_being_revoked_is_refused(pg_driver, pg_wide_engine, pg_clock):
    parent = _parent(pg_wide_engine, pg_clock)
    revoking = UnitOfWork(session_factory(pg_wide_engine), pg_clock).__enter__()
    revoke_token(revoking, ADMIN, parent.id)  # holds the parent's row lock, not committed
    outcome = {}

    def issue():
        with UnitOfWork(session_factory(pg_wide_engine), pg_clock) as uow:
            try:
                issue_token(uow, user_id=1, parent_token_id=parent.id)
                uow.commit()
                outcome["issued"] = True
            except Unauthorized as exc:
                outcome["refused"] = exc.code

    issuer = Worker(issue, name="issue")
    issuer.start()
    wait_until(lambda: _waiting_on_a_lock(pg_wide_engine), timeout=30, what="the issue waits for the parent",
               workers=[issuer])
    revoking.commit()
    revoking.__exit__(None, None, None)
    finish([issuer], timeout=30)
    assert outcome == {"refused": "invalid_token"}
    with session_factory(pg_wide_engine)() as session:
        assert session.exec(text("SELECT count(*) FROM api_token WHERE parent_token_id = :p"),
                            params={"p": parent.id}).scalar() == 0


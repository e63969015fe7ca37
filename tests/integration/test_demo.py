"""`arcreg demo`: a realistic registry on a fresh machine with no configuration."""

from __future__ import annotations

import subprocess

import pytest
from sqlmodel import func, select

from registry.config import Config
from registry.db import session_factory
from registry.demo import build_demo
from registry.models import Block, Offer, Participant, Retirement
from tests.serverproc import ARCREG, call, clean_env, free_port, wait_for


# `arcreg demo` runs on the wall clock: it must build on any day, the year's first and last and a leap day
# included (R-U5; a demo built on 1 January once failed).
@pytest.mark.parametrize("clock", ["2026-06-01T12:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z",
                                   "2027-01-15T08:00:00Z", "2028-02-29T12:00:00Z"])
def test_demo_builds_a_realistic_registry(engine, db_url, clock):
    summary = build_demo(engine, Config(database_url=db_url, clock=clock))
    assert summary.count("arc_") == 2  # admin and brand tokens
    with session_factory(engine)() as session:
        assert session.exec(select(func.count()).select_from(Participant)).one() == 5  # the sorter feeding the custody account
        states = {b.state for b in session.exec(select(Block))}
        assert {"active", "retired", "split", "offered"} <= states
        retired = list(session.exec(select(Retirement).order_by(Retirement.id)))
        assert len(retired) == 3 and retired[0].bulk_id is None  # one retirement, one bulk of two (R-T7)
        assert retired[1].bulk_id == retired[2].bulk_id == retired[1].log_index
        [offer] = session.exec(select(Offer))  # R-T6: pending for the trader, which reviews
        assert offer.state == "pending" and session.get(Participant, offer.to_participant_id).incoming_transfers \
            == "review"
    # R-N1: a webhook to a .invalid host with one delivery pending; a pass fails it without any lookup
    # and schedules the retry.
    from registry.clock import clock_from_setting
    from registry.notifications.delivery import deliver_pass
    from registry.notifications.models import WebhookAttempt, WebhookDelivery

    result = deliver_pass(session_factory(engine), clock_from_setting(clock))
    assert (result.sent, result.failed_attempts) == (1, 1)
    with session_factory(engine)() as session:
        [attempt] = session.exec(select(WebhookAttempt)).all()
        [delivery] = session.exec(select(WebhookDelivery)).all()
    assert attempt.status == "unresolvable" and delivery.status == "pending" and delivery.attempts == 1


@pytest.mark.slow
@pytest.mark.wallclock
def test_arcreg_demo_serves_the_demo(tmp_path):
    port = free_port()
    process = subprocess.Popen([ARCREG, "demo", "--port", str(port)], cwd=tmp_path, env=clean_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # The demo is built before it is served: allow for a loaded machine (argon2 hashes the sign-ins).
        health = wait_for(f"http://127.0.0.1:{port}/api/v1/health", process, seconds=120)
        assert health["status"] == "ok" and health["database"]["dialect"] == "sqlite"
        status, page = call("GET", f"http://127.0.0.1:{port}/api/v1/retirements")
        assert status == 200 and page["items"][0]["beneficiary"] == "Northwind Packaging"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Demo administrator token: arc_" in output
    assert (tmp_path / "arcreg-demo" / "demo.db").exists()


def test_demo_prints_a_sign_in_for_each_role_and_logs_no_credential(engine, db_url):
    """R-W1: `arcreg demo` prints an email and password for an administrator, a certifier, a
    generator's, a brand's and a trader's member, and a TOTP secret for the two roles that need one.
    Credentials are not log entries: no password, hash or secret is in the public log."""
    import re

    from sqlalchemy import text

    from registry.accounts import signin
    from registry.accounts.models import UserLogin
    from registry.clock import clock_from_setting
    from registry.db import UnitOfWork

    summary = build_demo(engine, Config(database_url=db_url, clock="2026-03-02T09:30:00Z"))
    found = re.findall(r"^  (.+?): email (\S+) password (\S+)(?: totp-secret (\S+))?$", summary, re.M)
    assert [(label, email, bool(secret)) for label, email, _, secret in found] == [
        ("administrator", "admin@demo.arc-registry.org", True),
        ("certifier (NSF)", "auditor@nsf.example", True),
        ("member, generator (Great Lakes Reprocessing)", "ops@great.example", False),
        ("member, brand (Northwind Packaging)", "ops@northwind.example", False),
        ("member, trader (Cascade Trading)", "ops@cascade.example", False)]
    with UnitOfWork(session_factory(engine), clock_from_setting("2026-03-02T09:30:00Z")) as uow:
        for _, email, password, secret in found:
            user = signin.check_password(uow, email, password)
            assert user is not None and user.email == email
            assert (uow.session.get(UserLogin, user.id).totp_secret or "") == secret
        hashes = [row.password_hash for row in uow.session.exec(select(UserLogin))]
    with engine.connect() as connection:
        log = " ".join(connection.execute(text("SELECT canonical FROM log_entries")).scalars())
    for _, _, password, secret in found:
        assert password not in log and (not secret or secret not in log)
    assert "argon2" not in log and not any(h in log for h in hashes)

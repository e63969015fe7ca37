"""`arcreg demo`: a realistic registry on a fresh machine with no configuration."""

from __future__ import annotations

import subprocess

import pytest
from sqlmodel import func, select

from registry.config import Config
from registry.db import session_factory
from registry.demo import build_demo
from registry.models import Block, Participant, Retirement
from tests.serverproc import ARCREG, call, clean_env, free_port, wait_for


# `arcreg demo` runs on the wall clock: it must build on any day, the year's first and last and a leap day
# included (R-U5; a demo built on 1 January once failed).
@pytest.mark.parametrize("clock", ["2026-06-01T12:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z",
                                   "2027-01-15T08:00:00Z", "2028-02-29T12:00:00Z"])
def test_demo_builds_a_realistic_registry(engine, db_url, clock):
    summary = build_demo(engine, Config(database_url=db_url, clock=clock))
    assert summary.count("arc_") == 2  # admin and brand tokens
    with session_factory(engine)() as session:
        assert session.exec(select(func.count()).select_from(Participant)).one() == 4
        states = {b.state for b in session.exec(select(Block))}
        assert {"active", "retired", "split"} <= states
        assert session.exec(select(func.count()).select_from(Retirement)).one() == 1


@pytest.mark.slow
@pytest.mark.wallclock
def test_arcreg_demo_serves_the_demo(tmp_path):
    port = free_port()
    process = subprocess.Popen([ARCREG, "demo", "--port", str(port)], cwd=tmp_path, env=clean_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for(f"http://127.0.0.1:{port}/api/v1/health", process)
        assert health["status"] == "ok" and health["database"]["dialect"] == "sqlite"
        status, page = call("GET", f"http://127.0.0.1:{port}/api/v1/retirements")
        assert status == 200 and page["items"][0]["beneficiary"] == "Northwind Packaging"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Demo administrator token: arc_" in output
    assert (tmp_path / "arcreg-demo" / "demo.db").exists()

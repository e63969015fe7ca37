"""R-L7 / R-L8 on PostgreSQL, for a registry built through the HTTP API: the
append-only trigger refuses tampering; once an attacker with DDL rights drops
it, `verify_registry` still catches what they change."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chainlog.schema import drop_append_only_ddl
from registry.config import Config
from registry.db import session_factory
from registry.signing import load_signer
from registry.verification import verify_registry
from tests.api.driver import t


def _build(driver) -> None:
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    block = driver.generate(gen.token, lot["id"])
    a = driver.participant("Trader A")["id"]
    a_token = driver.member(a)
    first = driver.ok("/transfers", {"serial": block["serial"], "quantity": "40", "to_participant_id": a},
                      gen.token)
    assert driver.get("/log/checkpoint").status_code == 200  # signs one covering every entry (R-L4)
    driver.ok("/retirements", {"serial": first["moved"]["serial"], "quantity": "15", "beneficiary": "A",
                               "claim_type": "general", "reporting_year": 2026}, a_token)
    assert driver.get("/log/checkpoint").status_code == 200


def _verify(engine, verifier):
    with session_factory(engine)() as session:
        return verify_registry(session, [verifier])


def test_tampering_is_refused_then_caught(pg_driver, pg_wide_engine, pg_url, tmp_path):
    _build(pg_driver)
    verifier = load_signer(Config(database_url=pg_url, signing_key_file=tmp_path / "key.pem")).verifier
    report = _verify(pg_wide_engine, verifier)
    assert report.ok and report.checkpoints == 2, report.failure()

    with pytest.raises(DBAPIError, match="append-only"), pg_wide_engine.begin() as conn:  # R-L8
        conn.execute(text('UPDATE log_entries SET actor = \'x\' WHERE "index" = 3'))
    assert _verify(pg_wide_engine, verifier).ok

    with pg_wide_engine.begin() as conn:
        for statement in drop_append_only_ddl("postgresql"):
            conn.execute(text(statement))
        conn.execute(text('UPDATE log_entries SET actor = \'user:999\' WHERE "index" = 3'))
    report = _verify(pg_wide_engine, verifier)
    assert (report.ok, report.error.kind, report.error.index) == (False, "payload_changed", 3), report.failure()

"""Back-dated certificate findings dispute the blocks of the lots processed
while the certificate was not valid (R-C5, issue 20 item 2), on SQLite and
PostgreSQL through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import chainlog.store
from registry.db import session_factory
from registry.jobs import run_daily_jobs
from registry.models import Lot
from tests.api.driver import t
from tests.api.test_errors_and_health import assert_problem


def _at(clock, day: str) -> None:
    clock.set(datetime.fromisoformat(day).replace(tzinfo=UTC))


def _entries(engine, event_type):
    with session_factory(engine)() as session:
        return [e for e in chainlog.store.iter_entries(session) if e.type == event_type]


def _lot_used(engine, lot_id) -> Decimal:
    with session_factory(engine)() as session:
        return session.get(Lot, lot_id).used_kg


def _block(driver, serial) -> dict:
    return driver.get(f"/blocks/{serial}").get_json()


def _retire(driver, token, serial, quantity, status=201):
    return driver.post("/retirements", {"serial": serial, "quantity": quantity, "beneficiary": "Brand Co",
                                        "claim_type": "general", "reporting_year": 2026}, token)


def _audit(driver):
    """The audit's registry: one lot processed 2026-02-01, its ARCs generated,
    40 % sold to a buyer (who retires some of it); the rest held by the generator."""
    gen = driver.generator("Lapsed Plastics")
    buyer = driver.participant("Brand Co")
    buyer_token = driver.member(buyer["id"])
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(100))
    driver.sell(gen.token, lot["id"], t(100))
    block = driver.generate(gen.token, lot["id"])
    total = Decimal(block["quantity"])
    sold = (total * Decimal("0.4")).quantize(Decimal("0.001"))
    moved = driver.ok("/transfers", {"serial": block["serial"], "quantity": format(sold, "f"),
                                     "to_participant_id": buyer["id"]}, gen.token)
    bought, held = moved["moved"], moved["remainder"]
    retired = _retire(driver, buyer_token, bought["serial"], "1.000")
    assert retired.status_code == 201, retired.get_data(as_text=True)
    retirement = retired.get_json()
    bought_rest = retirement["remainder"]["serial"]
    return gen, buyer, buyer_token, lot, held["serial"], bought_rest, retirement


def test_the_audit_back_dated_revocation_disputes_every_holders_blocks(driver, engine, clock):
    gen, buyer, buyer_token, lot, held, bought, retirement = _audit(driver)
    retired_serial = retirement["serial"]
    used = _lot_used(engine, lot["id"])
    _at(clock, "2026-03-15")
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2025-01-01", "reason": "fraudulent audit"},
              gen.certifier, status=200)

    # One block.disputed entry per block, any holder, right after the revocation's entry.
    (revoked,) = _entries(engine, "certificate.revoked")
    marks = _entries(engine, "block.disputed")
    assert sorted(m.payload["serial"] for m in marks) == sorted([held, bought, retired_serial])
    assert [m.index for m in marks] == list(range(revoked.index + 1, revoked.index + 4))
    for m in marks:
        assert m.payload["certificate"] == gen.certificate and m.payload["finding"] == revoked.index
        assert m.payload["event_kind"] == "revoked" and m.payload["reason"] == "fraudulent audit"
    assert [_block(driver, s)["disputed"] for s in (held, bought, retired_serial)] == [True, True, True]

    # Neither holder can move or retire them (409 block_disputed).
    assert_problem(_retire(driver, buyer_token, bought, "1.000"), 409, "block_disputed")
    assert_problem(driver.post("/transfers", {"serial": held, "quantity": "1.000",
                                              "to_participant_id": buyer["id"]}, gen.token), 409, "block_disputed")
    # Not the R-E5 correction either: the dispute is decided by its own endpoint.
    assert_problem(driver.post(f"/blocks/{held}/cancel", {"reason": "x"}, driver.admin), 409, "block_disputed")

    # The certifier sees what its finding affected; another body's certifier and members do not.
    affected = driver.get(f"/rms-certificates/{gen.certificate}/affected", gen.certifier).get_json()["items"]
    assert sorted((a["serial"], a["owner_id"], a["outcome"]) for a in affected) == sorted(
        [(held, gen.id, "open"), (bought, buyer["id"], "open"), (retired_serial, buyer["id"], "open")])
    assert_problem(driver.get(f"/rms-certificates/{gen.certificate}/affected", driver.certifier("SCS")),
                   403, "wrong_certification_body")
    assert_problem(driver.get(f"/rms-certificates/{gen.certificate}/affected", buyer_token), 403,
                   "forbidden_role")

    # Only an administrator decides; on the certifier's word it cancels the buyer's block
    # (R-E5 for any holder) without restoring the lot's eligible mass.
    assert_problem(driver.post(f"/blocks/{bought}/dispute/cancel", {"reason": "x"}, gen.certifier), 403,
                   "forbidden_role")
    decided = driver.ok(f"/blocks/{bought}/dispute/cancel", {"reason": "certifier: not RMS material"},
                        status=200)
    assert decided["block"]["state"] == "cancelled" and decided["dispute"]["outcome"] == "cancelled"
    assert _lot_used(engine, lot["id"]) == used
    (cancelled,) = _entries(engine, "block.dispute_cancelled")
    assert cancelled.payload["serial"] == bought and cancelled.payload["state"] == "cancelled"
    assert _block(driver, bought)["log"]["index"] == cancelled.index  # a lineage entry (R-L2b)

    # Cleared, the generator's block is a normal block again.
    driver.ok(f"/blocks/{held}/dispute/clear", {"reason": "certifier: this lot was audited"}, status=200)
    assert _block(driver, held)["disputed"] is False and _block(driver, held)["state"] == "active"
    driver.ok("/transfers", {"serial": held, "quantity": "1.000", "to_participant_id": buyer["id"]}, gen.token)
    assert_problem(driver.post(f"/blocks/{held}/dispute/clear", {"reason": "again"}, driver.admin), 409,
                   "block_not_disputed")

    # The retired one keeps its retirement; the finding on it is upheld, and its statement says so.
    driver.ok(f"/blocks/{retired_serial}/dispute/cancel", {"reason": "certifier: finding upheld"}, status=200)
    assert _block(driver, retired_serial)["state"] == "retired"
    history = driver.get(f"/blocks/{retired_serial}/disputes").get_json()["items"]
    assert [(d["outcome"], d["event_kind"], d["event_on"]) for d in history] == [("upheld", "revoked", "2025-01-01")]
    statement = driver.client.get(f"/retirements/{retirement['id']}").get_data(as_text=True)
    assert "Disputed" in statement and "upheld" in statement and gen.certificate in statement
    page = driver.client.get(f"/certificates/{bought}").get_data(as_text=True)
    assert "Disputed" in page and "cancelled" in page
    register = driver.client.get(f"/rms-certificates/{gen.certificate}").get_data(as_text=True)
    assert "disputed" in register.lower() and "3 blocks" in register


def test_the_removal_job_leaves_disputed_blocks_to_the_administrator(driver, engine, clock):
    """RMS 8.5.3 forfeits what the generator generated before losing eligibility;
    ARCs generated after it are the disputed ones: the job does not forfeit them."""
    gen, buyer, buyer_token, lot, held, bought, retirement = _audit(driver)
    clean = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-01-10")
    driver.sell(gen.token, clean["id"], t(10))
    clean_block = driver.generate(gen.token, clean["id"])
    _at(clock, "2026-03-15")
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-01-15", "reason": "finding"},
              gen.certifier, status=200)
    assert _block(driver, clean_block["serial"])["disputed"] is False  # processed while valid
    _at(clock, "2027-01-16")  # inactive since 2026-01-15 for more than a year (R-E4)
    result = run_daily_jobs(session_factory(engine), clock)
    assert result["removal"]["removed"] == 1 and result["removal"]["forfeited"] == 1
    assert _block(driver, clean_block["serial"])["state"] == "forfeited"
    assert _block(driver, held)["state"] == "active" and _block(driver, held)["disputed"] is True
    # Past its use period (2027-12-31 for 2026 ARCs) expiry does not end it silently either.
    _at(clock, "2028-01-02")
    run_daily_jobs(session_factory(engine), clock)
    assert _block(driver, held)["state"] == "active" and _block(driver, bought)["state"] == "active"
    driver.ok(f"/blocks/{held}/dispute/cancel", {"reason": "certifier: not RMS material"}, status=200)
    assert _block(driver, held)["state"] == "cancelled"


def test_blocks_of_lots_processed_while_valid_are_not_disputed(driver, engine, clock):
    gen = driver.generator()
    before = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-01-10")
    after = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-02-01")
    for lot in (before, after):
        driver.sell(gen.token, lot["id"], t(10))
    kept, disputed = driver.generate(gen.token, before["id"]), driver.generate(gen.token, after["id"])
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-01-15", "reason": "audit"},
              gen.certifier, status=200)
    assert _block(driver, kept["serial"])["disputed"] is False
    assert _block(driver, disputed["serial"])["disputed"] is True
    # Reinstated on 2026-01-20 and suspended again from 2026-02-01: nothing newly invalid is
    # marked twice, and the open dispute stays.
    driver.ok(f"/rms-certificates/{gen.certificate}/reinstate", {"on": "2026-01-20", "reason": "ok"},
              gen.certifier, status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-01-25", "reason": "again"},
              gen.certifier, status=200)
    assert [m.payload["serial"] for m in _entries(engine, "block.disputed")] == [disputed["serial"]]


def test_event_dates_lie_within_the_certificates_validity(driver, engine, clock):
    gen = driver.generator()  # valid 2025-01-01 to 2027-12-31
    for action, on in (("suspend", "2024-12-31"), ("revoke", "2028-01-01"), ("reinstate", "2024-06-01")):
        body = assert_problem(driver.post(f"/rms-certificates/{gen.certificate}/{action}",
                                          {"on": on, "reason": "audit"}, gen.certifier), 422, "outside_validity")
        assert list(body["errors"]) == ["on"]
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2025-01-01", "reason": "audit"},
              gen.certifier, status=200)


def test_a_future_dated_revocation_does_not_block_an_earlier_suspension(driver, engine, clock):
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-12-31", "reason": "not renewed"},
              gen.certifier, status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-04-01", "reason": "audit"},
              gen.certifier, status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/reinstate", {"on": "2026-05-01", "reason": "fixed"},
              gen.certifier, status=200)
    # Nothing follows the revocation: an event on or after its date is refused.
    for on in ("2026-12-31", "2027-02-01"):
        assert_problem(driver.post(f"/rms-certificates/{gen.certificate}/suspend", {"on": on, "reason": "x"},
                                   gen.certifier), 422, "certificate_revoked")
    history = driver.get(f"/rms-certificates/{gen.certificate}").get_json()["history"]
    assert [(h["kind"], h["on"]) for h in history] == [
        ("suspended", "2026-04-01"), ("reinstated", "2026-05-01"), ("revoked", "2026-12-31")]

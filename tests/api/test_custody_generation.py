"""R-M6 through the HTTP API, on SQLite and PostgreSQL: where a generator keeps
a mass-balance account for a lot's facility and product, the lot is an output
of that account — its inputs cite the account's receipts, and its claimed sales
and ARC generations draw the account's credit, first in, first out, never
overdrawn (R-M4). So claims + ARCs never exceed certified input; refusals
write nothing; `arcreg verify` re-derives the sums and catches an edit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from chainlog import store
from registry.db import session_factory
from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem
from tests.api.test_participant_details import verify

ZERO = {"PC": "0.000", "PI": "0.000", "R": "0.000"}


class Reprocessor:
    """A certified reprocessor with an additional facility and a mass-balance account
    there, fed by a certified sorter (NOW is 2026-03-02)."""

    def __init__(self, driver, starts_on: str = "2026-01-01"):
        self.driver = driver
        g = self.g = driver.generator()
        sorter = driver.participant("Sorter A")
        self.sorter_certificate = driver.certificate(g.certifier, sorter["id"], activities=["sorting"])["number"]
        self.account = driver.ok("/custody/accounts", {
            "participant_id": g.id, "product_group": "PP resin", "control_system": "mass-balance",
            "facility_ids": [g.facility_id], "starts_on": starts_on, "period_months": 1}, g.token)["id"]

    def receive(self, on: str, mass: dict, claim: str | None = "RMS 100% PC MB", reference: str = "INV-1") -> dict:
        body = {"on": on, "supplier_name": "Sorter A", "reference": reference, "material_code": "PC_P3.1.9",
                "mass": mass}
        if claim is not None:
            body.update(claim=claim, supplier_certificate=self.sorter_certificate)
        return self.driver.ok(f"/custody/accounts/{self.account}/inputs", body, self.g.token)

    def lot_body(self, **overrides) -> dict:
        body = {"facility_id": self.g.facility_id, "reference": "LOT-PP-1", "material_code": "PC_P3.1.9",
                "mass": t(1000), "non_plastic_fraction": "0.01", "processed_on": "2026-02-01",
                "rms_certificate": self.g.certificate,
                "conversion": {"inputs": [{"material_code": "PC_P3.1.9", "mass": t(1000)}],
                               "transformation": "physical", "description": "wash, extrude", "factor": "100",
                               "justification": "measured", "outputs": [{"material_code": "PC_P3.1.9",
                                                                         "mass": t(1000)}]},
                **overrides}
        return body

    def post(self, path: str, body: dict):
        return self.driver.post(path, body, self.g.token)

    def balance(self, on: str = "2026-03-02") -> dict:
        return self.driver.get(f"/custody/accounts/{self.account}/balance?on={on}", self.g.token).get_json()


def _sale(on: str, mass: dict, claim: str | None = None) -> dict:
    return {"kind": "sale", "on": on, "counterparty": "Brand Co", "mass": mass, **({"claim": claim} if claim else {})}


def _entries(engine, kind: str) -> list[dict]:
    with session_factory(engine)() as session:
        return [json.loads(e.canonical) for e in store.entries(session, 0, store.size(session)) if e.type == kind]


def test_generation_draws_on_custody_credit_and_never_overdraws(driver, engine, db_url, tmp_path):
    r = Reprocessor(driver)
    receipt = r.receive("2026-01-10", t(100))
    r.receive("2026-01-11", t(900), claim=None, reference="VIRGIN-1")  # uncertified: mass, no credit
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    assert lot["custody_account_id"] == r.account
    [cited] = lot["inputs"]
    assert cited["receipt"] == receipt["id"] and cited["supplier_certificate"] == r.sorter_certificate
    assert cited["log"]["index"] == receipt["log"]["index"]  # the lot's entry reaches back to the receipt's

    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(800)), r.g.token)
    # A claimed sale of the lot draws credit: 25% of 200 t = 50 t.
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-16", t(200), "RMS 25% PC MB"), r.g.token)
    assert r.balance()["credit_kg"]["PC"] == "50000.000"

    # ARCs on 60 t would draw 60 t of the 50 t left: refused, nothing written.
    before = snapshot(engine)
    answer = assert_problem(r.post("/generations", {"lot_id": lot["id"], "mass": t(60)}), 422, "insufficient_credit")
    assert answer["rule"] == "R-M4" and "mass" in answer["errors"]
    assert snapshot(engine) == before

    block = driver.ok("/generations", {"lot_id": lot["id"], "mass": t(50)}, r.g.token)
    assert block["quantity"] == "50.000"
    assert r.balance()["credit_kg"] == ZERO  # claims (50 t) + ARCs (50 t) = certified input (100 t)
    # The lot still has eligible mass, but the account has no credit: refused.
    assert_problem(r.post("/generations", {"lot_id": lot["id"], "mass": t("0.001")}), 422, "insufficient_credit")
    assert_problem(r.post(f"/lots/{lot['id']}/dispositions", _sale("2026-03-01", t(1), "RMS 1% PC MB")),
                   422, "lot_over_allocated")

    [generated] = [e for e in _entries(engine, "block.generated") if e["payload"]["serial"] == block["serial"]]
    assert generated["payload"]["custody"] == {"account": r.account, "on": "2026-03-02",
                                               "drawn_kg": {**ZERO, "PC": "50000.000"}}
    [claimed] = [e for e in _entries(engine, "lot.disposition") if e["payload"]["claim"]]
    assert claimed["payload"]["custody"]["drawn_kg"]["PC"] == "50000.000"
    [registered] = _entries(engine, "lot.registered")
    assert registered["payload"]["custody_account"] == r.account
    # The provenance proof of the block holds the lot's entry, which cites the receipt's entry.
    proof = driver.get(f"/blocks/{block['serial']}/provenance").get_json()
    first = json.loads(proof["entries"][0]["canonical"])
    assert first["type"] == "lot.registered" and first["payload"]["inputs"][0]["log"] == cited["log"]

    assert verify(driver, engine, db_url, tmp_path).ok


def test_claims_and_arcs_share_the_credit_first_in_first_out(driver, engine):
    """Two receipts; ARCs take the oldest credit first; a claimed sale after them gets only what is left."""
    r = Reprocessor(driver)
    first = r.receive("2026-01-10", t(30), reference="INV-A")
    r.receive("2026-01-20", t(20), reference="INV-B")
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": first["id"]}]),
                    r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(500)), r.g.token)
    driver.ok("/generations", {"lot_id": lot["id"], "mass": t(40)}, r.g.token)
    assert r.balance()["expiring"] == [{"on": "2027-01-20", "kg": "10000.000"}]  # INV-A used up, 10 t of INV-B left
    assert_problem(r.post(f"/lots/{lot['id']}/dispositions", _sale("2026-03-02", t(100), "RMS 11% PC MB")),
                   422, "insufficient_credit")
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-03-02", t(100), "RMS 10% PC MB"), r.g.token)
    assert r.balance()["credit_kg"] == ZERO


@pytest.mark.parametrize(("overrides", "status", "code", "field", "rule"), [
    ({}, 422, "custody_account_required", "custody_account_id", "R-M6"),
    ({"custody_account_id": "mine", "inputs": [{"supplier_certificate": "RMS-NSF-00001", "reference": "X",
                                                "material_code": "PC_P3.1.9", "mass": t(1)}]},
     422, "input_not_receipt", "inputs", "R-M6"),
    ({"custody_account_id": "mine", "receipts": [{"receipt_id": 999999}]}, 422, "receipt_not_found",
     "receipts.0.receipt_id", "R-M6"),
    ({"custody_account_id": "mine", "receipts": [{"receipt_id": "first", "mass": t(101)}]}, 422, "receipt_exceeded",
     "receipts.0.mass", "R-M6"),
    ({"custody_account_id": "mine", "processed_on": "2026-01-05", "receipts": [{"receipt_id": "first"}]}, 400,
     "input_after_processing", "receipts.0.receipt_id", "R-B8"),
    ({"custody_account_id": "mine", "material_code": "PC_P3.1.5"}, 422, "custody_account_mismatch",
     "custody_account_id", "R-M6"),
    ({"custody_account_id": "other"}, 422, "custody_account_mismatch", "custody_account_id", "R-M6"),
    ({"custody_account_id": 2147483647}, 422, "custody_account_mismatch", "custody_account_id", "R-M6"),
    ({"receipts": [{"receipt_id": "first"}], "material_code": "PC_P3.1.5"}, 400, "custody_account_required",
     "receipts", "R-M6"),
    ({"custody_account_id": "mine", "receipts": [{"receipt_id": "first", "mass": {"value": "-1", "unit": "t"}}]},
     400, "must_be_positive", "receipts", None),
], ids=["no-account", "free-text-input", "unknown-receipt", "more-than-received", "receipt-after-processing",
        "other-product", "someone-elses-account", "no-such-account", "receipts-without-account", "negative-mass"])
def test_bad_custody_lots_are_refused_and_write_nothing(driver, engine, overrides, status, code, field, rule):
    r = Reprocessor(driver)
    first = r.receive("2026-01-10", t(100))
    # The account's product is fixed by its first output (PP): a PE lot is not its output.
    driver.ok(f"/custody/accounts/{r.account}/outputs", {
        "on": "2026-01-12", "customer": "Brand Co", "reference": "SO-1", "material_code": "PC_P3.1.9",
        "mass": t(1)}, r.g.token)
    other = Reprocessor(driver)
    names = {"mine": r.account, "other": other.account, "first": first["id"]}
    body = r.lot_body(**overrides)
    if "custody_account_id" in body and body["custody_account_id"] in names:
        body["custody_account_id"] = names[body["custody_account_id"]]
    for item in body.get("receipts", []):
        item["receipt_id"] = names.get(item["receipt_id"], item["receipt_id"])
    if body["material_code"] == "PC_P3.1.5":
        body["conversion"]["outputs"][0]["material_code"] = "PC_P3.1.5"
    before = snapshot(engine)
    response = r.post("/lots", body)
    problem = assert_problem(response, status, code)
    assert field in problem["errors"], problem
    assert problem.get("rule") == rule, problem  # the rule the refusal cites (R-X1)
    assert snapshot(engine) == before


def test_verify_catches_an_edited_custody_lot_or_sum(driver, engine, db_url, tmp_path):
    r = Reprocessor(driver)
    receipt = r.receive("2026-01-10", t(100))
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(100)), r.g.token)
    driver.ok("/generations", {"lot_id": lot["id"], "mass": t(40)}, r.g.token)
    assert verify(driver, engine, db_url, tmp_path).ok
    for table, column, value, key in (("custody_account", "drawn_pc_kg", 0, r.account),
                                      ("lot", "custody_account_id", None, lot["id"])):
        with engine.begin() as connection:
            old = connection.execute(text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": key}).scalar()
            connection.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": value, "id": key})
        report = verify(driver, engine, db_url, tmp_path)
        assert not report.ok and column in str(report.error), (column, report)
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": old, "id": key})
    assert verify(driver, engine, db_url, tmp_path).ok


def test_a_generation_logs_the_credit_expired_by_its_day_first_as_the_generators_act(driver, engine):
    """R-M4, R-M6: credit received more than 12 months before the generation expires first, in the
    generation's transaction, logged by whoever generated; the ARCs then draw the credit left."""
    r = Reprocessor(driver, starts_on="2025-01-01")
    r.receive("2025-02-10", t(10), reference="INV-OLD")  # expires on 2026-02-10, before today (2026-03-02)
    receipt = r.receive("2026-01-10", t(100))
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(1000)), r.g.token)
    assert _entries(engine, "custody.credit_expired") == []  # the sale drew nothing, and expiry waits for a draw
    block = driver.ok("/generations", {"lot_id": lot["id"], "mass": t(40)}, r.g.token)
    [expired] = _entries(engine, "custody.credit_expired")
    [generated] = _entries(engine, "block.generated")
    assert expired["payload"] == {"account": r.account, "on": "2026-03-02", "expired_kg": {**ZERO, "PC": "10000.000"}}
    assert expired["actor"] == generated["actor"] and generated["payload"]["serial"] == block["serial"]
    assert r.balance()["credit_kg"] == {**ZERO, "PC": "60000.000"}  # 110 t received, 10 t expired, 40 t drawn


# --- R-M3, R-M5, R-L7b: the period rows and batch columns against the log -----------------------------

def _period_row(engine, account: int, n: int) -> dict:
    from sqlmodel import select

    from registry.custody.models import CustodyPeriod
    from registry.custody.rules import PERIOD_KG

    with session_factory(engine)() as session:
        row = session.exec(select(CustodyPeriod).where(CustodyPeriod.account_id == account,
                                                       CustodyPeriod.n == n)).one()
        return {k: format(getattr(row, k), "f") for k in PERIOD_KG}


def _lot_with_claimed_sale(driver, r: Reprocessor) -> dict:
    """100 t received in period 1; a lot sold 800 t unclaimed (15 Feb) and 200 t at 25% (1 March: 50 t drawn)."""
    receipt = r.receive("2026-01-10", t(100))
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(800)), r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-03-01", t(200), "RMS 25% PC MB"), r.g.token)
    return lot


def test_an_arc_generation_counts_as_arc_kg_not_as_a_claim(driver, engine, clock, db_url, tmp_path):
    """R-M6: ARCs from a custody lot draw credit (drawn_kg, arc_kg) but claim nothing: the period's
    claimed_kg, and its summary's, are the claimed sale's alone; the closing balance counts both draws."""
    r = Reprocessor(driver)
    lot = _lot_with_claimed_sale(driver, r)
    before = _period_row(engine, r.account, 3)
    assert (before["claimed_kg"], before["drawn_kg"], before["arc_kg"]) == ("50000.000", "50000.000", "0.000")
    driver.ok("/generations", {"lot_id": lot["id"], "mass": t(30)}, r.g.token)  # today, 2 March: period 3
    after = _period_row(engine, r.account, 3)
    assert after == {**before, "drawn_kg": "80000.000", "arc_kg": "30000.000"}
    assert verify(driver, engine, db_url, tmp_path).ok

    clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    for n in (1, 2, 3):
        driver.ok(f"/custody/accounts/{r.account}/periods/{n}/close", None, r.g.token)
    summary = driver.get(f"/custody/accounts/{r.account}/periods/3", r.g.token).get_json()
    assert (summary["opening_kg"], summary["claimed_kg"], summary["outputs_kg"], summary["closing_kg"]) == (
        "100000.000", "50000.000", "0.000", "20000.000"), summary
    assert verify(driver, engine, db_url, tmp_path).ok  # the summaries are what the entries add up to


def test_verify_catches_an_edited_custody_period_row_or_batch_column(driver, engine, db_url, tmp_path):
    """R-L7b: a period row's kilograms (the rolling average, the period summaries and audits read
    them) and the batch columns (the batch check reads them) are what the log adds up to."""
    r = Reprocessor(driver)
    lot = _lot_with_claimed_sale(driver, r)
    driver.ok("/generations", {"lot_id": lot["id"], "mass": t(30)}, r.g.token)
    assert verify(driver, engine, db_url, tmp_path).ok
    period = "account_id = :a AND n = :n"
    for table, column, where, key in (
            ("custody_period", "certified_kg", period, {"a": r.account, "n": 1}),
            ("custody_period", "input_kg", period, {"a": r.account, "n": 1}),
            ("custody_period", "claimed_kg", period, {"a": r.account, "n": 3}),
            ("custody_period", "arc_kg", period, {"a": r.account, "n": 3}),
            ("custody_period", "drawn_kg", period, {"a": r.account, "n": 3}),
            ("custody_account", "batch_certified_kg", "id = :a", {"a": r.account}),
            ("custody_account", "batch_claimed_kg", "id = :a", {"a": r.account})):
        with engine.begin() as connection:
            old = connection.execute(text(f"SELECT {column} FROM {table} WHERE {where}"), key).scalar()
            connection.execute(text(f"UPDATE {table} SET {column} = {column} + 1 WHERE {where}"), key)
        report = verify(driver, engine, db_url, tmp_path)
        named = [str(f) for f in report.findings if column in str(f)]
        assert not report.ok and named and table.replace("custody_account", "custody account") in named[0], (
            column, report.failure())
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET {column} = :v WHERE {where}"), {**key, "v": old})
    with engine.begin() as connection:  # a batch left open (the live batch check would start a new one)
        connection.execute(text("UPDATE custody_account SET batch_open = :v WHERE id = :a"),
                           {"v": False, "a": r.account})
    report = verify(driver, engine, db_url, tmp_path)
    assert not report.ok and "batch_open" in str(report.error), report.failure()
    with engine.begin() as connection:
        connection.execute(text("UPDATE custody_account SET batch_open = :v WHERE id = :a"),
                           {"v": True, "a": r.account})
    # A row no entry explains, then a row the log made that is missing.
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO custody_period (account_id, n, facility_id, input_kg, certified_kg, "
                                "credit_kg, output_kg, claimed_kg, drawn_kg, expired_kg, arc_kg) SELECT account_id, "
                                "2, facility_id, 0, 0, 0, 0, 0, 0, 0, 0 FROM custody_period WHERE " + period),
                           {"a": r.account, "n": 1})
    report = verify(driver, engine, db_url, tmp_path)
    assert not report.ok and "custody_period" in str(report.error) and "no log entry" in str(report.error)
    for n in (2, 1, 3):  # the extra row goes; then period 1's row (before a live one), period 3's (the last)
        with engine.begin() as connection:
            connection.execute(text(f"DELETE FROM custody_period WHERE {period}"), {"a": r.account, "n": n})
        if n == 2:
            assert verify(driver, engine, db_url, tmp_path).ok
            continue
        report = verify(driver, engine, db_url, tmp_path)
        missing = [str(f) for f in report.findings if f"custody_period ({r.account}, {n}, " in str(f)]
        assert not report.ok and missing and "missing" in missing[0], report.failure()


def test_a_claimed_sale_of_a_custody_lot_expires_old_credit_first_and_names_the_claim_when_short(driver, engine):
    """R-M4, R-M6: a claimed sale draws the account's credit like an output — the credit expired by its
    day is logged first, as the seller's act; a claim beyond the credit left is refused on ``claim``."""
    r = Reprocessor(driver, starts_on="2025-01-01")
    r.receive("2025-02-10", t(10), reference="INV-OLD")  # expires on 2026-02-10
    receipt = r.receive("2026-01-10", t(100))
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(200), "RMS 25% PC MB"), r.g.token)
    [expired] = _entries(engine, "custody.credit_expired")
    [sale] = _entries(engine, "lot.disposition")
    assert expired["payload"] == {"account": r.account, "on": "2026-02-15", "expired_kg": {**ZERO, "PC": "10000.000"}}
    assert expired["actor"] == sale["actor"] and expired["index"] < sale["index"]
    before = snapshot(engine)
    problem = assert_problem(r.post(f"/lots/{lot['id']}/dispositions", _sale("2026-02-16", t(300), "RMS 20% PC MB")),
                             422, "insufficient_credit")  # 60 t claimed, 50 t of credit left
    assert problem["rule"] == "R-M4" and list(problem["errors"]) == ["claim"], problem
    assert snapshot(engine) == before


def test_a_claimed_sale_of_a_custody_lot_carries_a_claim_its_control_system_allows(driver, engine):
    """R-M3 (RMS 6.5.8.2): a mass-balance account's output never carries an average-content claim —
    the lot's claimed sale is refused on ``claim`` and writes nothing; an MB claim on it is taken."""
    r = Reprocessor(driver)
    receipt = r.receive("2026-01-10", t(100))
    lot = driver.ok("/lots", r.lot_body(custody_account_id=r.account, receipts=[{"receipt_id": receipt["id"]}]),
                    r.g.token)
    before = snapshot(engine)
    problem = assert_problem(r.post(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(200), "RMS 25% PC AC")),
                             422, "claim_upgrade")
    assert problem["rule"] == "R-M3" and list(problem["errors"]) == ["claim"], problem
    assert "RMS 25% PC AC" in problem["detail"] and "6.5.8.2" in problem["detail"], problem
    assert snapshot(engine) == before
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(200), "RMS 25% PC MB"), r.g.token)

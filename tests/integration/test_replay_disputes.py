"""R-C5 in replay (R-L7c): at a suspension or revocation entry the replay
computes which blocks must be disputed and checks the ``block.disputed``
entries after it; a disputed block that moves or ends, and a decision on a
block that is not disputed, are findings. On SQLite and PostgreSQL: a real
registry built through the API, then entries appended by a writer that
bypasses the services (signed like any other), or a log with one entry
removed (pure replay)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from chainlog import store
from chainlog.errors import VerificationError
from registry.db import session_factory
from registry.replay import replay
from tests.api.driver import t
from tests.integration.test_replay_rules import log  # noqa: F401  (the fixture)


def _disputed_registry(driver):
    """A lot processed 2026-02-01 (its block held by the generator, part sold) and
    one processed 2026-01-10; the certificate suspended from 2026-01-15 (recorded
    2026-03-02): the first lot's two blocks are disputed, the second's not."""
    gen = driver.generator()
    buyer = driver.participant("Brand Co")
    late = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-02-01")
    early = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-01-10")
    for lot in (late, early):
        driver.sell(gen.token, lot["id"], t(10))
    block = driver.generate(gen.token, late["id"])
    moved = driver.ok("/transfers", {"serial": block["serial"], "quantity": "2.000",
                                     "to_participant_id": buyer["id"]}, gen.token)
    clean = driver.generate(gen.token, early["id"])
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-01-15", "reason": "audit"},
              gen.certifier, status=200)
    return gen, moved["moved"]["serial"], moved["remainder"]["serial"], clean["serial"]


def test_a_registry_with_disputes_and_decisions_verifies(driver, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    assert sorted(e.payload["serial"] for e in log.entries() if e.type == "block.disputed") == sorted([bought, held])
    log.assert_verifies()
    driver.ok(f"/blocks/{bought}/dispute/cancel", {"reason": "certifier"}, status=200)
    driver.ok(f"/blocks/{held}/dispute/clear", {"reason": "certifier"}, status=200)
    log.assert_verifies()  # the decisions replay, and the block_dispute rows match the log
    # A cleared block is no longer disputed: it moves again, and replay agrees (R-C5).
    other = driver.participant("Second Brand")
    driver.ok("/transfers", {"serial": held, "quantity": "1.000", "to_participant_id": other["id"]}, gen.token)
    log.assert_verifies()


def test_a_back_dated_finding_without_its_marks_is_a_finding(driver, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    log.assert_verifies()
    # The certificate revoked from 2026-01-05 by a writer that does not mark the
    # 2026-01-10 lot's block, which that revocation now makes not valid.
    suspended = log.last("certificate.suspended", certificate=gen.certificate)
    bad = log.append("certificate.revoked", {**suspended.payload, "on": "2026-01-05"}, suspended.actor)
    log.assert_refused_at(bad)


def test_an_extra_mark_is_a_finding(driver, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    mark = log.last("block.disputed", serial=held)
    bad = log.append("block.disputed", {**mark.payload, "serial": clean}, mark.actor)
    log.assert_refused_at(bad)


def test_a_disputed_block_that_ends_is_a_finding(driver, clock, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    clock.set(datetime(2028, 1, 2, 9, 0, tzinfo=UTC))  # past its use period: only the dispute is wrong (R-E1)
    split = log.last("block.transferred")  # its remainder is the held block, lineage unchanged since
    assert split.payload["remainder"]["serial"] == held
    payload = {**split.payload["remainder"], "state": "expired", "use_period_end": "2027-12-31",
               "prev": {"index": split.index, "leaf_hash": split.leaf_hash.hex()}}
    bad = log.append("block.expired", payload, "system")
    log.assert_refused_at(bad)


def test_a_decision_on_a_block_not_disputed_is_refused(driver, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    driver.ok(f"/blocks/{held}/dispute/clear", {"reason": "certifier"}, status=200)
    cleared = log.last("block.dispute_cleared", serial=held)
    bad = log.append("block.dispute_cleared", {**cleared.payload, "serial": clean}, cleared.actor)
    log.assert_refused_at(bad)


def _pure(engine) -> list[dict]:
    with session_factory(engine)() as session:
        return [{"index": e.index, "type": e.type, "payload": e.payload, "leaf_hash": e.leaf_hash.hex(),
                 "time": e.time} for e in store.iter_entries(session)]


def test_a_deleted_mark_is_found_by_the_replay(driver, engine, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    entries = _pure(engine)
    replay(entries).close()  # as written: no finding
    finding = next(e for e in entries if e["type"] == "certificate.suspended")
    gone = copy.deepcopy(entries)
    mark = next(e for e in gone if e["type"] == "block.disputed" and e["payload"]["serial"] == held)
    mark["type"] = "removed.entry"  # skipped by the replay: as if it were not there
    with pytest.raises(VerificationError) as caught:
        replay(gone).close()
    assert caught.value.index == finding["index"] and held in str(caught.value)
    # At the log's end too: the last finding's marks are checked after the last entry.
    tail = copy.deepcopy(entries[:-1])
    assert entries[-1]["type"] == "block.disputed"
    with pytest.raises(VerificationError) as caught:
        replay(tail).close()
    assert caught.value.index == finding["index"]


def _replay_changed(engine, change) -> tuple[int, VerificationError]:
    """Replay the log with ``change(entries)`` applied (pure replay); the error it raises."""
    entries = _pure(engine)
    index = change(entries)
    with pytest.raises(VerificationError) as caught:
        replay(entries).close()
    return index, caught.value


def _mark(entries: list[dict], serial: str) -> dict:
    return next(e for e in entries if e["type"] == "block.disputed" and e["payload"]["serial"] == serial)


@pytest.mark.parametrize("field, value, words", [
    ("finding", -1, "names finding -1"),  # R-C5: the finding that requires the mark, by its entry
    ("certificate", "RMS-OTHER-1", "of RMS-OTHER-1, not entry"),
    ("serial", "PC_P_PP_ARC-2026-9-000000000001-000000000001", "was never created"),
    ("state", "retired", "is active (the entry says retired)"),
])
def test_a_mark_that_misnames_its_finding_or_block_is_refused_at_it(driver, engine, log, field, value,
                                                                     words):  # noqa: F811
    """R-C5: a ``block.disputed`` mark names the finding that requires it (entry and certificate), a block
    that exists, and the block's state as replayed."""
    gen, bought, held, clean = _disputed_registry(driver)

    def change(entries):
        mark = _mark(entries, held)
        mark["payload"][field] = value
        return mark["index"]

    index, error = _replay_changed(engine, change)
    assert (error.kind, error.index) == ("replay_inconsistent", index) and words in str(error), str(error)


def test_a_block_disputed_twice_is_refused(driver, log):  # noqa: F811
    gen, bought, held, clean = _disputed_registry(driver)
    log.assert_verifies()
    mark = log.last("block.disputed", serial=held)
    bad = log.append("block.disputed", mark.payload, mark.actor)
    log.assert_refused_at(bad)
    assert "already disputed" in str(log.verify().error)


@pytest.mark.parametrize("kind, shift, words", [
    ("block.dispute_upheld", 0, "only a retired block's finding is upheld"),  # R-C5: held is active
    ("block.dispute_cleared", 1, "names dispute entry"),
])
def test_a_decision_that_does_not_fit_its_dispute_is_refused(driver, log, kind, shift, words):  # noqa: F811
    """R-C5: only a retired block's finding is upheld; a decision names its block's open dispute entry."""
    gen, bought, held, clean = _disputed_registry(driver)
    driver.ok(f"/blocks/{bought}/dispute/clear", {"reason": "certifier"}, status=200)
    cleared = log.last("block.dispute_cleared", serial=bought)  # a real decision, as the template
    mark = log.last("block.disputed", serial=held)
    log.assert_verifies()
    payload = {**cleared.payload, "serial": held, "dispute_entry": mark.index + shift}
    bad = log.append(kind, payload, cleared.actor)
    report = log.verify()
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", bad), report.failure()
    assert words in str(report.error), report.failure()


def _retired_and_disputed(driver):
    """A generator that retired 1 t of its block, then a back-dated suspension: the
    retired part and the remainder are both disputed (R-C5 marks retired blocks too)."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10), processed_on="2026-02-01")
    driver.sell(gen.token, lot["id"], t(10))
    block = driver.generate(gen.token, lot["id"])
    retired = driver.ok("/retirements", {"serial": block["serial"], "quantity": "1.000", "beneficiary": "Acme",
                                         "claim_type": "general", "reporting_year": 2026}, gen.token)
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-01-15", "reason": "audit"},
              gen.certifier, status=200)
    return retired["block"]["serial"], retired["remainder"]["serial"]


def test_a_retired_blocks_dispute_is_not_cancelled(driver, log):  # noqa: F811
    """R-C5, R-E5: a cancellation ends an active block; a retired block's finding is
    upheld or cleared, never cancelled."""
    retired, remainder = _retired_and_disputed(driver)
    driver.ok(f"/blocks/{remainder}/dispute/cancel", {"reason": "certifier"}, status=200)
    cancelled = log.last("block.dispute_cancelled", serial=remainder)  # a real decision, as the template
    log.assert_verifies()
    mark = log.last("block.disputed", serial=retired)
    bad = log.append("block.dispute_cancelled", {**cancelled.payload, "serial": retired, "dispute_entry": mark.index},
                     cancelled.actor)
    log.assert_refused_at(bad)
    assert "is retired, not active" in str(log.verify().error)


def test_a_retired_blocks_finding_upheld_verifies(driver, log):  # noqa: F811
    """R-C5: the administrator's decision on a retired block upholds the finding (the block keeps
    its retirement) and replays clean; so does the remainder's cancellation beside it."""
    retired, remainder = _retired_and_disputed(driver)
    driver.ok(f"/blocks/{retired}/dispute/cancel", {"reason": "certifier: finding upheld"}, status=200)
    driver.ok(f"/blocks/{remainder}/dispute/cancel", {"reason": "certifier"}, status=200)
    upheld = log.last("block.dispute_upheld", serial=retired)
    assert upheld.payload["dispute_entry"] == log.last("block.disputed", serial=retired).index
    log.assert_verifies()


@pytest.mark.parametrize("fault", [None, "another lineage link", "quantity changed", "quantity as a number"])
def test_a_cancellation_that_does_not_fit_its_block_is_refused_at_it(driver, log, fault):  # noqa: F811
    """R-C5, R-E5, R-L2b: a dispute's cancellation links to its block's last entry and keeps
    its fields (quantities as decimal strings, R-U3)."""
    gen, bought, held, clean = _disputed_registry(driver)
    driver.ok(f"/blocks/{bought}/dispute/cancel", {"reason": "certifier"}, status=200)
    template = log.last("block.dispute_cancelled", serial=bought).payload  # a real decision
    log.assert_verifies()
    split = log.last("block.transferred")  # its remainder is the held block, lineage unchanged since
    fields = split.payload["remainder"]
    assert fields["serial"] == held
    link = {"index": split.index, "leaf_hash": split.leaf_hash.hex()}
    payload = {**template, **fields, "state": "cancelled", "prev": link,
               "dispute_entry": log.last("block.disputed", serial=held).index}
    changes = {None: {}, "another lineage link": {"prev": {**link, "index": split.index - 1}},
               "quantity changed": {"quantity": "1.000", "last": fields["first"] + 999},
               "quantity as a number": {"quantity": 8}}[fault]
    bad = log.append("block.dispute_cancelled", {**payload, **changes}, "system")
    report = log.verify()
    if fault is None:  # the control: replay accepts it; only the tables, not written, differ
        assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()
    else:
        assert (report.error.kind, report.error.index) == ("replay_inconsistent", bad), report.failure()


def test_a_mark_after_another_entry_is_a_finding(driver, engine, log):  # noqa: F811
    """R-C5: a finding's marks are written with it, so they follow it at once; an entry in
    between closes the finding (its missing marks are a finding) and a late mark is one too."""
    gen, bought, held, clean = _disputed_registry(driver)
    driver.participant("Late Buyer")  # an entry after the marks
    log.assert_verifies()
    late = {}

    def swap(entries):  # the last mark and the entry after it change places
        mark = [e for e in entries if e["type"] == "block.disputed"][-1]
        after = entries[mark["index"] + 1]
        assert after["type"] == "participant.registered"
        late["serial"] = mark["payload"]["serial"]
        for key in ("type", "payload", "leaf_hash", "time"):
            mark[key], after[key] = after[key], mark[key]
        suspended = next(e for e in entries if e["type"] == "certificate.suspended")
        late["certificate"] = suspended["payload"]["certificate"]
        return suspended["index"]

    index, error = _replay_changed(engine, swap)
    assert (error.kind, error.index) == ("replay_inconsistent", index), str(error)
    assert str(error).endswith(f"R-C5: certificate.suspended of certificate {late['certificate']}: no "
                               f"block.disputed entry for {late['serial']}"), str(error)


@pytest.mark.parametrize("move", ["transfer", "retirement"])
def test_a_disputed_block_that_moves_is_a_finding(driver, engine, log, move):  # noqa: F811
    """R-C5: a disputed block neither moves nor is retired until its dispute is decided. The log
    of a block cleared and then moved, replayed without the clearing, is refused at the move."""
    gen, bought, held, clean = _disputed_registry(driver)
    driver.ok(f"/blocks/{held}/dispute/clear", {"reason": "certifier"}, status=200)
    if move == "transfer":
        buyer = driver.participant("Second Brand")
        driver.ok("/transfers", {"serial": held, "quantity": "1.000", "to_participant_id": buyer["id"]}, gen.token)
    else:
        driver.ok("/retirements", {"serial": held, "quantity": "1.000", "beneficiary": "Acme",
                                   "claim_type": "general", "reporting_year": 2026}, gen.token)
    log.assert_verifies()

    def unclear(entries):
        cleared = next(e for e in entries if e["type"] == "block.dispute_cleared")
        cleared["type"] = "removed.entry"  # skipped by the replay: as if it were not there
        return entries[-1]["index"]

    index, error = _replay_changed(engine, unclear)
    assert (error.kind, error.index) == ("replay_inconsistent", index), str(error)
    assert f"block {held} is disputed" in str(error), str(error)


def test_a_block_disputed_still_is_not_marked_again(driver, log):  # noqa: F811
    """R-C5: a later finding that again makes a lot's day not valid marks only its blocks not
    disputed already; the open disputes stand. Suspended from 15 January and reinstated from the
    16th, the certificate covers the 1 February lot again, and its blocks' disputes are still open
    when a revocation from 5 January makes that lot's day (and the 10 January lot's) not valid."""
    gen, bought, held, clean = _disputed_registry(driver)
    driver.ok(f"/rms-certificates/{gen.certificate}/reinstate", {"on": "2026-01-16", "reason": "cleared"},
              gen.certifier, status=200)
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-01-05", "reason": "fraud"},
              gen.certifier, status=200)
    marks = [e.payload["serial"] for e in log.entries() if e.type == "block.disputed"]
    assert sorted(marks) == sorted([bought, held, clean])  # the second finding marked only the clean one
    log.assert_verifies()


def test_a_finding_on_a_certificate_no_lot_cites_disputes_nothing(driver, log):  # noqa: F811
    """R-C5: suspending or revoking a certificate that no lot cites marks no block, and replays."""
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/suspend", {"on": "2026-01-15", "reason": "audit"},
              gen.certifier, status=200)
    assert not [e for e in log.entries() if e.type == "block.disputed"]
    log.assert_verifies()

"""R-L7 replay: a log whose hashes and signatures are all valid but which
records an impossible transition is refused (``replay_inconsistent``) at that
entry — in memory (pure replay) and offline through `arcreg verify-log`."""

from __future__ import annotations

import copy
from decimal import Decimal
import subprocess

import pytest

from chainlog import store
from chainlog.errors import VerificationError
from registry.clock import FrozenClock
from registry.db import UnitOfWork, session_factory
from registry.replay import replay
from tests.integration.test_verify import (
    START,
    build_registry,
    cli_env,
    run_verify,
    verifier_of,
)
from tests.serverproc import ARCREG, clean_env


def _entries(engine) -> list[dict]:
    with session_factory(engine)() as session:
        return [{"index": e.index, "type": e.type, "payload": e.payload, "leaf_hash": e.leaf_hash}
                for e in store.iter_entries(session)]


def _first(entries, kind):
    return next(e for e in entries if e["type"] == kind)


def test_pure_replay_of_a_real_log_and_its_impossible_variants(engine, db_url, tmp_path):
    build_registry(engine, db_url, tmp_path)
    entries = _entries(engine)
    state = replay(entries)
    assert state.entries == len(entries) and len(state.retirements) == 3  # one, and a bulk of two (R-T7)

    def refused(mutate) -> VerificationError:
        changed = copy.deepcopy(entries)
        index = mutate(changed)
        with pytest.raises(VerificationError) as caught:
            replay(changed)
        assert (caught.value.kind, caught.value.index) == ("replay_inconsistent", index), caught.value
        return caught.value

    def transfer_more(es):
        e = _first(es, "block.transferred")
        e["payload"]["moved"]["quantity"] = "999999.000"  # does not match its serial range
        return e["index"]

    def retire_twice(es):  # the same retirement again: the block is no longer active
        e = copy.deepcopy(_first(es, "block.retired"))
        e["index"] = len(es)
        es.append(e)
        return e["index"]

    def overdraw_lot(es):
        e = _first(es, "lot.disposition")
        e["payload"]["mass_kg"] = "99999999.000"
        return e["index"]

    def wrong_lineage(es):
        e = _first(es, "block.expired")
        e["payload"]["prev"]["index"] = 0
        return e["index"]

    assert "not active" in str(refused(retire_twice))
    for mutate in (transfer_more, overdraw_lot, wrong_lineage):
        refused(mutate)


def test_a_validly_signed_but_impossible_entry_fails_offline(engine, db_url, tmp_path):
    """A writer that bypasses the services appends a well-hashed, signed entry
    moving a retired block: chainlog alone cannot see it; the replay does."""
    config = build_registry(engine, db_url, tmp_path)
    entries = _entries(engine)
    retired = _first(entries, "block.retired")
    clock = FrozenClock(START)
    with UnitOfWork(session_factory(engine), clock) as uow:
        bad = store.append(uow.session, type="block.retired", actor="user:1", payload=retired["payload"],
                           time=clock.now())
        store.sign_checkpoint(uow.session, verifier_signer(config), config.log_origin, clock.now())
        uow.commit()
    report = run_verify(engine, config)
    assert (report.error.kind, report.error.index) == ("replay_inconsistent", bad.index), report.failure()

    export = tmp_path / "log.jsonl"
    done = subprocess.run(check=False, args=[ARCREG, "verify", "--export", str(export)], env=cli_env(config),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout.startswith(f"FAILED: replay_inconsistent at index {bad.index}")
    offline = subprocess.run(check=False, args=[ARCREG, "verify-log", str(export), "--vkey", verifier_of(config).vkey],
                             env=clean_env(), capture_output=True, text=True, timeout=120)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert offline.stdout.startswith(f"FAILED: replay_inconsistent at index {bad.index}: ")
    # The documented limit of --integrity-only: a signed log that breaks a rule is untampered, and passes.
    quick = subprocess.run(check=False, env=clean_env(), capture_output=True, text=True, timeout=120,
                           args=[ARCREG, "verify-log", str(export), "--vkey", verifier_of(config).vkey,
                                 "--integrity-only"])
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "not replayed" in quick.stdout


def verifier_signer(config):
    from registry.signing import load_signer

    return load_signer(config)


def _records(payload: dict) -> list[dict]:
    """The block records an entry carries: itself, or its moved, remainder and retired parts."""
    return [r for r in (payload, payload.get("moved"), payload.get("remainder"), payload.get("retired"))
            if isinstance(r, dict) and "serial" in r and "quantity" in r]


def test_every_lineage_link_and_block_record_is_checked_at_its_entry(engine, db_url, tmp_path):
    """R-L2b, R-U3, in every kind of entry of a real log: a link to another entry than its block's
    (or lot's) last one, by its index or by its leaf hash, is refused at that entry, and so is a block record whose quantity is a
    number, not a decimal string, or whose owner is not the one the replay derives."""
    build_registry(engine, db_url, tmp_path)
    entries = _entries(engine)
    linked = [e for e in entries if isinstance(e["payload"].get("prev"), dict)]
    recorded = [e for e in entries if _records(e["payload"])]
    kinds = {"block.generated", "block.transferred", "block.retired", "block.expired", "block.cancelled"}
    assert kinds <= {e["type"] for e in linked} and kinds <= {e["type"] for e in recorded}

    def refused_at(index: int, change) -> None:
        changed = copy.deepcopy(entries)
        change(changed[index]["payload"])
        with pytest.raises(VerificationError) as caught:
            replay(changed).close()
        assert (caught.value.kind, caught.value.index) == ("replay_inconsistent", index), \
            (entries[index]["type"], str(caught.value))

    def another_leaf(link: dict) -> None:  # the right index, another entry's hash
        link["leaf_hash"] = ("1" if link["leaf_hash"][0] == "0" else "0") + link["leaf_hash"][1:]

    for e in linked:
        refused_at(e["index"], lambda p: p["prev"].update(index=p["prev"]["index"] - 1))
        refused_at(e["index"], lambda p: another_leaf(p["prev"]))

    def as_number(record: dict) -> None:
        record["quantity"] = int(Decimal(record["quantity"]))

    def another_owner(record: dict) -> None:
        record["owner"] += 1000

    for e in recorded:
        for n in range(len(_records(e["payload"]))):
            for change in (as_number, another_owner):
                refused_at(e["index"], lambda p, n=n, change=change: change(_records(p)[n]))

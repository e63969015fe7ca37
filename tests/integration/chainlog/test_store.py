"""The stored log (R-L1..R-L4, R-L8) on SQLite and PostgreSQL, through migration 0002.

Uses the shared `engine` fixture: a fresh database migrated to head.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from chainlog import PayloadError, RangeError, VerificationError, merkle, store
from chainlog.chain import GENESIS_HASH, chain_hash
from chainlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from chainlog.keys import Signer

T0 = datetime(2026, 11, 23, 11, 37, 17, 123456, tzinfo=UTC)
ORIGIN = "registry.example/log"
SIGNER = Signer.from_seed(ORIGIN, bytes(range(32)))


def payload(i: int) -> dict:
    return {"serial": f"US-PC_P_PE_ARC-2026-{i:06d}", "quantity": f"{i}.500", "prev": None}


def fill(engine, n: int, per_tx: int = 10) -> list[store.Appended]:
    out = []
    for start in range(0, n, per_tx):
        with engine.begin() as conn:
            for i in range(start, min(n, start + per_tx)):
                out.append(store.append(conn, type="block.transferred", actor="user:1", payload=payload(i), time=T0))
    return out


def test_appended_entries_are_stored_as_hashed(engine):
    appended = fill(engine, 3)
    with engine.connect() as conn:
        assert store.size(conn) == 3
        got = store.entries(conn, 0, 10)
    prev = GENESIS_HASH
    for a, e in zip(appended, got, strict=True):
        assert (e.index, e.time, e.canonical, e.leaf_hash, e.entry_hash) == (a.index, a.time, a.canonical, a.leaf_hash, a.entry_hash)
        assert json.loads(e.canonical) == {"index": e.index, "time": e.time, "type": e.type, "actor": e.actor, "payload": e.payload}
        assert e.leaf_hash == merkle.leaf_hash(e.canonical.encode())
        prev = chain_hash(prev, e.canonical.encode())
        assert e.entry_hash == prev
    assert appended[1].time == "2026-11-23T11:37:17.123456Z"


def test_a_fetch_of_thousands_of_subtrees_in_one_call(engine):
    """A provenance of a long lineage asks for ~1,000+ stored subtrees at once; SQLite refuses an OR
    that deep, so the store must still answer (in chunks there) with every hash right."""
    from chainlog import tree

    n = 2600
    fill(engine, n, per_tx=200)
    with engine.connect() as conn:
        leaves = [e.leaf_hash for e in store.entries(conn, 0, n)]
        wanted = [(1, k) for k in range(n // 2)] + [(0, 0), (0, n - 1), (0, n)]  # (0, n): not in the log
        got = tree.fetch(conn, wanted)
    assert len(got) == n // 2 + 2
    assert got[(0, 0)] == leaves[0] and got[(0, n - 1)] == leaves[-1]
    assert all(got[(1, k)] == merkle.node_hash(leaves[2 * k], leaves[2 * k + 1]) for k in range(n // 2))


def test_every_root_and_proof_equals_the_pure_module(engine):
    n = 45
    fill(engine, n, per_tx=7)
    with engine.connect() as conn:
        leaves = [e.leaf_hash for e in store.entries(conn, 0, n)]
        for size in range(n + 1):
            assert store.root_at(conn, size) == merkle.root(leaves[:size])
            for index in range(size):
                assert store.inclusion_proof(conn, index, size) == merkle.inclusion_proof(leaves, index, size)
            for first in range(size + 1):
                assert store.consistency_proof(conn, first, size) == merkle.consistency_proof(leaves, first, size)


def test_stored_nodes_are_exactly_the_complete_subtrees(engine):
    fill(engine, 13)
    with engine.connect() as conn:
        leaves = [e.leaf_hash for e in store.entries(conn, 0, 13)]
        rows = {(r.level, r.index): bytes(r.hash) for r in conn.execute(sa.select(store.nodes_table))}
    expected = {
        (level, i): merkle.root(leaves[i << level : (i + 1) << level])
        for level in range(1, 4)
        for i in range(13 >> level)
    }
    assert rows == expected


def test_requests_beyond_the_log_are_refused(engine):
    fill(engine, 5)
    with engine.connect() as conn:
        for call in (
            lambda: store.root_at(conn, 6),
            lambda: store.inclusion_proof(conn, 5, 6),
            lambda: store.inclusion_proof(conn, 4, 6),
            lambda: store.inclusion_proof(conn, 5, 5),
            lambda: store.consistency_proof(conn, 2, 6),
            lambda: store.consistency_proof(conn, 0, 6),
            lambda: store.consistency_proof(conn, 4, 3),
            lambda: store.entries(conn, 3, 2),
            lambda: store.root_at(conn, -1),
        ):
            with pytest.raises(RangeError):
                call()
        assert store.entry(conn, 4).index == 4
        assert store.entry(conn, 5) is None
        assert [e.index for e in store.entries(conn, 3, 100)] == [3, 4]
        assert store.root_at(conn, 0) == merkle.EMPTY_ROOT


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"payload": {"quantity": 2.5}}, "R-U3"),
        ({"time": datetime(2026, 11, 23, 11, 37)}, "naive"),
        ({"type": ""}, "type"),
    ],
)
def test_bad_input_writes_nothing(engine, kwargs, match):
    args = {"type": "block.transferred", "actor": "user:1", "payload": {"q": "1.000"}, "time": T0, **kwargs}
    with engine.begin() as conn:
        with pytest.raises(PayloadError, match=match):
            store.append(conn, **args)
    with engine.connect() as conn:
        assert store.size(conn) == 0


def test_runs_in_the_callers_session_and_never_commits(engine):
    with Session(engine) as session:
        store.append(session, type="lot.registered", actor="user:1", payload={}, time=T0)
        assert store.size(session) == 1
        session.rollback()
    with Session(engine) as session:
        assert store.size(session) == 0
        store.append(session, type="lot.registered", actor="user:1", payload={}, time=T0)
        session.commit()
    with engine.connect() as conn:
        assert store.size(conn) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE log_entries SET actor = 'mallory'",
        "DELETE FROM log_entries",
        "UPDATE log_nodes SET hash = hash",
        "DELETE FROM log_nodes",
        "UPDATE log_checkpoints SET note = 'forged'",
        "DELETE FROM log_checkpoints",
    ],
)
def test_triggers_refuse_updates_and_deletes(engine, statement):
    fill(engine, 4)
    with engine.begin() as conn:
        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert store.size(conn) == 4 and store.latest_checkpoint(conn).size == 4


@pytest.mark.parametrize("table", ["log_entries", "log_nodes", "log_checkpoints"])
def test_truncate_is_refused_on_postgresql(pg_engine, table):
    fill(pg_engine, 4)
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        with pg_engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {table}"))


def test_checkpoints_are_signed_when_the_tree_grew_and_all_kept(engine):
    with engine.begin() as conn:
        empty = store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    assert empty.size == 0 and empty.root == merkle.EMPTY_ROOT
    fill(engine, 3)
    with engine.begin() as conn:
        first = store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
        again = store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    assert again == first and first.size == 3
    fill(engine, 4)  # 3 more... plus one: indexes 3..6 are new entries
    with engine.begin() as conn:
        second = store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
        kept = list(store.iter_checkpoints(conn))
        proof = store.consistency_proof(conn, first.size, second.size)
    assert [c.size for c in kept] == [0, 3, 7]
    cp = open_checkpoint(second.note, [SIGNER.verifier], origin=ORIGIN)
    assert (cp.size, cp.root) == (7, second.root) and second.checkpoint == cp
    merkle.verify_consistency(first.size, second.size, first.root, second.root, proof)
    assert second.time == "2026-11-23T11:37:17.123456Z"


def test_never_signs_a_checkpoint_inconsistent_with_the_last(engine):
    fill(engine, 6)
    with engine.begin() as conn:
        # A stored checkpoint whose root is not this log's root at size 4 (a fork).
        forged = sign_checkpoint(Checkpoint(ORIGIN, 4, bytes(32)), SIGNER)
        conn.execute(store.checkpoints_table.insert().values(size=4, root=bytes(32), note=forged, time="x"))
    with pytest.raises(VerificationError) as info:
        with engine.begin() as conn:
            store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    assert info.value.kind == "inconsistent_checkpoint"
    with engine.connect() as conn:
        assert store.latest_checkpoint(conn).size == 4


def test_the_origin_cannot_change(engine):
    fill(engine, 2)
    with engine.begin() as conn:
        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    fill(engine, 1)
    with pytest.raises(VerificationError):
        with engine.begin() as conn:
            store.sign_checkpoint(conn, SIGNER, "other.example/log", T0)

"""R-X6: a read holds no lock that a write waits on (issue 16, finding 2).

A provenance read of a long lineage is stopped in the middle — after its
checkpoint and lineage walk, at the query that reads its inclusion proofs —
and held there while another thread transfers from the same block. The
transfer must commit while the read is still held open; a read that held the
log's append lock (PostgreSQL) or the database's write lock (SQLite) would
keep the transfer waiting until the read gave up. Event-driven, no timing
assertion: the read waits up to ``HOLD_SECONDS`` for the write.
"""

from __future__ import annotations

import threading

from sqlalchemy import event

from tests.api.lineage import long_lineage
from tests.threads import Worker, finish, wait_until

HOLD_SECONDS = 30


def _held_read(app, engine, path: str, statement_marker: str):
    """Run GET `path` in a worker thread, stopping it at its first SQL statement
    containing `statement_marker` until `release` is set (or HOLD_SECONDS pass)."""
    paused, release, outcome = threading.Event(), threading.Event(), {}

    def hold(_conn, _cursor, statement, *_args):
        if threading.current_thread() is reader and statement_marker in statement and not paused.is_set():
            paused.set()
            outcome["released_in_time"] = release.wait(HOLD_SECONDS)

    def read():
        outcome["response"] = app.test_client().get(path)

    event.listen(engine, "after_cursor_execute", hold)
    reader = Worker(read, name="provenance-reader")
    reader.start()
    return reader, paused, release, outcome, lambda: event.remove(engine, "after_cursor_execute", hold)


def _transfer(app, token: str, serial: str, to: int, done: threading.Event, result: dict):
    response = app.test_client().post("/api/v1/transfers", json={
        "serial": serial, "quantity": "0.001", "to_participant_id": to}, headers={"Authorization": f"Bearer {token}"})
    result["status"], result["body"] = response.status_code, response.get_data(as_text=True)
    done.set()


def test_a_transfer_commits_while_a_provenance_read_is_in_progress(app, driver, engine):
    h = long_lineage(driver, 40)
    # The read signs the checkpoint it needs (the tree grew with the transfers), walks, then pauses.
    reader, paused, release, outcome, unhook = _held_read(
        app, engine, f"/api/v1/blocks/{h['serial']}/provenance", "log_nodes")
    try:
        wait_until(paused.is_set, timeout=60, what="the read to reach its inclusion proofs", workers=[reader])
        done, result = threading.Event(), {}
        writer = Worker(_transfer, app, h["gen"].token, h["serial"], h["buyer"], done, result, name="writer")
        writer.start()
        # The write must finish while the read is still held open.
        wait_until(lambda: done.is_set() or not reader.is_alive() or outcome.get("released_in_time") is False,
                   timeout=HOLD_SECONDS + 60, what="the transfer", workers=[writer])
        assert done.is_set() and "released_in_time" not in outcome, \
            "the transfer waited for the provenance read to end: the read holds a lock a write needs (R-X6)"
        release.set()
        finish([reader, writer], timeout=60)
    finally:
        release.set()
        unhook()
    assert result["status"] == 201, result["body"]
    assert outcome["released_in_time"] is True
    proof = outcome["response"].get_json()
    assert outcome["response"].status_code == 200 and len(proof["entries"]) == 42
    # The read served the lineage as of its checkpoint, which does not hold the transfer made meanwhile.
    moved_at = driver.get(f"/blocks/{h['serial']}/provenance").get_json()["entries"][-1]["index"]
    assert int(proof["checkpoint"].splitlines()[1]) <= moved_at


def test_a_transfer_commits_while_a_checkpoint_read_is_in_progress(app, driver, engine):
    """GET /log/checkpoint signs when the tree grew: held just after reading the
    stored checkpoints, it must not keep a write waiting either."""
    h = long_lineage(driver, 2)
    reader, paused, release, outcome, unhook = _held_read(app, engine, "/api/v1/log/checkpoint", "log_checkpoints")
    try:
        wait_until(paused.is_set, timeout=60, what="the checkpoint read", workers=[reader])
        done, result = threading.Event(), {}
        writer = Worker(_transfer, app, h["gen"].token, h["serial"], h["buyer"], done, result, name="writer")
        writer.start()
        wait_until(lambda: done.is_set() or not reader.is_alive(), timeout=HOLD_SECONDS + 60, what="the transfer",
                   workers=[writer])
        assert done.is_set() and "released_in_time" not in outcome, \
            "the transfer waited for the checkpoint read to end (R-L4b, R-X6)"
        release.set()
        finish([reader, writer], timeout=60)
    finally:
        release.set()
        unhook()
    assert result["status"] == 201, result["body"]
    assert outcome["response"].status_code == 200

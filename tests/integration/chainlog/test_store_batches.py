"""chainlog reads a log of more than one batch (5 000 entries) in batches,
every entry once and in order, on SQLite and PostgreSQL (issue 21, item 2):
`store.iter_entries` and `export.write_export`, checked by reading back."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import sqlalchemy as sa

from chainlog import export, store
from chainlog.keys import Signer
from chainlog.verify import verify_export

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ORIGIN = "registry.example/log"
SIGNER = Signer.from_seed(ORIGIN, bytes(range(32)))
BATCH = 5000
N = 2 * BATCH + 1  # two full batches and one entry more


def _fill(engine, n: int, per_tx: int = 1000) -> None:
    for start in range(0, n, per_tx):
        with engine.begin() as conn:
            for i in range(start, min(n, start + per_tx)):
                store.append(conn, type="note.test", actor="system", payload={"n": i}, time=T0)
    with engine.begin() as conn:
        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)


class _Reads:
    """Counts the SELECTs that read entry rows (the batches)."""

    def __init__(self, engine) -> None:
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        flat = " ".join(statement.split()).lower()
        if flat.startswith("select") and "canonical" in flat and "from log_entries" in flat:
            self.count += 1


def test_a_long_log_is_read_and_exported_in_batches(engine):
    """One log of 10 001 entries (filled once: slow on PostgreSQL), read twice."""
    _fill(engine, N)
    with engine.connect() as conn, _Reads(engine) as reads:
        seen = [(e.index, e.payload["n"]) for e in store.iter_entries(conn)]
    assert seen == [(i, i) for i in range(N)]
    assert reads.count == N // BATCH + 1  # 0-5000, 5000-10000, 10000-10001: never all at once

    out = io.StringIO()
    with engine.connect() as conn, _Reads(engine) as reads:
        entries, checkpoints = export.write_export(conn, out)
    assert (entries, checkpoints) == (N, 1)
    assert reads.count == N // BATCH + 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["index"] for line in lines if "index" in line] == list(range(N))
    result = verify_export(io.StringIO(out.getvalue()), [SIGNER.verifier])
    assert (result.size, result.checkpoints, result.signed_size) == (N, 1, N)

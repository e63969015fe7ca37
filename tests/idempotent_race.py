"""R-T5 under concurrency, shared by the test-client (SQLite and PostgreSQL)
and real-server (PostgreSQL) tests: simultaneous identical POST /transfers
with one Idempotency-Key all return the first result; the key with another
body is 422 ``idempotency_key_reused``.

Issue 16, finding 3: before the retries waited for the first request, two of
three simultaneous retries answered 422 ``block_not_active`` in 19 of 20
trials — a client told that a transfer failed when it had succeeded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.threads import Problems, Worker, finish

TRIALS = 20
SIMULTANEOUS = 3

# post(body, key) -> (HTTP status, JSON body, replayed?)
Post = Callable[[dict, str], tuple[int, dict, bool]]


def run_trials(post: Post, serial: str, recipient: int, tag: str) -> str:
    """TRIALS trials of SIMULTANEOUS identical transfers of 1 from ``serial``
    (following the remainder); returns the last remainder's serial."""
    for trial in range(TRIALS):
        key = f"{tag}-retry-{trial}"
        body = {"serial": serial, "quantity": "1", "to_participant_id": recipient}
        barrier = threading.Barrier(SIMULTANEOUS)
        problems = Problems()
        answers: list[tuple[int, dict, bool]] = []
        lock = threading.Lock()

        def attempt() -> None:
            barrier.wait(timeout=30)
            answer = post(body, key)
            with lock:
                answers.append(answer)

        workers = [Worker(attempt, name=f"trial-{trial}-{n}") for n in range(SIMULTANEOUS)]
        for worker in workers:
            worker.start()
        finish(workers, timeout=60, problems=problems)

        statuses = sorted(status for status, _, _ in answers)
        assert statuses == [201] * SIMULTANEOUS, f"trial {trial}: {answers}"
        first = answers[0][1]
        assert all(answer == first for _, answer, _ in answers), f"trial {trial}: {answers}"
        assert sorted(replayed for _, _, replayed in answers) == [False] + [True] * (SIMULTANEOUS - 1), answers
        # The same key with another body stays a 422.
        status, other, _ = post({**body, "quantity": "2"}, key)
        assert (status, other.get("code")) == (422, "idempotency_key_reused"), other
        serial = first["remainder"]["serial"]
    return serial

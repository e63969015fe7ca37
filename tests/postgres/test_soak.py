"""Soak with faults (issue 8): `arcreg serve --workers 4` on a fresh PostgreSQL
database, client threads transferring (whole and partial), retiring and
reading, while the daily expiry job runs again and again on days that make two
vintages expire mid-soak, one gunicorn worker is SIGKILLed now and then and
random server connections are cut with pg_terminate_backend.

Afterwards: no 5xx beyond the connections cut (each cut fails at most the one
request using it); every write that failed was retried with its
Idempotency-Key until it got a definite answer, and the log holds exactly one
entry per success the clients saw (nothing lost, nothing applied twice, R-T5,
R-X3); `arcreg verify` exits 0 (R-L7); supply is conserved per ARC type and
vintage, in the tables and in the log (issued = active + retired + expired +
forfeited + cancelled).

The soak moves through three phases on events, not on the wall clock: the
daily jobs run days of 2027 until the clients have written (transfers
and retirements confirmed), then days from 1 January 2028 until the 2026
vintage has expired and a client write has landed after it, then days from
1 January 2029 until the 2027 vintage has expired and enough faults have hit
the server. Each phase also lasts at least its share of
``ARCREG_SOAK_SECONDS`` (default 70) -- a soak length, not an assertion; set
it higher for a longer soak. A phase that does not reach its condition within
a generous timeout fails the test with what was seen. Every client, fault
and job thread's exception, and every unexpected HTTP answer, fails the test
(tests/threads.py). Throughput is measured in bench/, not here.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.client import HTTPException
from pathlib import Path

from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlmodel import select

import chainlog.store
from chainlog.schema import entries as log_entries
from registry import jobs
from registry.clock import FrozenClock
from registry.db import session_factory
from registry.models import Block, Retirement
from tests.api.driver import t
from tests.serverproc import ARCREG, clean_env, serving
from tests.threads import Problems, Worker, finish, wait_until

SECONDS = float(os.environ.get("ARCREG_SOAK_SECONDS", "70"))
PHASE_SHARES = (0.3, 0.5, 0.2)  # the minimum length of each phase, as shares of SECONDS
PHASE_TIMEOUT = 300.0  # beyond its minimum length: a phase not done by then fails the test
# What phase 0 waits for before anything expires: writes of both kinds confirmed.
WRITES_BEFORE_EXPIRY = {"transfer": 10, "retirement": 3}
FAULTS = {"workers killed": 3, "connections cut": 3}  # at least these many during the soak
CLIENTS = 8
SERVER_CLOCK = "2027-12-31T12:00:00Z"  # both vintages (2026, 2027) still in their use period (R-E1)
APP_NAME = "arcreg-soak-server"  # marks the server's connections, the ones the faults cut
# The purge of Idempotency-Key records is left out: the job's clock runs up to a
# year ahead of the server's, so it would (rightly) forget the keys the clients retry with.
SOAK_JOBS = tuple(job for job in jobs.JOBS if job.name != "idempotency-purge")
# The refusals a racing write may meet, each with its one HTTP status: another client moved
# the block first, or the expiry job expired it.
WRITE_CODES = {"block_not_active": 422, "insufficient_quantity": 422, "not_owner": 403, "block_not_found": 404}


# --- the registry before the soak -------------------------------------------------------------------


def _vintage(driver, gen, year: int, blocks: int) -> None:
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10 * blocks),
                     processed_on=f"{year}-02-01")
    driver.sell(gen.token, lot["id"], t(10 * blocks), on=f"{year}-02-15")
    for _ in range(blocks):
        driver.generate(gen.token, lot["id"], mass=t(10))


def _scenario(driver, clock) -> dict[int, str]:
    """A generator with six 10-certificate blocks of 2026 and six of 2027, two
    brands and a reserve holder with a block of each; {participant id: member
    token} of those the clients act for (not the reserve)."""
    gen = driver.generator()
    _vintage(driver, gen, 2026, 6)
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    driver.determination(gen.certifier, gen.facility_id, certification_year=2027)
    _vintage(driver, gen, 2027, 6)
    tokens = {gen.id: gen.token}
    # A holder no client acts for keeps one block of each vintage, so each vintage still has
    # certificates to expire however fast the clients retire theirs.
    reserve = driver.participant("Reserve Holder")["id"]
    for name in ("Brand One", "Brand Two", None):
        brand = driver.participant(name)["id"] if name else reserve
        if name:
            tokens[brand] = driver.member(brand)
        for year in (2026, 2027):
            held = driver.get(f"/blocks?owner={gen.id}&state=active&year={year}", gen.token).get_json()["items"]
            driver.ok("/transfers", {"serial": held[0]["serial"], "quantity": held[0]["quantity"],
                                     "to_participant_id": brand}, gen.token)
    return tokens


# --- HTTP with faults ---------------------------------------------------------------------------------


class Unreachable(Exception):
    """The connection failed (a killed worker): no HTTP answer at all."""


def _http(method: str, url: str, body=None, token=None, key=None, timeout=20) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except (OSError, HTTPException) as error:  # reset, refused, timed out, incomplete
        raise Unreachable(repr(error)) from None


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)  # every HTTP answer, retries included
    unreachable: int = 0
    outcomes: Counter = field(default_factory=Counter)  # one per logical operation
    transfer_ids: list = field(default_factory=list)
    retirement_indexes: list = field(default_factory=list)
    retried_writes: int = 0
    replayed: int = 0
    problems: Problems = field(default_factory=Problems)  # undecided writes, unexpected answers

    def answer(self, status: int) -> None:
        with self.lock:
            self.statuses[status] += 1

    def lost(self) -> None:
        with self.lock:
            self.unreachable += 1


def _write(tally: Tally, base: str, path: str, body: dict, token: str) -> tuple[int, dict] | None:
    """POST with an Idempotency-Key, retried with the same key after a lost
    connection or a 5xx until a definite answer; None if none came."""
    key = str(uuid.uuid4())
    for attempt in range(40):
        try:
            status, headers, raw = _http("POST", base + path, body, token, key)
        except Unreachable:
            tally.lost()
        else:
            tally.answer(status)
            if status < 500:
                with tally.lock:
                    tally.retried_writes += attempt > 0
                    tally.replayed += headers.get("Idempotent-Replayed") == "true"
                return status, json.loads(raw) if raw else {}
        time.sleep(min(0.1 * (attempt + 1), 1.0))
    tally.problems.add(f"undecided write, no definite answer after 40 attempts: POST {path} {body}")
    return None


def _read(tally: Tally, base: str, path: str, token: str | None = None) -> tuple[int, bytes] | None:
    try:
        status, _, raw = _http("GET", base + path, token=token)
    except Unreachable:
        tally.lost()
        return None
    tally.answer(status)
    return status, raw


def _client(number: int, base: str, me: int, token: str, others: list[int], tally: Tally, stop: threading.Event):
    rng = random.Random(number)
    known: list[str] = []
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.5:
            path = rng.choice([f"/api/v1/participants/{me}/holdings", "/api/v1/log/checkpoint",
                               *(f"/api/v1/blocks/{s}/provenance" for s in known[-3:]),
                               *(f"/api/v1/blocks/{s}" for s in known[-3:])])
            answer = _read(tally, base, path, token)
            if answer is not None and answer[0] < 500:  # a 5xx is a cut connection: counted, bounded below
                tally.problems.status(f"GET {path}", answer[0], {200}, answer[1])
            continue
        path = f"/api/v1/blocks?owner={me}&state=active&limit=100"
        answer = _read(tally, base, path, token)
        if answer is None or answer[0] >= 500:
            continue
        if not tally.problems.status(f"GET {path}", answer[0], {200}, answer[1]):
            continue
        held = json.loads(answer[1])["items"]
        if not held:
            time.sleep(0.05)
            continue
        block = rng.choice(held)
        known.append(block["serial"])
        quantity = Decimal(block["quantity"])
        if roll < 0.8:
            if rng.random() >= 0.25 and quantity > Decimal("0.001"):  # partial: splits the block (R-T2)
                quantity = Decimal(rng.randint(1, int(quantity * 1000) - 1)) / 1000
            result = _write(tally, base, "/api/v1/transfers", {
                "serial": block["serial"], "quantity": str(quantity), "to_participant_id": rng.choice(others)}, token)
            kind = "transfer"
        else:
            # Small retirements: the clients must not retire the whole supply before the expiry
            # phases (a fast machine did, with 0.1-2 per retirement), or no write follows an expiry.
            quantity = min(quantity, Decimal(rng.randint(1, 50)) / 1000)
            result = _write(tally, base, "/api/v1/retirements", {
                "serial": block["serial"], "quantity": str(quantity), "beneficiary": "Brand Co",
                "claim_type": "general", "reporting_year": 2027}, token)
            kind = "retirement"
        if result is None:
            continue
        status, body = result
        with tally.lock:
            if status == 201:
                tally.outcomes[f"{kind} 201"] += 1
                if kind == "transfer":
                    tally.transfer_ids.append(body["id"])
                else:
                    tally.retirement_indexes.append(body["log"]["index"])
            elif WRITE_CODES.get(body.get("code")) == status:
                tally.outcomes[f"{kind} {body['code']}"] += 1
            else:
                tally.problems.add(f"{kind}: HTTP {status} {body}")


# --- faults and jobs ----------------------------------------------------------------------------------


def _workers(arbiter: int) -> list[int]:
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def _faults(process, engine, stop: threading.Event, counts: Counter) -> None:
    """Every 2–5 s, alternately: SIGKILL one gunicorn worker (the arbiter
    starts another), or cut one or two of the server's database connections."""
    rng = random.Random(8)
    turn = 0
    while not stop.wait(rng.uniform(2.0, 5.0)):
        if turn % 2 == 0:
            workers = _workers(process.pid)
            if workers:
                try:
                    os.kill(rng.choice(workers), signal.SIGKILL)
                except ProcessLookupError:
                    pass  # it was already gone (reaped since listed): not counted
                else:
                    counts["workers killed"] += 1
        else:
            with engine.connect() as connection:
                pids = connection.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :name"), {"name": APP_NAME}).scalars().all()
                for pid in rng.sample(pids, min(len(pids), rng.randint(1, 2))):
                    counts["connections cut"] += bool(connection.execute(
                        text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar())
                connection.commit()
        turn += 1


# The first day of each phase's job runs, and the day before which it must stop (the
# server's own scheduler runs the jobs for its day, 31 December 2027, at start-up).
PHASE_DAYS = (date(2027, 1, 1), date(2028, 1, 1), date(2029, 1, 1))
PHASE_ENDS = (date(2027, 12, 31), date(2029, 1, 1), date(2030, 1, 1))


def _job_days(phase: list[int]):
    """Distinct days (each a real run: a day's job runs once) from the first
    day of the current phase: 2027 (nothing to expire), from 1 January 2028
    (the 2026 vintage expires, R-E1), from 1 January 2029 (the 2027 vintage
    expires); None once a phase has run out of days (no run then)."""
    counters = Counter()
    while True:
        first = PHASE_DAYS[phase[0]]
        day = first + timedelta(days=counters[first])
        if day >= PHASE_ENDS[phase[0]]:
            yield None
            continue
        yield day
        counters[first] += 1


def _jobs(engine, stop: threading.Event, runs: list, phase: list[int], problems: Problems) -> None:
    sessions = session_factory(engine)
    days = _job_days(phase)
    while not stop.wait(1.5):
        day = next(days)
        if day is None:
            continue
        clock = FrozenClock(datetime(day.year, day.month, day.day, 0, 0, 30, tzinfo=UTC))
        results = jobs.run_daily_jobs(sessions, clock, SOAK_JOBS)
        runs.append((day, results))
        if any(result["status"] != "ran" for result in results.values()):
            problems.add(f"daily jobs of {day}: {results}")


# --- the checks afterwards ------------------------------------------------------------------------------


def _replay_log(entries) -> tuple[dict, dict]:
    """From the log alone: issued per (type, year), and each block's last state."""
    issued: dict = defaultdict(Decimal)
    blocks: dict = {}
    for entry in entries:
        payload = entry.payload
        if entry.type == "block.generated":
            issued[payload["arc_type"], payload["generation_year"]] += Decimal(payload["quantity"])
            blocks[payload["serial"]] = payload
        elif entry.type in ("block.transferred", "block.retired"):
            parts = [payload["moved" if entry.type == "block.transferred" else "retired"], payload["remainder"]]
            parts = [p for p in parts if p is not None]
            if all(p["serial"] != payload["parent"] for p in parts):
                blocks[payload["parent"]] = {**blocks[payload["parent"]], "state": "split"}
            for part in parts:
                blocks[part["serial"]] = part
        elif entry.type in ("block.expired", "block.forfeited", "block.cancelled"):
            blocks[payload["serial"]] = payload
    return issued, blocks


def _supply(rows) -> dict:
    totals: dict = defaultdict(lambda: defaultdict(Decimal))
    for arc_type, year, state, quantity in rows:
        if state != "split":
            totals[arc_type, year][state] += quantity
    return {k: dict(v) for k, v in totals.items()}


def _assert_conserved(engine) -> tuple[dict, list]:
    with session_factory(engine)() as session:
        blocks = list(session.exec(select(Block)))
        entries = list(chainlog.store.iter_entries(session))
        retirements = list(session.exec(select(Retirement)))
    issued_tables: dict = defaultdict(Decimal)
    for b in blocks:
        if b.parent_serial is None:  # as generated: splits and moves never change a root's quantity
            issued_tables[b.arc_type, b.generation_year] += b.quantity
    tables = _supply((b.arc_type, b.generation_year, b.state, b.quantity) for b in blocks)
    issued_log, replayed = _replay_log(entries)
    log = _supply((p["arc_type"], p["generation_year"], p["state"], Decimal(p["quantity"]))
                  for p in replayed.values())
    assert dict(issued_tables) == dict(issued_log)
    assert tables == log, (tables, log)
    for key, states in tables.items():
        assert sum(states.values()) == issued_tables[key], (key, states)  # nothing created or lost
        retired = sum((r.quantity for r in retirements if (r.arc_type, r.generation_year) == key), Decimal(0))
        assert states.get("retired", Decimal(0)) == retired
    assert {b.serial: (b.state, b.quantity, b.owner_id) for b in blocks} == {
        s: (p["state"], Decimal(p["quantity"]), p["owner"]) for s, p in replayed.items()}
    return tables, entries


def _expired_on_or_after(runs: list, first_day: date) -> int:
    """Blocks expired by the job runs of ``first_day`` and later."""
    return sum(results["expiry"].get("expired", 0) for day, results in list(runs) if day >= first_day)


def _first_entry(engine, type_: str) -> int | None:
    with engine.connect() as connection:
        return connection.execute(
            sa_select(func.min(log_entries.c.index)).where(log_entries.c.type == type_)).scalar()


def test_soak_with_faults(pg_driver, pg_clock, pg_wide_engine, pg_url, tmp_path):
    tokens = _scenario(pg_driver, pg_clock)
    with session_factory(pg_wide_engine)() as session:
        soak_starts_at = sum(1 for _ in chainlog.store.iter_entries(session))
    env = {"ARCREG_DATABASE_URL": f"{pg_url}?application_name={APP_NAME}", "ARCREG_CLOCK": SERVER_CLOCK,
           "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}
    tally, faults, runs, phase = Tally(), Counter(), [], [0]
    stop_clients, stop_helpers = threading.Event(), threading.Event()
    problems = tally.problems

    def confirmed() -> tuple[list[int], list[int]]:
        with tally.lock:
            return list(tally.transfer_ids), list(tally.retirement_indexes)

    def seen() -> str:
        transfers, retirements = confirmed()
        return (f"phase {phase[0]}: {len(transfers)} transfers and {len(retirements)} retirements confirmed, "
                f"answers {dict(tally.statuses)}, {tally.unreachable} lost connections, faults {dict(faults)}, "
                f"{len(runs)} job runs, last {runs[-1] if runs else None}")

    with serving(tmp_path, env, workers=4, log_path=tmp_path / "server.log") as (base, process):
        start = time.monotonic()
        helpers = [Worker(_faults, process, pg_wide_engine, stop_helpers, faults, name="faults"),
                   Worker(_jobs, pg_wide_engine, stop_helpers, runs, phase, problems, name="jobs")]
        participants = list(tokens)
        clients = [Worker(_client, n, base, participants[n % 3], tokens[participants[n % 3]],
                          [p for p in participants if p != participants[n % 3]], tally, stop_clients,
                          name=f"client-{n}") for n in range(CLIENTS)]
        threads = helpers + clients
        try:
            for thread in threads:
                thread.start()

            def phase_done(share: float, condition) -> bool:
                return time.monotonic() - phase_started >= share * SECONDS and condition()

            def wait_phase(number: int, what: str, condition) -> None:
                wait_until(lambda: phase_done(PHASE_SHARES[number], condition),
                           timeout=PHASE_SHARES[number] * SECONDS + PHASE_TIMEOUT, what=what, seen=seen,
                           workers=threads, problems=problems, poll=0.2)

            # Phase 0, days of 2027: the clients write (both kinds) before anything expires.
            phase_started = time.monotonic()
            wait_phase(0, f"writes before any expiry ({WRITES_BEFORE_EXPIRY}) and a 2027 job run", lambda: (
                len(confirmed()[0]) >= WRITES_BEFORE_EXPIRY["transfer"]
                and len(confirmed()[1]) >= WRITES_BEFORE_EXPIRY["retirement"]
                and any(day < PHASE_DAYS[1] for day, _ in list(runs))))

            # Phase 1, from 1 January 2028: the 2026 vintage expires, and the clients go on
            # writing (the 2027 vintage) after it.
            phase[0], phase_started = 1, time.monotonic()

            def written_after_first_expiry() -> bool:
                if not _expired_on_or_after(runs, PHASE_DAYS[1]):
                    return False
                first_expired = _first_entry(pg_wide_engine, "block.expired")
                return max(sum(confirmed(), []), default=-1) > first_expired

            wait_phase(1, "the 2026 vintage to expire and a client write confirmed after it",
                       written_after_first_expiry)

            # Phase 2, from 1 January 2029: the 2027 vintage expires; the faults go on until
            # they have hit often enough.
            phase[0], phase_started = 2, time.monotonic()
            wait_phase(2, f"the 2027 vintage to expire and faults {FAULTS}", lambda: (
                _expired_on_or_after(runs, PHASE_DAYS[2]) > 0
                and all(faults[kind] >= n for kind, n in FAULTS.items())))
        finally:
            stop_clients.set()
            stop_helpers.set()
        finish(threads, timeout=120, problems=problems)
        elapsed = time.monotonic() - start

    summary = (f"soak {elapsed:.0f} s: {sum(tally.statuses.values())} answers {dict(tally.statuses)}, "
               f"{tally.unreachable} lost connections, faults {dict(faults)}, outcomes {dict(tally.outcomes)}, "
               f"{tally.retried_writes} writes decided on a retry ({tally.replayed} replayed), "
               f"{len(runs)} job runs")
    print(summary)
    assert all(faults[kind] >= n for kind, n in FAULTS.items()), summary
    # Only the cut connections may have failed requests, at most one each (R-X3).
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    assert {s for s in tally.statuses if s >= 500} <= {500}, summary
    assert server_errors <= faults["connections cut"], summary
    assert runs and all(result["status"] == "ran" for _, day_runs in runs for result in day_runs.values()), runs

    verified = subprocess.run([ARCREG, "verify"], check=False, cwd=tmp_path, env=clean_env(**env), capture_output=True,
                              text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    tables, entries = _assert_conserved(pg_wide_engine)
    soak = [e for e in entries if e.index >= soak_starts_at]
    # Exactly one entry per success the clients saw: none lost, none applied twice.
    transferred = sorted(e.index for e in soak if e.type == "block.transferred")
    retired = sorted(e.index for e in soak if e.type == "block.retired")
    assert sorted(tally.transfer_ids) == transferred and sorted(tally.retirement_indexes) == retired
    assert len(transferred) >= WRITES_BEFORE_EXPIRY["transfer"], summary
    assert len(retired) >= WRITES_BEFORE_EXPIRY["retirement"], summary
    # Both vintages expired during the soak, with writes before and after.
    expired = [e for e in soak if e.type == "block.expired"]
    assert {e.payload["generation_year"] for e in expired} == {2026, 2027}
    assert min(transferred) < min(e.index for e in expired) < max(transferred + retired)
    assert all(set(states) <= {"retired", "expired"} for states in tables.values()), tables

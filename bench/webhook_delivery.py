"""Benchmark: webhook delivery (R-N1; issue 18).

    .venv/bin/python bench/webhook_delivery.py --db sqlite
    .venv/bin/python bench/webhook_delivery.py --db postgresql \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

1. Builds a registry through the API (in-process app, frozen registry clock):
   a certified reprocessor, a brand with one webhook endpoint at a real HTTP
   receiver on 127.0.0.1 (answers 204 at once), and one block to move.
2. Throughput: --events events written to the outbox (``events.emit``, one
   transaction), then delivery passes (the worker's own code: claim, sign with
   ``standardwebhooks``, POST, record) until every one is delivered -> events/s.
3. Delay: the delivery worker thread runs (as in ``arcreg serve``: a 0.2 s
   turn) while a client makes --rate transfers/s to the brand for --seconds;
   for each transfer, the time from its 201 answer (the commit is before it)
   to the receiver getting its ``transfer.received`` -> p50/p99.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from api import create_app  # noqa: E402
from registry.clock import FrozenClock  # noqa: E402
from registry.config import Config  # noqa: E402
from registry.db import UnitOfWork, make_engine, session_factory  # noqa: E402
from registry.migrate import upgrade  # noqa: E402
from registry.notifications.delivery import deliver_pass  # noqa: E402
from registry.notifications.events import TRANSFER_RECEIVED, emit  # noqa: E402
from registry.notifications.worker import DeliveryWorker  # noqa: E402
from tests.api.driver import Driver, bootstrap_admin, t  # noqa: E402
from tests.conftest import NOW  # noqa: E402

RECEIVER = Path(__file__).with_name("_webhook_receiver.py")


class Receiver:
    """The receiver process and what it has written down."""

    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / "received.jsonl"
        self.process = subprocess.Popen([sys.executable, str(RECEIVER), str(self.path)], stdout=subprocess.PIPE,
                                        text=True)
        self.url = self.process.stdout.readline().strip()

    skip = 0

    def received(self) -> list[dict]:
        if not self.path.exists():
            return []
        lines = [line for line in self.path.read_text().splitlines() if line.endswith("}")]
        return [json.loads(line) for line in lines[self.skip:]]

    def clear(self) -> None:
        self.skip += len(self.received())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(url: str, events: int, rate: float, seconds: float) -> dict:
    engine = make_engine(url, pool_size=10) if url.startswith("postgresql") else make_engine(url)
    upgrade(engine)
    clock = FrozenClock(NOW)
    with tempfile.TemporaryDirectory() as keys:
        config = Config(database_url=url, signing_key_file=Path(keys) / "key.pem", rate_limit="off",
                        read_rate_limit="off", webhooks_allow_loopback=True, token_max_lifetime_days=36500)
        app = create_app(config, clock=clock, engine=engine)
        driver = Driver(app.test_client(), bootstrap_admin(engine, clock))
        receiver = Receiver(keys)
        try:
            gen = driver.generator()
            brand = driver.participant("Brand Co")["id"]
            token = driver.member(brand)
            driver.ok("/webhooks", {"url": receiver.url, "events": [TRANSFER_RECEIVED]}, token)
            lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(1000))
            driver.sell(gen.token, lot["id"], t(1000))
            serial = driver.generate(gen.token, lot["id"])["serial"]
            sessions = session_factory(engine)

            # -- throughput -------------------------------------------------------
            with UnitOfWork(sessions, clock) as uow:
                for i in range(events):
                    emit(uow, brand, TRANSFER_RECEIVED, {"n": i, "bench": True})
                uow.commit()
            started = time.perf_counter()
            delivered = 0
            while delivered < events:
                delivered += deliver_pass(sessions, clock, timeout=5, allow_loopback=True).delivered
            throughput = events / (time.perf_counter() - started)
            assert len(receiver.received()) == events

            # -- delay under a steady write rate ------------------------------------
            receiver.clear()
            worker = DeliveryWorker(engine, clock, timeout=5, allow_loopback=True).start()
            committed = {}
            interval, count = 1 / rate, int(rate * seconds)
            begin = time.perf_counter()
            for i in range(count):
                pause = begin + i * interval - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                response = driver.post("/transfers", {"serial": serial, "quantity": "0.001",
                                                      "to_participant_id": brand}, gen.token)
                assert response.status_code == 201, response.get_data(as_text=True)
                body = response.get_json()
                committed[body["moved"]["serial"]] = time.time()
                serial = body["remainder"]["serial"]
            achieved = count / (time.perf_counter() - begin)
            deadline = time.monotonic() + 60
            while len(receiver.received()) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            worker.stop()
            arrived = {r["serial"]: r["at"] for r in receiver.received()}
            delays = [arrived[s] - at for s, at in committed.items() if s in arrived]
            assert len(delays) == count, f"{len(delays)} of {count} delivered"
            return {"events": events, "throughput": throughput, "transfers": count, "rate": achieved,
                    "p50_ms": 1000 * percentile(delays, 50), "p99_ms": 1000 * percentile(delays, 99),
                    "max_ms": 1000 * max(delays), "mean_ms": 1000 * statistics.mean(delays)}
        finally:
            receiver.stop()
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            result = run(f"sqlite:///{directory}/bench.db", args.events, args.rate, args.seconds)
    else:
        name = f"arcreg_bench_hooks_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            result = run(url, args.events, args.rate, args.seconds)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"database: {args.db}")
    print(f"throughput: {result['events']} events delivered at {result['throughput']:.0f} events/s")
    print(f"delay from commit to delivery, {result['transfers']} transfers at {result['rate']:.1f}/s: "
          f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, max {result['max_ms']:.0f} ms, "
          f"mean {result['mean_ms']:.0f} ms")


if __name__ == "__main__":
    main()

"""Benchmark: generations per second through the services, in one process.

    .venv/bin/python bench/generation_rate.py --db sqlite --generations 400 --repeat 3
    .venv/bin/python bench/generation_rate.py --db postgresql --generations 400 --repeat 3

Builds a registry through the services (bench/_fixtures.py: one certified
reprocessor with an additional facility, lots of 5,000 t sold whole), then
times --generations calls of `registry.generation.generate`, 1 t each, round
robin over the lots, one transaction each (what `POST /generations` commits):
the cost of every R-G1 check, the lot account (R-B4), the additionality
ceiling (R-A8, R-A9), the serial range and the log entry. Prints the median
rate over --repeat fresh registries.

It runs the `registry` of the tree it lives in, so the same script copied into
a checkout of an older commit measures that commit (docs/performance.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, text  # noqa: E402

from _fixtures import START, certified_reprocessor, sold_lot, staff, tonnes  # noqa: E402
from registry import generation  # noqa: E402
from registry.clock import FrozenClock  # noqa: E402
from registry.db import UnitOfWork, make_engine, session_factory  # noqa: E402
from registry.migrate import upgrade  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _database(kind: str, directory: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{directory / f'gen-{uuid.uuid4().hex}.db'}", lambda: None
    name = f"arcreg_bench_gen_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_SERVER.rsplit("/", 1)[0] + f"/{name}", drop


def run_once(kind: str, generations: int, lots_count: int, directory: Path) -> tuple[float, float]:
    """(generations per second of wall time, this process's CPU ms per generation)."""
    url, drop = _database(kind, directory)
    engine = make_engine(url)
    try:
        upgrade(engine)
        clock = FrozenClock(START)
        sessions = session_factory(engine)
        with UnitOfWork(sessions, clock) as uow:
            admin, _token, certifier = staff(uow)
            g = certified_reprocessor(uow, admin, certifier, 1, clock.today())
            lot_ids = [sold_lot(uow, g, f"LOT-{n}", clock.today()) for n in range(lots_count)]
            uow.commit()
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(generations):
            with UnitOfWork(sessions, clock) as uow:
                generation.generate(uow, g["actor"], lot_id=lot_ids[n % lots_count], mass=tonnes(1))
                uow.commit()
        return (generations / (time.perf_counter() - started),
                (time.process_time() - cpu) * 1000 / generations)
    finally:
        engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--generations", type=int, default=400)
    parser.add_argument("--lots", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        runs = [run_once(args.db, args.generations, args.lots, Path(directory)) for _ in range(args.repeat)]
    rates, cpus = [r for r, _ in runs], [c for _, c in runs]
    print(f"registry: {Path(generation.__file__).resolve().parents[1]}")
    print(f"{args.db}: {statistics.median(rates):.1f} generations/s, {statistics.median(cpus):.2f} ms CPU each "
          f"(medians of {args.repeat}; rates {', '.join(f'{r:.1f}' for r in rates)}; "
          f"CPU {', '.join(f'{c:.2f}' for c in cpus)}) — {args.generations} generations of 1 t over {args.lots} lots")


if __name__ == "__main__":
    main()

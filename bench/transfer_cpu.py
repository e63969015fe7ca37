"""Benchmark: worker CPU per transfer through the Flask stack, in one process.

    /work/venv/bin/python bench/transfer_cpu.py --db postgresql --transfers 400
    /work/venv/bin/python bench/transfer_cpu.py --db sqlite --transfers 400
    /work/venv/bin/python bench/transfer_cpu.py --db postgresql --profile /tmp/transfer_cpu.prof

Builds a seed registry through the services (bench/_http_setup.py, in a fresh
database made by bench/http_transfers.Databases), then makes --transfers
POST /api/v1/transfers through the Flask test client, half of them partial,
each with its participant's token and an Idempotency-Key, and prints the
process CPU time and wall time per transfer. This is the worker side of
bench/http_transfers.py without gunicorn and the load client: the number to
watch when trimming the request path (docs/performance.md, HTTP transfers).
"""

from __future__ import annotations

import argparse
import cProfile
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http_setup import SERVER_CLOCK, build  # sibling modules
from http_transfers import Databases

from api import create_app
from registry.config import Config
from registry.db import make_engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--transfers", type=int, default=400)
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile dump of the timed transfers here")
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        databases = Databases(args.db, args.postgres, Path(tmp))
        try:
            url = databases.url("seed")
            engine = make_engine(url)
            seed = build(engine, participants=16, blocks_each=40)
            config = Config(database_url=url, clock=SERVER_CLOCK, signing_key_file=Path(tmp) / "key.pem",
                            rate_limit="100000/minute")
            client = create_app(config, engine=engine).test_client()
            measure(client, seed["tokens"], args)
            engine.dispose()
        finally:
            databases.close()


def measure(client, tokens: dict[int, str], args) -> None:
    participants = sorted(tokens)
    auth = {p: {"Authorization": f"Bearer {tokens[p]}"} for p in participants}
    held = {}
    for p in participants:
        page = client.get(f"/api/v1/blocks?owner={p}&state=active&limit=100", headers=auth[p]).get_json()
        held[p] = [(b["serial"], b["quantity"]) for b in page["items"]]
    rnd = random.Random(1)

    def transfer(i: int) -> None:
        sender = rnd.choice([p for p in participants if held[p]])
        serial, quantity = held[sender].pop(rnd.randrange(len(held[sender])))
        body = {"serial": serial, "to_participant_id": rnd.choice([p for p in participants if p != sender]),
                "quantity": "1.000" if i % 2 == 0 else quantity}
        response = client.post("/api/v1/transfers", json=body,
                               headers={**auth[sender], "Idempotency-Key": f"bench-{i}"})
        assert response.status_code == 201, response.get_json()

    for i in range(20):  # warm-up: caches, prepared statements
        transfer(i)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for i in range(args.transfers):
        transfer(1000 + i)
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = args.transfers
    print(f"{args.db}: {n} transfers, CPU {1000 * cpu / n:.2f} ms/transfer, wall {1000 * wall / n:.2f} ms/transfer"
          + (" (under cProfile)" if profile else ""))


if __name__ == "__main__":
    main()

"""Benchmark: proofs served by the API on a big registry (R-L6, R-L3).

    /work/venv/bin/python bench/provenance_proof.py                       # 10k and 1M entries
    /work/venv/bin/python bench/provenance_proof.py --sizes 10000 100000

Uses the registries bench/_registry_builder.py builds through the services
(cached under /tmp/arcreg_bench keyed by N). Interleaved over each build, one
block was moved by ten successive partial transfers across four owners: its
lineage is lot.registered, block.generated and ten block.transferred entries
spread over the whole log. Timed through the Flask test client (the full
request: routing, argument parsing, the database reads, marshmallow, JSON), in
a fresh process per run:

- ``GET /api/v1/blocks/{serial}/provenance`` of that block (--requests times;
  target p50 < 50 ms); one answer is checked with
  `chainlog.provenance.verify_provenance`;
- ``GET /api/v1/log/proof/inclusion?index=i&size=N`` for random i (target < 5 ms);
- ``GET /api/v1/log/proof/consistency?first=m&second=N`` for random m (target < 5 ms);
- the floor (bare limit): ``GET /api/v1/log/checkpoint`` through the same
  client — routing, one indexed read of the latest stored checkpoint, the
  response; each p50 is also given as a multiple of it.

Each run is repeated --repeat times, interleaved; the run with the best p50 is kept.
With --http the same requests go over real HTTP (http.client on 127.0.0.1) to
`arcreg serve --workers 1` on the same database: sockets, gunicorn and the
server's whole stack are then inside each timing.

    python bench/provenance_proof.py --http --registry postgresql+psycopg://postgres@127.0.0.1:5432/arcreg_scale_100000

times an existing registry instead (e.g. the PostgreSQL one bench/scale.py
builds, signed by the same benchmark key): the provenance of its most recently
moved active block, its clock taken from the scale state file when present.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _registry_builder as builder


CLOCK = "2026-06-01T00:00:00Z"


@contextlib.contextmanager
def served(url: str, clock: str = CLOCK):
    """`arcreg serve --workers 1` on a free loopback port over the registry at `url`; yields its base URL."""
    from tests.serverproc import serving

    env = {"ARCREG_DATABASE_URL": url, "ARCREG_SIGNING_KEY": builder.pem_of_signer(),
           "ARCREG_LOG_ORIGIN": builder.ORIGIN, "ARCREG_CLOCK": clock}
    with serving(Path(__file__).resolve().parents[1], env, workers=1) as (base, _process):
        yield base


def _pct(ms: list[float], p: float) -> float:
    s = sorted(ms)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


class TestClient:
    """GET through the Flask test client: the whole request in-process, no socket."""

    def __init__(self, url: str, clock: str = CLOCK) -> None:
        from api import create_app
        from registry.config import Config

        config = Config(database_url=url, signing_key_pem=builder.pem_of_signer(), log_origin=builder.ORIGIN,
                        clock=clock)
        self.client = create_app(config).test_client()

    def get(self, path: str) -> tuple[int, bytes]:
        r = self.client.get(path)
        return r.status_code, r.get_data()


class HttpClient:
    """GET over real HTTP from `arcreg serve` on 127.0.0.1 (a keep-alive connection, reopened when closed)."""

    def __init__(self, base: str) -> None:
        import http.client
        from urllib.parse import urlsplit

        self.host, self.port = urlsplit(base).hostname, urlsplit(base).port
        self.connection_class, self.conn = http.client.HTTPConnection, None

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self.connection_class(self.host, self.port, timeout=30)
            try:
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, body
            except (ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def phase(kind: str, url: str, serial: str, requests: int, seed: int, base: str | None = None,
          clock: str = CLOCK) -> dict:
    client = HttpClient(base) if base else TestClient(url, clock)
    _, n = client.get("/api/v1/log/checkpoint")
    size = int(n.decode().splitlines()[1])
    rng = random.Random(seed)
    if kind == "provenance":
        paths = [f"/api/v1/blocks/{serial}/provenance"] * requests
    elif kind == "inclusion":
        paths = [f"/api/v1/log/proof/inclusion?index={rng.randrange(size)}&size={size}" for _ in range(requests)]
    elif kind == "floor":  # the bare limit: the same stack, one indexed read of a stored row
        paths = ["/api/v1/log/checkpoint"] * requests
    else:
        paths = [f"/api/v1/log/proof/consistency?first={rng.randrange(1, size)}&second={size}"
                 for _ in range(requests)]
    status, first = client.get(paths[0])  # warm-up, and the answer we check
    assert status == 200, first[:300]
    extra = {"bytes": len(first)}
    if kind == "provenance":
        from chainlog.provenance import verify_provenance

        body = json.loads(first)
        verify_provenance(body, [builder.SIGNER.verifier], serial=serial)
        extra["lineage"] = len(body["entries"])
        extra["hashes"] = sum(len(e["hashes"]) for e in body["entries"])
    ms = []
    for path in paths:
        t = time.perf_counter()
        status, _ = client.get(path)
        ms.append((time.perf_counter() - t) * 1000)
        assert status == 200
    return {"size": size, "p50": _pct(ms, 50), "p99": _pct(ms, 99), "mean": statistics.fmean(ms),
            "max": max(ms), **extra}


def run(kind: str, url: str, serial: str, requests: int, seed: int, base: str | None, clock: str) -> dict:
    cmd = [sys.executable, __file__, "--phase", kind, "--url", url, "--serial", serial, "--clock", clock,
           "--requests", str(requests), "--seed", str(seed)] + (["--base", base] if base else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def existing(url: str) -> tuple[int, str, dict, str]:
    """(entries, url, {"deep_serial": ...}, clock) of an existing registry: its most recently moved active block."""
    import sqlalchemy as sa

    import chainlog.store
    from registry.db import make_engine
    from registry.models import Block

    engine = make_engine(url)
    with engine.connect() as conn:
        n = chainlog.store.size(conn)
        serial = conn.execute(sa.select(Block.serial).where(Block.state == "active")
                              .order_by(Block.log_index.desc()).limit(1)).scalar_one()
    engine.dispose()
    state = Path(f"/tmp/arcreg_bench/{sa.make_url(url).database}.json")
    clock = json.loads(state.read_text())["clock"] if state.exists() else CLOCK
    return n, url, {"deep_serial": serial}, clock


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--serial", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--http", action="store_true",
                    help="time real HTTP requests to `arcreg serve --workers 1` instead of the Flask test client")
    ap.add_argument("--base", help=argparse.SUPPRESS)
    ap.add_argument("--clock", default=CLOCK, help=argparse.SUPPRESS)
    ap.add_argument("--registry", help="time this existing registry (database URL) instead of the cached builds")
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.url, args.serial, args.requests, args.seed, args.base, args.clock)))
        return
    print(f"python {sys.version.split()[0]}, cpus: {os.cpu_count()}, {args.requests} requests per run, "
          f"best p50 of {args.repeat} runs, {'real HTTP (arcreg serve, 1 worker)' if args.http else 'test client'}")
    targets = [existing(args.registry)] if args.registry else [
        (n, *builder.cached_sqlite(n, batch=args.batch), CLOCK) for n in args.sizes]
    for n, url, meta, clock in targets:
        assert args.registry or meta["deep_steps"] == 10, meta
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(served(url, clock)) if args.http else None
            runs: dict[str, list[dict]] = {"floor": [], "provenance": [], "inclusion": [], "consistency": []}
            for rep in range(args.repeat):
                for kind, done in runs.items():
                    done.append(run(kind, url, meta["deep_serial"], args.requests, rep + 1, base, clock))
        kind_of = "an existing registry" if args.registry else "SQLite, built through the services"
        print(f"N={n:,} ({kind_of}); load average {os.getloadavg()[0]:.1f}:")
        floor = min(runs["floor"], key=lambda x: x["p50"])["p50"]
        for kind, rs in runs.items():
            r = min(rs, key=lambda x: x["p50"])
            more = (f", lineage {r['lineage']} entries, {r['hashes']} proof hashes" if kind == "provenance" else "")
            print(f"  {kind:12s} size {r['size']:,}: p50 {r['p50']:.2f} ms (x{r['p50'] / floor:.1f} the floor), "
                  f"p99 {r['p99']:.2f} ms, mean {r['mean']:.2f} ms, max {r['max']:.2f} ms; "
                  f"answer {r['bytes']:,} B{more}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

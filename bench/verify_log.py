"""Benchmark (issue 8, table 3): `arcreg verify-log` on an exported registry log.

    python bench/verify_log.py --sizes 10427 112455 1000641     # sizes of cached registries (built if absent)

For each size, the registry built through the services by
bench/_registry_builder.py (cached under /tmp/arcreg_bench) is exported with
`chainlog.export.write_export` (what `arcreg verify --export` writes), and in
the same run, each in a fresh process and --repeat times interleaved:

- ``cli``: a real `arcreg verify-log FILE --vkey VKEY` process — chain, Merkle
  root, checkpoints, the RFC 8785 form of every entry, and the replay of every
  entry into a fresh state (R-L7); wall and CPU time and max RSS (of that
  process alone: `_child_usage.run_measured`);
- ``quick``: the same process with ``--integrity-only`` (chain, Merkle root,
  checkpoints; no replay, no form check);
- ``chainlog``: `chainlog.verify.verify_export` alone on the same file (no
  replay), with the form check (default) and integrity only
  (``check_form=False``);
- ``bare``: the SHA-256 work verification inherently needs, on the entry
  bytes already in memory: the chain hash and the leaf hash per entry and the
  n − 1 interior nodes of the Merkle tree.

The ratios cli / bare and quick / bare are the figures the issue asks for
(target ≤ 3×); the chainlog rows show what the replay adds to the first. Memory is flat when the
cli's max RSS does not grow with N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _registry_builder as builder
from _bare_hashing import hash_work
from _child_usage import run_measured


def export(url: str, path: Path) -> tuple[int, int, float]:
    from chainlog.export import write_export
    from registry.db import make_engine, session_factory

    engine = make_engine(url)
    t = time.perf_counter()
    with session_factory(engine)() as session, path.open("w", encoding="utf-8") as fp:
        entries, checkpoints = write_export(session, fp)
    engine.dispose()
    return entries, checkpoints, time.perf_counter() - t


def phase_cli(path: Path, *options: str) -> dict:
    arcreg = str(Path(sys.executable).with_name("arcreg"))
    run = run_measured([arcreg, "verify-log", str(path), "--vkey", builder.SIGNER.vkey, *options])
    return {**run, "out": run["out"].splitlines()[0]}


def phase_chainlog(path: str, check_form: bool) -> dict:
    import resource

    from chainlog.verify import verify_export

    t, c = time.perf_counter(), time.process_time()
    with open(path, "rb") as f:
        report = verify_export(f, [builder.SIGNER.vkey], check_form=check_form)
    return {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "root": report.root_hex,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def phase_bare(path: str) -> dict:
    texts = []
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b'{"index"'):
                texts.append(line[line.index(b',"entry":') + 9:-2])  # the hashed bytes, as the export holds them
    return hash_work(texts)


def run_phase(phase: str, path: Path) -> dict:
    if phase == "cli":
        return phase_cli(path)
    if phase == "quick":
        return phase_cli(path, "--integrity-only")
    cmd = [sys.executable, __file__, "--phase", phase, "--path", str(path)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=2, help="interleaved runs of each phase; the best is kept")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        fn = {"chainlog": lambda p: phase_chainlog(p, True), "integrity": lambda p: phase_chainlog(p, False),
              "bare": phase_bare}[args.phase]
        print(json.dumps(fn(args.path)))
        return
    print(f"python {sys.version.split()[0]}, cpus: {os.cpu_count()}")
    rows = []
    for n in args.sizes:
        url, _meta = builder.cached_sqlite(n)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "log.jsonl"
            entries, checkpoints, seconds = export(url, path)
            size_mb = path.stat().st_size / 2**20
            print(f"N={entries:,}: exported {checkpoints} checkpoints, {size_mb:.0f} MiB in {seconds:.1f} s")
            runs: dict[str, list[dict]] = {"bare": [], "cli": [], "quick": [], "chainlog": [], "integrity": []}
            for _ in range(args.repeat):
                for phase in runs:
                    runs[phase].append(run_phase(phase, path))
            best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
            assert best["bare"]["root"] == best["chainlog"]["root"] == best["integrity"]["root"]
            b, c, q, f, g = (best[k]["seconds"] for k in ("bare", "cli", "quick", "chainlog", "integrity"))
            paired = sorted(r["seconds"] / s["seconds"] for r, s in zip(runs["cli"], runs["bare"], strict=True))
            load = os.getloadavg()[0]
            print(f"  arcreg verify-log {c:8.2f} s (CPU {best['cli']['cpu']:.2f}), max RSS "
                  f"{best['cli']['max_rss_mb']:.1f} MiB: {best['cli']['out'][:80]}\n"
                  f"  --integrity-only  {q:8.2f} s (CPU {best['quick']['cpu']:.2f}), max RSS "
                  f"{best['quick']['max_rss_mb']:.1f} MiB\n"
                  f"  chainlog verify   {f:8.2f} s, integrity only {g:.2f} s, max RSS "
                  f"{best['chainlog']['max_rss_mb']:.1f} MiB\n"
                  f"  bare SHA-256      {b:8.2f} s ({b / entries * 1e6:.2f} µs/entry)\n"
                  f"  ratios to bare: verify-log {c / b:.1f}x (per-repeat median {paired[len(paired) // 2]:.1f}x), "
                  f"verify-log --integrity-only {q / b:.2f}x, "
                  f"chainlog {f / b:.2f}x, integrity only {g / b:.2f}x; load average {load:.1f}")
            rows.append(f"| {entries:,} | {size_mb:.0f} MiB | {c:.1f} s | {best['cli']['max_rss_mb']:.0f} MiB | "
                        f"{q:.2f} s | {best['quick']['max_rss_mb']:.0f} MiB | {f:.2f} s | {g:.2f} s | {b:.2f} s | "
                        f"{c / b:.1f}× | **{q / b:.2f}×** | {f / b:.2f}× | {g / b:.2f}× | {load:.1f} |")
            sys.stdout.flush()
    print("\n| entries | export | verify-log wall | verify-log max RSS | --integrity-only wall | its max RSS | "
          "chainlog (form) | integrity only | bare SHA-256 | verify-log / bare | --integrity-only / bare | "
          "chainlog / bare | integrity / bare | load |")
    print("|" + " --- |" * 14)
    print("\n".join(rows))


if __name__ == "__main__":
    main()

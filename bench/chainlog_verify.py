"""Benchmark: offline verification of an exported log vs the bare SHA-256 work it needs.

    /work/venv/bin/python bench/chainlog_verify.py                 # 100k and 1M entries
    /work/venv/bin/python bench/chainlog_verify.py --sizes 100000  # one size
    /work/venv/bin/python bench/chainlog_verify.py --stdlib-json   # without orjson

For each size it writes an export (`chainlog.export` format: each entry line
holds the hashed text verbatim) of N realistic entries (~300-byte block
transfer payloads: serial ranges, quantities as strings, a lineage link) with
a signed checkpoint every 10,000 entries, then runs, each in a fresh process:

- ``verify``: `chainlog.verify.verify_export` over the file (timed; peak RSS);
- ``memory``: the same under tracemalloc (peak traced bytes; time not used);
- ``bare``:   the SHA-256 work verification inherently needs, on canonical
  bytes already in memory — per entry the chain hash over prev ‖ canonical and
  the leaf hash over 0x00 ‖ canonical, plus the n−1 interior node hashes;
- ``parse``:  only parsing every line of the file as JSON (reported apart:
  it is not part of the bare limit).

The timed phases run --repeat times, interleaved, and the best of each is
kept. The ratio verify / bare is the figure of merit (target ≤ 3×); it is
also given repeat by repeat (verify and bare run back to back), whose median
is steadier on a shared machine, with CPU time beside wall time and the load
average.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bare_hashing import hash_work

from chainlog import _json
from chainlog.canonical import entry_canonical
from chainlog.chain import GENESIS_HASH, lineage_link
from chainlog.checkpoint import Checkpoint, sign_checkpoint
from chainlog.compact import CompactRange
from chainlog.export import checkpoint_line, entry_line
from chainlog.keys import Signer
from chainlog.store import StoredEntry

ORIGIN = "bench.example/log"
SIGNER = Signer.from_seed(ORIGIN, bytes(range(32)))
TIME = "2026-11-23T11:37:17.123456Z"
CHECKPOINT_EVERY = 10_000


def payload(i: int, prev_index: int, prev_leaf: bytes) -> dict:
    first = 1 + (i % 977) * 2500
    return {
        "serial": f"US-2026-PC_P_PE_ARC-{i // 50:06d}-{first:010d}",
        "arc_code": "PC_P_PE_ARC",
        "quantity": f"{i % 5000}.500",
        "from": f"participant:{i % 97}",
        "to": f"participant:{(i * 7) % 101}",
        "moved": {"first": first, "last": first + 1249},
        "remainder": {"first": first + 1250, "last": first + 2499, "quantity": "1250.000"},
        "prev": lineage_link(prev_index, prev_leaf),
    }


def generate(n: int, export: Path, canon: Path) -> None:
    """Write the export and, for the bare benchmark, the canonical texts (one per line)."""
    sha256 = hashlib.sha256
    tree, prev = CompactRange(), GENESIS_HASH
    prev_leaf, prev_index = bytes(32), 0
    with open(export, "w", encoding="utf-8") as out, open(canon, "wb") as raw:
        out.write(checkpoint_line(sign_checkpoint(Checkpoint(ORIGIN, 0, tree.root()), SIGNER)))
        for i in range(n):
            p = payload(i, prev_index, prev_leaf)
            data = entry_canonical(i, TIME, "block.transferred", f"user:{i % 13}", p)
            leaf = sha256(b"\x00" + data).digest()
            prev = sha256(prev + data).digest()
            tree.append(leaf)
            text = data.decode("utf-8")
            # As the store exports it: the payload read back from the canonical text.
            out.write(entry_line(StoredEntry(i, TIME, "block.transferred", f"user:{i % 13}",
                                             json.loads(text)["payload"], text, leaf, prev)))
            raw.write(data + b"\n")
            prev_leaf, prev_index = leaf, i
            if (i + 1) % CHECKPOINT_EVERY == 0 or i + 1 == n:
                out.write(checkpoint_line(sign_checkpoint(Checkpoint(ORIGIN, i + 1, tree.root()), SIGNER)))


def phase_verify(export: str, check_form: bool = True) -> dict:
    from chainlog.verify import verify_export

    t, c = time.perf_counter(), time.process_time()
    with open(export, "rb") as f:
        report = verify_export(f, [SIGNER.vkey], origin=ORIGIN, check_form=check_form)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": seconds, "cpu": cpu, "entries": report.entries, "checkpoints": report.checkpoints,
            "root": report.root_hex, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def phase_memory(export: str) -> dict:
    import tracemalloc

    from chainlog.verify import verify_export

    tracemalloc.start()
    with open(export, "rb") as f:
        verify_export(f, [SIGNER.vkey], origin=ORIGIN)
    _, peak = tracemalloc.get_traced_memory()
    return {"traced_peak_kb": peak / 1024}


def phase_bare(canon: str) -> dict:
    with open(canon, "rb") as f:
        texts = [line[:-1] for line in f]
    return hash_work(texts)


def phase_parse(export: str) -> dict:
    loads = _json.loads
    t, c = time.perf_counter(), time.process_time()
    with open(export, "rb") as f:
        for line in f:
            loads(line)
    return {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c}


def run_phase(phase: str, path: str, stdlib: bool) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--path", path] + (["--stdlib-json"] if stdlib else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--stdlib-json", action="store_true", help="force the standard-library json backend")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each phase; the best is kept")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stdlib_json:
        _json.use_stdlib(True)
    if args.phase:
        fn = {"verify": phase_verify, "integrity": lambda path: phase_verify(path, check_form=False),
              "memory": phase_memory, "bare": phase_bare, "parse": phase_parse}[args.phase]
        print(json.dumps(fn(args.path)))
        return

    print(f"python {sys.version.split()[0]}, json backend: {_json.BACKEND}, cpus: {os.cpu_count()}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            export, canon = Path(tmp) / "log.jsonl", Path(tmp) / "canonical.txt"
            t = time.perf_counter()
            generate(n, export, canon)
            gen = time.perf_counter() - t
            size_mb = export.stat().st_size / 2**20
            avg_canon = canon.stat().st_size / n - 1
            # Interleaved repeats, best of each: the machine is shared, and a
            # ratio of two timings taken minutes apart would measure the noise.
            runs: dict[str, list[dict]] = {"verify": [], "integrity": [], "bare": [], "parse": []}
            for _ in range(args.repeat):
                runs["bare"].append(run_phase("bare", str(canon), args.stdlib_json))
                runs["verify"].append(run_phase("verify", str(export), args.stdlib_json))
                runs["integrity"].append(run_phase("integrity", str(export), args.stdlib_json))
                runs["parse"].append(run_phase("parse", str(export), args.stdlib_json))
            verify, integrity, bare, parse = (min(runs[k], key=lambda r: r["seconds"])
                                              for k in ("verify", "integrity", "bare", "parse"))
            memory = run_phase("memory", str(export), args.stdlib_json)
            assert verify["root"] == bare["root"] == integrity["root"], "verify and bare disagree on the root"
            v, b, p, g = verify["seconds"], bare["seconds"], parse["seconds"], integrity["seconds"]

            # Each repeat runs bare, then the verifiers, back to back: their ratio, repeat by repeat, is
            # less exposed to the speed of the moment than the ratio of the two best runs.
            def paired(kind: str, key: str) -> list[float]:
                return sorted(r[key] / s[key] for r, s in zip(runs[kind], runs["bare"], strict=True))

            paired_wall, paired_cpu = paired("verify", "seconds"), paired("verify", "cpu")
            integrity_wall = paired("integrity", "seconds")
            print(
                f"N={n:,}: export {size_mb:.0f} MiB (canonical avg {avg_canon:.0f} B, generated in {gen:.1f} s), "
                f"{verify['checkpoints']} checkpoints; best of {args.repeat}, wall (CPU)\n"
                f"  verify_export  {v:7.2f} s ({verify['cpu']:.2f})  {v / n * 1e6:6.2f} µs/entry  "
                f"(chain, leaves, Merkle root, checkpoints, frames, and the RFC 8785 form of every entry)\n"
                f"  integrity only {g:7.2f} s ({integrity['cpu']:.2f})  {g / n * 1e6:6.2f} µs/entry  "
                f"(check_form=False: chain, leaves, Merkle root, checkpoints, frames)\n"
                f"  bare SHA-256   {b:7.2f} s ({bare['cpu']:.2f})  {b / n * 1e6:6.2f} µs/entry\n"
                f"  JSON parse     {p:7.2f} s ({parse['cpu']:.2f})  {p / n * 1e6:6.2f} µs/entry (not in the bare limit)\n"
                f"  best/best: verify/bare = {v / b:.2f}x (CPU {verify['cpu'] / bare['cpu']:.2f}x), "
                f"integrity/bare = {g / b:.2f}x (CPU {integrity['cpu'] / bare['cpu']:.2f}x)\n"
                f"  per-repeat verify/bare: median {paired_wall[len(paired_wall) // 2]:.2f}x, "
                f"min {paired_wall[0]:.2f}x, max {paired_wall[-1]:.2f}x "
                f"(CPU median {paired_cpu[len(paired_cpu) // 2]:.2f}x); integrity/bare: median "
                f"{integrity_wall[len(integrity_wall) // 2]:.2f}x, max {integrity_wall[-1]:.2f}x; "
                f"load average {os.getloadavg()[0]:.1f}\n"
                f"  memory: verify process max RSS {verify['max_rss_mb']:.1f} MiB, "
                f"tracemalloc peak during verify {memory['traced_peak_kb']:.0f} KiB"
            )

if __name__ == "__main__":
    main()

"""Keep a mutation run's results across machines (docs/testing.md).

    .venv/bin/python scripts/mutants_results.py save KEY       # .mutants/KEY -> docs/mutants/KEY.json
    .venv/bin/python scripts/mutants_results.py restore KEY    # docs/mutants/KEY.json -> .mutants/KEY

A run of the replay parts takes longer than a session, and `.mutants/` is scratch that does not
survive a new machine. ``save`` writes every decided mutant's exit code (killed, skipped, survived,
timeout), grouped by function, with a hash of each mutated module; ``restore`` writes them back into a
fresh run's ``.meta`` files (made by `scripts/mutants.sh KEY`, stopped once it has generated the
mutants) for the modules whose source is unchanged, so only the undecided mutants are tried again.
A changed module restores nothing: its mutants may differ.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _metas(key: str) -> list[tuple[Path, str, str]]:
    work = ROOT / ".mutants" / key / "mutants"
    out = []
    for meta in sorted(work.rglob("*.py.meta")):
        relative = meta.relative_to(work).with_suffix("")  # registry/replay/x.py
        digest = hashlib.sha256((ROOT / relative).read_bytes()).hexdigest()
        out.append((meta, str(relative), digest))
    return out


def save(key: str) -> None:
    record: dict = {"modules": {}, "results": {}}
    for meta, module, digest in _metas(key):
        record["modules"][module] = digest
        grouped: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is not None:
                function, _, number = name.partition("__mutmut_")
                grouped[function][str(code)].append(int(number))
        for function, codes in sorted(grouped.items()):
            record["results"][function] = {code: sorted(numbers) for code, numbers in sorted(codes.items())}
    path = ROOT / "docs" / "mutants" / f"{key}.json"
    path.parent.mkdir(exist_ok=True)
    lines = [f"{json.dumps(f)}: {json.dumps(c, separators=(',', ':'))}" for f, c in record["results"].items()]
    path.write_text('{"mutmut": %s,\n"modules": %s,\n"results": {\n%s\n}}\n' % (
        json.dumps(version("mutmut")), json.dumps(record["modules"], indent=1, sort_keys=True), ",\n".join(lines)))
    print(f"{sum(len(n) for c in record['results'].values() for n in c.values())} results saved to {path}")


def restore(key: str) -> None:
    record = json.loads((ROOT / "docs" / "mutants" / f"{key}.json").read_text())
    if record["mutmut"] != version("mutmut"):  # another mutmut may number the mutants otherwise
        sys.exit(f"saved with mutmut {record['mutmut']}, this is {version('mutmut')}: nothing restored")
    restored = 0
    for meta, module, digest in _metas(key):
        if record["modules"].get(module) != digest:
            print(f"{module}: changed since the results were saved, nothing restored")
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name in codes:
            function, _, number = name.partition("__mutmut_")
            for code, numbers in record["results"].get(function, {}).items():
                if int(number) in numbers and codes[name] is None:
                    codes[name] = int(code)
                    restored += 1
        meta.write_text(json.dumps(data))
    print(f"{restored} results restored into .mutants/{key}")


if __name__ == "__main__":
    {"save": save, "restore": restore}[sys.argv[1]](sys.argv[2])

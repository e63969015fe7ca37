"""Keep a mutation run's results across machines (docs/testing.md).

    .venv/bin/python scripts/mutants_results.py save KEY       # .mutants/KEY -> docs/mutants/KEY.json
    .venv/bin/python scripts/mutants_results.py restore KEY    # docs/mutants/KEY.json -> .mutants/KEY

A run of the replay parts takes longer than a session, and `.mutants/` is scratch that does not
survive a new machine. ``save`` writes every decided mutant's exit code (killed, skipped, survived,
timeout), grouped by function, with a hash of each function's source; ``restore`` writes them back into
a fresh run's ``.meta`` files (made by `scripts/mutants.sh KEY`, stopped once it has generated the
mutants) for the functions whose source is unchanged, so only the undecided mutants are tried again.
mutmut numbers a function's mutants from that function's source alone (same mutmut version), so a
changed function restores nothing and its unchanged neighbours restore everything.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _metas(key: str) -> list[tuple[Path, dict[str, str]]]:
    """Each .meta file of the run, with a hash of each mutated function's original source."""
    work = ROOT / ".mutants" / key / "mutants"
    out = []
    for meta in sorted(work.rglob("*.py.meta")):
        source = meta.with_suffix("").read_text()  # x.py.meta -> x.py, as mutmut wrote it
        module = ".".join(meta.relative_to(work).with_suffix("").with_suffix("").parts)
        hashes = {}
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.endswith("__mutmut_orig"):
                text = ast.get_source_segment(source, node) or ""
                hashes[f"{module}.{node.name.removesuffix('__mutmut_orig')}"] = hashlib.sha256(text.encode()).hexdigest()
        out.append((meta, hashes))
    return out


def save(key: str) -> None:
    functions: dict[str, str] = {}
    results: dict[str, dict[str, list[int]]] = {}
    for meta, hashes in _metas(key):
        functions.update(hashes)
        grouped: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is not None:
                function, _, number = name.partition("__mutmut_")
                grouped[function][str(code)].append(int(number))
        for function, codes in sorted(grouped.items()):
            results[function] = {code: sorted(numbers) for code, numbers in sorted(codes.items())}
    path = ROOT / "docs" / "mutants" / f"{key}.json"
    path.parent.mkdir(exist_ok=True)
    lines = [f"{json.dumps(f)}: {json.dumps({'source': functions.get(f), **c}, separators=(',', ':'))}"
             for f, c in results.items()]
    path.write_text('{"mutmut": %s,\n"results": {\n%s\n}}\n' % (json.dumps(version("mutmut")), ",\n".join(lines)))
    print(f"{sum(len(n) for c in results.values() for n in c.values())} results saved to {path}")


def restore(key: str) -> None:
    record = json.loads((ROOT / "docs" / "mutants" / f"{key}.json").read_text())
    if record["mutmut"] != version("mutmut"):  # another mutmut may number the mutants otherwise
        sys.exit(f"saved with mutmut {record['mutmut']}, this is {version('mutmut')}: nothing restored")
    restored, changed = 0, set()
    for meta, hashes in _metas(key):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name in codes:
            function, _, number = name.partition("__mutmut_")
            saved = record["results"].get(function)
            if saved is None or codes[name] is not None:
                continue
            if saved["source"] != hashes.get(function):
                changed.add(function)
                continue
            for code, numbers in saved.items():
                if code != "source" and int(number) in numbers:
                    codes[name] = int(code)
                    restored += 1
        meta.write_text(json.dumps(data))
    for function in sorted(changed):
        print(f"{function}: changed since the results were saved, nothing restored")
    print(f"{restored} results restored into .mutants/{key}")


if __name__ == "__main__":
    {"save": save, "restore": restore}[sys.argv[1]](sys.argv[2])

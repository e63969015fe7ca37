"""Try a paused mutation run's unchecked mutants against a few fast tests first (docs/testing.md).

    .venv/bin/python scripts/mutants_prescreen.py KEY 'registry.replay.bulk.*' tests/unit/registry/test_x.py ...

mutmut orders mutants by the worst-case time of the tests covering them, but not the tests of one
mutant: a function every test runs (a replay step called for each entry) is tried against the slow
integration tests as often as against the unit test written for it. This runs each unchecked mutant
whose name matches the pattern against the given tests only (SQLite, stop at the first failure), with
mutmut's own switch (``MUTANT_UNDER_TEST``), and records a failing run as killed (exit code 1) in the
run's ``.meta`` files. The rest stay unchecked: `mutmut run` (resumed in ``.mutants/KEY``) then runs
each of them against every test that covers it, as before. Stop the run first: mutmut writes the same
files.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(key: str, pattern: str, tests: list[str]) -> None:
    work = ROOT / ".mutants" / key / "mutants"
    missing = [t for t in tests if not (work / t.split("::")[0]).is_file() or Path(t).is_absolute() or ".." in t]
    if missing:  # a test outside the run's copy imports the unmutated code: its passes would mean nothing
        sys.exit(f"not tests of the run's copy ({work}): {' '.join(missing)}; copy them into it first")
    killed = tried = 0
    for meta in sorted(work.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        results = data["exit_code_by_key"]
        for name, code in sorted(results.items()):
            if code is not None or not fnmatch.fnmatch(name, pattern):
                continue
            tried += 1
            run = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                  "-k", "not postgresql", *tests], cwd=work, capture_output=True,
                                 env={**os.environ, "MUTANT_UNDER_TEST": name})
            if run.returncode == 1:  # a test failed (2-5: interrupted, usage, nothing collected: not a kill)
                results[name] = 1
                killed += 1
                meta.write_text(json.dumps(data))
            print(f"{'killed' if run.returncode == 1 else f'exit {run.returncode}':8} {name}", flush=True)
    print(f"{killed} of {tried} killed by {' '.join(tests)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])

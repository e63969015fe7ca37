"""Try a paused mutation run's unchecked mutants against a few fast tests first (docs/testing.md).

    .venv/bin/python scripts/mutants_prescreen.py KEY 'registry.replay.bulk.*' tests/unit/registry/test_x.py ...
    .venv/bin/python scripts/mutants_prescreen.py KEY @names.txt tests/...   # just the mutants listed in a file
    ... tests/x.py --deselect=tests/x.py::test_y     # pytest options pass through
    PRESCREEN_JOBS=2 ...                         # mutants tried at once (default 2)
    PRESCREEN_RETRY=1 ...                        # also the mutants earlier prescreens recorded as survived

mutmut orders mutants by the worst-case time of the tests covering them, but not the tests of one
mutant: a function every test runs (a replay step called for each entry) is tried against the slow
integration tests as often as against the unit test written for it. This tries each undecided mutant
whose name matches the pattern against the given tests only (SQLite, stop at the first failure), with
mutmut's own switch (``MUTANT_UNDER_TEST``), and records a failing run as killed (exit code 1) in the
run's ``.meta`` files, a passing run as survived (0; with PRESCREEN_RETRY=1, left as it was). A
later prescreen with more tests retries the survivors (PRESCREEN_RETRY=1), or `mutmut run` (resumed in
``.mutants/KEY``, after resetting them) runs each against every test that covers it. Stop the run
first: mutmut writes the same files.

Fast because: the tests are run once in this process first, recording which of them reach each mutated
function and how long each takes (mutmut's "stats" switch); each mutant then runs in a forked child
(the imports are done) against only the tests that reach its function, the ones that killed earlier
mutants of that function first, then the fastest. A child that outlives 60 s plus three times its
tests' time is killed and its mutant left undecided (an endless loop is mutmut's to call a timeout).
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "-k", "not postgresql"]


def _unchecked(work: Path, pattern: str, retry: bool) -> list[tuple[Path, str]]:
    """The undecided mutants whose name matches ``pattern`` (a glob, or ``@FILE``: the names listed in FILE)."""
    names = set(Path(pattern[1:]).read_text().split()) if pattern.startswith("@") else None
    found = []
    for meta in sorted(work.rglob("*.py.meta")):
        for name, code in sorted(json.loads(meta.read_text())["exit_code_by_key"].items()):
            if (code is None or (retry and code == 0)) and (
                    name in names if names is not None else fnmatch.fnmatch(name, pattern)):
                found.append((meta, name))
    return found


def _record(meta: Path, name: str, code: int) -> None:
    data = json.loads(meta.read_text())
    data["exit_code_by_key"][name] = code
    meta.write_text(json.dumps(data))


def _coverage(tests: list[str]) -> tuple[dict[str, set[str]], dict[str, float]]:
    """Which of the tests reach each mutated function, and how long each test takes: one run in this
    process with mutmut's "stats" switch, its hit recorder replaced by ours (mutmut's needs its config)."""
    import pytest
    import mutmut.mutation.trampoline as trampoline

    hits: set[str] = set()
    trampoline.record_trampoline_hit = lambda name, caller=None: hits.add(name)
    by_function: dict[str, set[str]] = defaultdict(set)
    duration: dict[str, float] = defaultdict(float)

    class Recorder:
        def pytest_runtest_logreport(self, report):
            duration[report.nodeid] += report.duration

        def pytest_runtest_teardown(self, item, nextitem):
            for function in hits:
                by_function[function].add(item.nodeid)
            hits.clear()

    os.environ["MUTANT_UNDER_TEST"] = "stats"
    if pytest.main(["-q", "-p", "no:cacheprovider", "-k", "not postgresql", *tests], plugins=[Recorder()]) != 0:
        sys.exit("the tests do not pass on the unmutated code")
    os.environ["MUTANT_UNDER_TEST"] = ""
    return by_function, duration


class _Order:
    """In the child: run only the chosen tests, in the chosen order; report the first failure's node id."""

    def __init__(self, ordered: list[str], report_fd: int) -> None:
        self.position = {nodeid: i for i, nodeid in enumerate(ordered)}
        self.report_fd = report_fd

    def pytest_collection_modifyitems(self, session, config, items):
        kept = sorted((item for item in items if item.nodeid in self.position), key=lambda it: self.position[it.nodeid])
        dropped = [item for item in items if item.nodeid not in self.position]
        items[:] = kept
        if dropped:
            config.hook.pytest_deselected(items=dropped)

    def pytest_runtest_logreport(self, report):
        if report.failed:
            os.write(self.report_fd, report.nodeid.encode() + b"\n")


def _child(name: str, tests: list[str], ordered: list[str], report_fd: int) -> None:
    import pytest

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ["MUTANT_UNDER_TEST"] = name
    os._exit(int(pytest.main([*PYTEST_ARGS, *tests], plugins=[_Order(ordered, report_fd)])))


def main(key: str, pattern: str, tests: list[str]) -> None:
    work = ROOT / ".mutants" / key / "mutants"
    missing = [t for t in tests if not t.startswith("-") and (
        not (work / t.split("::")[0]).is_file() or Path(t).is_absolute() or ".." in t)]
    if missing:  # a test outside the run's copy imports the unmutated code: its passes would mean nothing
        sys.exit(f"not tests of the run's copy ({work}): {' '.join(missing)}; copy them into it first")
    jobs = int(os.environ.get("PRESCREEN_JOBS", "2"))
    os.chdir(work)
    sys.path.insert(0, str(work))
    by_function, duration = _coverage(tests)  # also imports everything, once, before the forks
    killers: dict[str, list[str]] = defaultdict(list)  # per function, the tests that killed its mutants, latest first
    retry = os.environ.get("PRESCREEN_RETRY") == "1"
    todo = _unchecked(work, pattern, retry)
    running: dict[int, tuple[Path, str, float, float, int]] = {}
    killed = 0

    def reap() -> None:
        nonlocal killed
        for pid, (_, _, started, limit, _) in running.items():
            if time.monotonic() - started > limit:
                os.kill(pid, signal.SIGKILL)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            time.sleep(0.02)
            return
        meta, name, started, _, read_fd = running.pop(pid)
        failed = os.read(read_fd, 65536).decode().split()
        os.close(read_fd)
        code = os.waitstatus_to_exitcode(status)
        if code == 0 and not retry:  # survived these tests: recorded, so that the next prescreen passes it by
            _record(meta, name, 0)
        if code == 1 and failed:  # a test failed (2-5: interrupted, usage, nothing collected; <0: killed): not a kill
            _record(meta, name, 1)
            killed += 1
            function = killers[_function(name)]
            if failed[0] in function:
                function.remove(failed[0])
            function.insert(0, failed[0])
        print(f"{'killed' if code == 1 and failed else f'exit {code}':8} {time.monotonic() - started:6.1f}s {name}"
              f"{' by ' + failed[0] if failed else ''}", flush=True)

    for meta, name in todo:
        if json.loads(meta.read_text())["exit_code_by_key"].get(name) not in ((None, 0) if retry else (None,)):
            continue  # decided meanwhile (marked skipped by mutants_skip_words.py, say)
        covering = by_function.get(_function(name), set())
        if not covering:
            print(f"no tests         {name}", flush=True)
            continue
        first = [t for t in killers[_function(name)] if t in covering]
        ordered = first + sorted(covering - set(first), key=lambda t: duration[t])
        limit = 60 + 3 * sum(duration[t] for t in covering)
        while len(running) >= jobs:
            reap()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(name, tests, ordered, write_fd)
        os.close(write_fd)
        running[pid] = (meta, name, time.monotonic(), limit, read_fd)
    while running:
        reap()
    print(f"{killed} of {len(todo)} killed by {' '.join(tests)}")


def _function(mutant: str) -> str:
    return mutant.partition("__mutmut_")[0]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])

"""Survivors of a mutation run, sorted by what they change (docs/testing.md).

    .venv/bin/python scripts/mutants_report.py KEY        # a run of scripts/mutants.sh KEY, finished or not

Reads the run's progress from ``.mutants/KEY/mutants/**/*.py.meta`` (so it works while mutmut is still
running), prints the counts, then each survivor with a kind:

* ``words``  -- only a string literal changed: a finding's or a refusal's words;
* ``refusal-args`` -- the arguments of a ``fail(...)`` call dropped or set to None; ``fail`` then raises a
  TypeError that `registry.replay.Replayer.apply` turns into a refusal at the same entry;
* ``index``  -- an entry index ``i`` passed on as None: the refusal names no entry (kill these);
* ``code``   -- anything else: read it (``mutmut show NAME`` in ``.mutants/KEY``).

The first two leave the verdict, the entry and the kind of a refusal as they were: not rule-changing.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent


def _tokens(source: str) -> list[str]:
    """The tokens of a fragment, every string literal as one placeholder."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(textwrap.dedent(source)).readline):
            if tok.type == tokenize.STRING:
                out.append("<str>")
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.ENDMARKER):
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError):
        pass  # a fragment of a longer statement: the tokens read so far
    return out


def kind_of(diff: str) -> str:
    before = "\n".join(line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---"))
    after = "\n".join(line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    old, new = _tokens(before), _tokens(after)
    if old == new:
        return "words"
    if "fail(" in before and "\n" not in before.strip() and "\n" not in after.strip():
        return "refusal-args"
    if len(old) == len(new) and [(a, b) for a, b in zip(old, new) if a != b] == [("i", "None")]:
        return "index"
    return "code"


def main(key: str) -> None:
    work = ROOT / ".mutants" / key
    counts: dict[str, int] = {}
    survivors = []
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text()).get("exit_code_by_key", {}).items():
            state = status_by_exit_code[code]
            counts[state] = counts.get(state, 0) + 1
            if state in ("survived", "no tests"):
                survivors.append(name)
    print(", ".join(f"{state} {n}" for state, n in sorted(counts.items())))
    for name in survivors:
        diff = subprocess.run([str(ROOT / ".venv/bin/mutmut"), "show", name], cwd=work, capture_output=True,
                              text=True).stdout
        print(f"{kind_of(diff):13} {name}")


if __name__ == "__main__":
    main(sys.argv[1])

"""Mark the mutants that change only the words of a replay refusal or finding as skipped (docs/testing.md).

    .venv/bin/python scripts/mutants_skip_words.py KEY          # before the run's mutants are tried
    .venv/bin/python scripts/mutants_skip_words.py KEY --dry    # count them, change nothing
    .venv/bin/python scripts/mutants_skip_words.py KEY --api    # a service module: only the detail is words

A replay mutant is rule-changing when it changes the verdict: whether replay refuses, and at which entry
(docs/testing.md, "what counts as rule-changing"). A mutant whose only change lies in the message of a
refusal -- the arguments of a ``RegistryError``/``RuleViolation`` replay raises (its words, code and
rule: `broken` turns it into a refusal of the same entry), those of ``fail``/``broken`` but the index,
or a ``fail`` argument dropped (a TypeError, which ``Replayer.apply`` turns into a refusal of the same
entry) -- cannot change it. Running each against every covering test costs minutes, so they are marked
with mutmut's own "skipped" code (34) before the run and counted apart in the report. A mutant that
passes ``None`` (or anything else) as a ``fail`` index is *not* skipped: the refusal would name no entry.

A service module (``lots``, ``determinations``: ``--api``) answers the client with its errors: their
``code``, ``field`` and ``rule`` are the API's contract (R-X1, R-X2), so only the detail text (the first
positional argument) counts as words there, and a mutant of a keyword is run like any other.

Works on the mutated sources mutmut writes under ``.mutants/KEY/mutants`` (each mutant is a function
``x_NAME__mutmut_N`` beside ``x_NAME__mutmut_orig``); stop the run first, as for the prescreen.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_CALLS = {"fail", "broken"}  # (index, message...): the index must stay, the rest is words
MESSAGE_ERRORS = {"RegistryError", "RuleViolation", "VerificationError"}  # built in replay only to be reported
# --api: every error a service answers with (registry.errors): only its detail text is words
API_ERRORS = {"RegistryError", "InvalidInput", "RuleViolation", "NotFound", "Conflict", "Unauthorized", "Forbidden"}
# registry_events._get/_new(index, table, key, what), state.dec(index, value, what): ``what`` ("participant",
# "lot_used_kg") only names the key or field in the refusal
NAMED_IN_MESSAGE = {"_get": 3, "_new": 3, "dec": 2}
SKIPPED = 34


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


class _Mask(ast.NodeTransformer):
    """Replace what a words-only mutant may change by placeholders, keeping a fail() index visible
    (and, with ``api``, an error's keywords: its code, field and rule)."""

    def __init__(self, api: bool = False) -> None:
        self.api = api

    def visit_Call(self, node: ast.Call) -> ast.AST:
        name = _name(node)
        if name in MESSAGE_CALLS:
            index = node.args[0] if node.args else None
            node.args = [self.visit(index)] if index is not None else []
            node.keywords = []
            return node
        if name in NAMED_IN_MESSAGE and len(node.args) > NAMED_IN_MESSAGE[name]:
            node.args[NAMED_IN_MESSAGE[name]] = ast.Constant("<words>")
        if name in API_ERRORS and self.api:  # the detail is words; code, field and rule are the contract
            node.args = [ast.Constant("<words>")] if node.args else []
            self.generic_visit(node)
            return node
        if name in MESSAGE_ERRORS:  # its message, code and rule: words (a dropped one is a TypeError)
            node.args, node.keywords = [], []
            return node
        self.generic_visit(node)
        return node


def _words_only(orig: ast.FunctionDef, mutant: ast.FunctionDef, api: bool = False) -> bool:
    a, b = copy.deepcopy(orig), copy.deepcopy(mutant)
    a.name = b.name = "f"
    if ast.dump(a) == ast.dump(b):
        return False  # identical: not a words mutant (mutmut would call it equivalent)
    if ast.dump(_Mask(api).visit(a)) == ast.dump(_Mask(api).visit(b)):
        return True
    if api:
        return False  # no fail()/broken() outside replay
    # a fail()/broken() argument dropped: fewer arguments, the index unchanged or gone with them
    return _dropped_message_args(orig, mutant)


def _dropped_message_args(orig: ast.FunctionDef, mutant: ast.FunctionDef) -> bool:
    def strip(tree: ast.FunctionDef) -> ast.FunctionDef:
        tree = copy.deepcopy(tree)
        tree.name = "f"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node) in MESSAGE_CALLS:
                node.args, node.keywords = [], []
        return tree

    if ast.dump(strip(orig)) != ast.dump(strip(mutant)):
        return False
    calls = lambda t: [n for n in ast.walk(t) if isinstance(n, ast.Call) and _name(n) in MESSAGE_CALLS]  # noqa: E731
    for x, y in zip(calls(orig), calls(mutant)):
        if ast.dump(x) == ast.dump(y):
            continue
        if len(y.args) >= len(x.args):
            return False  # an argument replaced, not dropped: the index may have changed
    return True


def words_mutants(source: str, api: bool = False) -> list[str]:
    tree = ast.parse(source)
    funcs: dict[str, ast.FunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs[node.name] = node
    found = []
    for name, node in funcs.items():
        base, sep, n = name.rpartition("__mutmut_")
        if not sep or not n.isdigit() or base + "__mutmut_orig" not in funcs:
            continue
        if _words_only(funcs[base + "__mutmut_orig"], node, api):
            found.append(name)
    return found


def main(key: str, dry: bool, api: bool) -> None:
    work = ROOT / ".mutants" / key / "mutants"
    total = 0
    for meta in sorted(work.rglob("*.py.meta")):
        source = meta.with_suffix("")  # x.py.meta -> x.py
        module = ".".join(source.relative_to(work).with_suffix("").parts)
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        marked = 0
        for func in words_mutants(source.read_text(), api):
            # mutmut keys methods as module.xǁClassǁmethod__mutmut_N and functions as module.x_f__mutmut_N
            name = f"{module}.{func}"
            if name in codes and codes[name] is None:
                codes[name] = SKIPPED
                marked += 1
        total += marked
        print(f"{marked:5} of {len(codes):5} words only: {module}")
        if marked and not dry:
            meta.write_text(json.dumps(data))
    print(f"{total} marked skipped{' (dry run: nothing written)' if dry else ''}")


if __name__ == "__main__":
    main(sys.argv[1], "--dry" in sys.argv[2:], "--api" in sys.argv[2:])

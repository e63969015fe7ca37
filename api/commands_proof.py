"""``arcreg verify-proof``: check a provenance proof offline (R-L6, SPEC §13.2).

No configuration and no database: only the proof file and the verifier key(s)
the user chose to trust — the point of a proof is that nobody has to trust
the registry's database.

After the proof's structure and inclusion (chainlog), the registry's rules:
the generated block's type and quantity re-derived from the lot entry in the
proof (R-L7c, `registry.proof_rules`). With ``--checkpoint`` (and
``--consistency`` when the log has grown) it says whether the state shown is
still current (`chainlog.freshness`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chainlog.errors import VerificationError
from chainlog.freshness import check_freshness
from chainlog.keys import parse_vkey
from chainlog.provenance import join_pages, verify_provenance
from registry.proof_rules import ProofRuleError, check_proof, check_receipts

#: Freshness failures that are the caller's to fix (wrong or missing file), not a bad log.
_USAGE = ("older_checkpoint", "consistency_required")


def _vkey_text(value: str) -> str:
    """A verifier key given inline, or the path of a file holding one."""
    path = Path(value)
    if "+" not in value and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


def _load(file, what: str):
    """A JSON file given beside the proof; one that is not JSON is the caller's to fix:
    a clear message, exit 2 (R-X9; never a traceback, deep nesting included)."""
    try:
        return json.load(file)
    except (ValueError, UnicodeError, RecursionError) as exc:
        _usage(f"{file.name}, {what}, is not JSON: {str(exc)[:200]}")


def _usage(why: str) -> None:
    click.echo(f"arcreg: {why}", err=True)
    sys.exit(2)


def _invalid(kind: str, index, why: str) -> None:
    where = "" if index is None else f" at index {index}"
    click.echo(f"INVALID: {kind}{where}: {why}", err=True)
    sys.exit(1)


# A provenance proof nests a few levels (proof, entries, entry, payload, ...);
# anything deeper is not one, and is refused before a recursive check sees it.
MAX_PROOF_DEPTH = 64


def _unreadable(proof_file, why: str) -> None:
    """R-X9: a file that is not a proof at all: a clear message, exit 2 (not INVALID, exit 1:
    that verdict is for a proof that does not verify)."""
    click.echo(f"arcreg: {proof_file.name} is not a provenance proof: {why}", err=True)
    sys.exit(2)


def _read_proof(proof_file):
    try:
        proof = json.load(proof_file)
    except RecursionError:
        _unreadable(proof_file, f"its JSON nests deeper than {MAX_PROOF_DEPTH} levels")
    except (ValueError, UnicodeError) as exc:  # ValueError: also an integer of more than 4 300 digits
        _unreadable(proof_file, f"not JSON ({exc})")
    if not isinstance(proof, dict):
        _unreadable(proof_file, "not a JSON object")
    stack = [(proof, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_PROOF_DEPTH:
                _unreadable(proof_file, f"its JSON nests deeper than {MAX_PROOF_DEPTH} levels")
            stack.extend((member, depth + 1) for member in (item.values() if isinstance(item, dict) else item))
    return proof


@click.command("verify-proof")
@click.argument("proof_files", metavar="FILE...", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
@click.option("--vkey", "--pubkey", "vkeys", multiple=True, required=True, metavar="VKEY",
              help="Trusted signed-note verifier key (GET /log/key `vkey`), or a file holding it. Repeatable.")
@click.option("--serial", default=None, help="The serial you asked about (default: the one the proof names).")
@click.option("--checkpoint", "newer_file", type=click.File("r", encoding="utf-8"), default=None,
              help="A newer signed checkpoint note (GET /log/checkpoint): is the state shown still current?")
@click.option("--consistency", "consistency_file", type=click.File("r", encoding="utf-8"), default=None,
              help="The JSON of GET /log/proof/consistency?first=<proof size>&second=<newer size>.")
def verify_proof(proof_files, vkeys: tuple[str, ...], serial: str | None, newer_file, consistency_file) -> None:
    """Verify a provenance proof FILE (the JSON of GET /blocks/{serial}/provenance; `-` for stdin).
    A long lineage served in pages (`next`): give every page's file; they are joined into one proof."""
    if consistency_file is not None and newer_file is None:
        _usage("--consistency needs --checkpoint (the newer checkpoint it leads to)")
    proof_file = proof_files[0]
    proof = _read_proof(proof_file)
    if len(proof_files) > 1:
        try:
            proof = join_pages([proof] + [_read_proof(f) for f in proof_files[1:]])
        except VerificationError as exc:
            _invalid(exc.kind, exc.index, exc.args[0] if exc.args else str(exc))
    try:
        verifiers = [parse_vkey(_vkey_text(v)) for v in vkeys]
    except VerificationError as exc:
        _usage(f"bad --vkey: {exc}")
    try:
        report = verify_provenance(proof, verifiers, serial=serial)
    except RecursionError:  # _read_proof bounds the depth; a last guard, never a traceback (R-X9)
        _unreadable(proof_file, "it nests too deeply to be a proof")
    except VerificationError as exc:
        # str(exc) would repeat the index; the message alone says why.
        _invalid(exc.kind, exc.index, exc.args[0] if exc.args else str(exc))
    try:
        derived = check_proof(report.lineage)
        receipts = check_receipts(report.lineage[0], report.upstream)
    except ProofRuleError as exc:
        _invalid("rule_violation", exc.index, str(exc))  # R-L7c
    fresh = None
    if newer_file is not None:
        try:
            newer = newer_file.read()
        except UnicodeError:
            _invalid("malformed", None, "--checkpoint: the file is not UTF-8 text")
        consistency = None if consistency_file is None else _load(consistency_file, "the consistency proof")
        try:
            fresh = check_freshness(report.checkpoint, newer, verifiers, consistency)
        except VerificationError as exc:
            if exc.kind in _USAGE:
                _usage(str(exc))
            _invalid(exc.kind, None, f"--checkpoint: {exc}")
    click.echo(f"OK: provenance of {report.serial} verified")
    click.echo(f"  lot {report.lot_reference}, generator {report.generator}")
    click.echo(f"  {report.entries} entries, current state {report.state}, owner {report.owner}, "
               f"quantity {report.quantity}")
    click.echo(f"  {derived.summary()}")
    for receipt in receipts:  # R-M6: the lot's custody receipts, each an entry of the same signed log
        r = receipt["payload"]
        click.echo(f"  input: receipt {r['receipt']} (entry {receipt['index']}), {r['reference']} from "
                   f"{r['supplier_name']} (certificate {r['supplier_certificate']}), {r['mass_kg']} kg "
                   f"{r['material_code']}, claim {r['claim']}, received {r['on']}")
    # A C2SP checkpoint carries no time; the block's last entry (signed) says when its state was logged.
    click.echo(f"  checkpoint {report.origin} size {report.checkpoint_size}: the state as of that size; "
               f"last lineage entry logged at {report.lineage[-1]['time']}")
    if fresh is None:
        click.echo("  not compared with a newer checkpoint (--checkpoint): the state may have changed since")
    else:
        click.echo(f"  {fresh.summary()}")

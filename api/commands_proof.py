"""``arcreg verify-proof``: check a provenance proof offline (R-L6, SPEC §13.2).

No configuration and no database: only the proof file and the verifier key(s)
the user chose to trust — the point of a proof is that nobody has to trust
the registry's database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chainlog.errors import VerificationError
from chainlog.keys import parse_vkey
from chainlog.provenance import verify_provenance


def _vkey_text(value: str) -> str:
    """A verifier key given inline, or the path of a file holding one."""
    path = Path(value)
    if "+" not in value and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


def _invalid(kind: str, index, why: str) -> None:
    where = "" if index is None else f" at index {index}"
    click.echo(f"INVALID: {kind}{where}: {why}", err=True)
    sys.exit(1)


@click.command("verify-proof")
@click.argument("proof_file", metavar="FILE", type=click.File("r", encoding="utf-8"))
@click.option("--vkey", "--pubkey", "vkeys", multiple=True, required=True, metavar="VKEY",
              help="Trusted signed-note verifier key (GET /log/key `vkey`), or a file holding it. Repeatable.")
@click.option("--serial", default=None, help="The serial you asked about (default: the one the proof names).")
def verify_proof(proof_file, vkeys: tuple[str, ...], serial: str | None) -> None:
    """Verify a provenance proof FILE (the JSON of GET /blocks/{serial}/provenance; `-` for stdin)."""
    try:
        proof = json.load(proof_file)
    except (ValueError, UnicodeError) as exc:
        _invalid("malformed", None, f"not JSON: {exc}")
    try:
        verifiers = [parse_vkey(_vkey_text(v)) for v in vkeys]
    except VerificationError as exc:
        click.echo(f"arcreg: bad --vkey: {exc}", err=True)
        sys.exit(2)
    try:
        report = verify_provenance(proof, verifiers, serial=serial)
    except VerificationError as exc:
        # str(exc) would repeat the index; the message alone says why.
        _invalid(exc.kind, exc.index, exc.args[0] if exc.args else str(exc))
    click.echo(f"OK: provenance of {report.serial} verified")
    click.echo(f"  lot {report.lot_reference}, generator {report.generator}")
    click.echo(f"  {report.entries} entries, current state {report.state}, owner {report.owner}, "
               f"quantity {report.quantity}")
    click.echo(f"  checkpoint {report.origin} size {report.checkpoint_size}")

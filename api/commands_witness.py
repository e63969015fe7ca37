"""`arcreg witness`: an independent witness of a registry's log (R-L9, C2SP tlog-witness).

It talks only to the public HTTP API and keeps its own state in a directory:

- ``registry.vkey``: the registry's checkpoint key, from ``--registry-vkey``
  or, on the first run only, from ``GET /log/key`` (trust on first use);
- ``checkpoint``: the last checkpoint note it verified and cosigned.

Each run fetches the latest checkpoint, checks the registry's signature,
proves it consistent with the stored one (RFC 9162 consistency proof), then
— as C2SP tlog-witness requires — persists the new checkpoint *before*
releasing a cosignature, so it can never later cosign a fork of something it
has signed. A rollback or a fork is refused loudly (exit 1) and the state is
left untouched: the stored note, signed by the registry, is the evidence.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from chainlog import merkle
from chainlog.checkpoint import Checkpoint, cosign, open_checkpoint, parse_checkpoint
from chainlog.errors import ChainlogError, VerificationError
from chainlog.keys import load_signer, parse_vkey
from chainlog.note import parse_note

KEY_FILE = "registry.vkey"
CHECKPOINT_FILE = "checkpoint"


class WitnessFailure(Exception):
    """Anything that stops this run; the message is for the operator."""


def _http(method: str, url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise WitnessFailure(f"cannot reach {url}: {getattr(error, 'reason', error)}") from None


def _get(url: str) -> bytes:
    status, raw = _http("GET", url)
    if status != 200:
        raise WitnessFailure(f"GET {url} answered {status}: {raw[:300].decode(errors='replace')}")
    return raw


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file in the same directory, fsync it, rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def _trusted_key(state: Path, api: str, given: str | None):
    """The registry key: pinned in the state; on first use from the option or GET /log/key."""
    pinned = state / KEY_FILE
    if pinned.exists():
        verifier = parse_vkey(pinned.read_text().strip())
        if given is not None and parse_vkey(given.strip()) != verifier:
            raise WitnessFailure(f"--registry-vkey differs from the key pinned in {pinned}: refusing")
        return verifier, False
    if given is not None:
        verifier = parse_vkey(given.strip())
    else:
        verifier = parse_vkey(json.loads(_get(f"{api}/log/key"))["vkey"])
    _write_atomically(pinned, verifier.vkey + "\n")
    return verifier, True


def _stored_checkpoint(state: Path) -> Checkpoint | None:
    """Our own last verified checkpoint; trusted as written (it is this witness's memory)."""
    path = state / CHECKPOINT_FILE
    if not path.exists():
        return None
    return parse_checkpoint(parse_note(path.read_text(encoding="utf-8")).text)


def _check_consistent(api: str, old: Checkpoint, new: Checkpoint) -> None:
    """Refuse a rollback or a fork: `new` must extend `old` (R-L9, RFC 9162 §2.1.4)."""
    if new.origin != old.origin:
        raise WitnessFailure(f"origin changed from {old.origin!r} to {new.origin!r}: refusing")
    if new.size < old.size:
        raise WitnessFailure(f"ROLLBACK: the registry now shows size {new.size}, "
                             f"but this witness already cosigned size {old.size}: refusing")
    hashes: list[bytes] = []
    if 0 < old.size < new.size:
        proof = json.loads(_get(f"{api}/log/proof/consistency?first={old.size}&second={new.size}"))
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    try:
        merkle.verify_consistency(old.size, new.size, old.root, new.root, hashes)
    except VerificationError as exc:
        raise WitnessFailure(f"FORK: the checkpoint of size {new.size} is not consistent with the one of "
                             f"size {old.size} this witness cosigned: {exc}; refusing") from None


def witness_once(registry: str, state: Path, key: Path, name: str, registry_vkey: str | None) -> str:
    """One witnessing round; returns the summary line or raises WitnessFailure."""
    api = registry.rstrip("/") + ("" if registry.rstrip("/").endswith("/api/v1") else "/api/v1")
    state.mkdir(parents=True, exist_ok=True)
    signer = load_signer(name, key)  # the key must exist (`arcreg keygen`), mode 0600 (R-L5)
    verifier, first_use = _trusted_key(state, api, registry_vkey)
    note = _get(f"{api}/log/checkpoint").decode("utf-8")
    try:
        new = open_checkpoint(note, [verifier])
    except VerificationError as exc:
        raise WitnessFailure(f"the registry's checkpoint does not verify with {verifier.vkey}: {exc}") from None
    old = _stored_checkpoint(state)
    if old is not None:
        _check_consistent(api, old, new)
    # Keep only the registry's signature: that is what we verified and store.
    parsed = parse_note(note)
    mine = [s for s in parsed.signatures if (s.name, s.key_id) == (verifier.name, verifier.key_id)]
    registry_note = parsed.text + "\n" + "".join(s.line() for s in mine)
    # C2SP tlog-witness: persist the checkpoint before releasing the cosignature.
    _write_atomically(state / CHECKPOINT_FILE, registry_note)
    cosignature = cosign(registry_note, signer, int(time.time()))
    status, raw = _http("POST", f"{api}/log/cosignatures",
                        {"checkpoint_size": new.size, "cosignature": cosignature.line()})
    if status not in (200, 201):
        raise WitnessFailure(f"the registry refused the cosignature ({status}): {raw[:500].decode(errors='replace')}")
    was = "first checkpoint, key trusted on first use" if first_use else (
        "first checkpoint" if old is None else f"consistent with size {old.size}")
    return f"witness {name}: cosigned {new.origin} size {new.size} ({was})"


@click.command()
@click.option("--registry", "registry_url", required=True, help="Base URL of the registry (e.g. https://host).")
@click.option("--state", "state_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory holding this witness's pinned key and last checkpoint.")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The witness's Ed25519 private key (PEM, mode 0600; make one with `arcreg keygen`).")
@click.option("--name", required=True,
              help="The witness's key name: the name in the verifier key the registry registered.")
@click.option("--registry-vkey", default=None,
              help="The registry's verifier key; default: GET /log/key on first use, then pinned.")
def witness(registry_url: str, state_dir: Path, key_file: Path, name: str, registry_vkey: str | None) -> None:
    """Verify the registry's newest checkpoint against the last one seen, and cosign it (R-L9)."""
    try:
        summary = witness_once(registry_url, state_dir, key_file, name, registry_vkey)
    except (WitnessFailure, ChainlogError, ValueError, KeyError) as exc:
        click.echo(f"arcreg witness: {exc}", err=True)
        sys.exit(1)
    click.echo(summary)


"""`arcreg witness` against a real `arcreg serve` (R-L9): real processes, SQLite in a tmp dir."""

from __future__ import annotations

import base64
import subprocess
import urllib.request

import pytest

from chainlog.checkpoint import cosigner_verifier, open_checkpoint, verify_cosignature
from chainlog.keys import parse_vkey
from chainlog.note import parse_note
from tests.serverproc import ARCREG, call, clean_env, serving

# A served registry on the real clock (no ARCREG_CLOCK): the witness and the server read today.
pytestmark = pytest.mark.wallclock

NAME = "auditor.example/w1"


def run(*args, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([ARCREG, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                          timeout=60)


def text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def add_participant(base: str, token: str, name: str) -> None:
    status, body = call("POST", f"{base}/api/v1/participants",
                        {"name": name, "country": "US", "gpp_signed_on": "2025-06-01"}, token)
    assert status == 201, body
    status, body = call("POST", f"{base}/api/v1/participants/{body['id']}/activate", {}, token)
    assert status == 200, body


@pytest.mark.slow
def test_witness_follows_the_registry_and_refuses_a_fork(tmp_path):
    env = {"ARCREG_DATABASE_URL": f"sqlite:///{tmp_path / 'arcreg.db'}"}
    admin = run("create-admin", "ops@example.org", cwd=tmp_path, env=env)
    assert admin.returncode == 0, admin.stderr
    token = admin.stdout.strip()
    keygen = run("keygen", str(tmp_path / "witness.pem"), "--name", NAME, cwd=tmp_path, env=env)
    assert keygen.returncode == 0, keygen.stderr
    state = tmp_path / "witness-state"
    witness = ["witness", "--state", str(state), "--key", str(tmp_path / "witness.pem"), "--name", NAME]

    with serving(tmp_path, env, workers=2, log_path=tmp_path / "serve.log") as (base, _process):
        status, registered = call("POST", f"{base}/api/v1/witnesses", {"vkey": keygen.stdout.strip()}, token)
        assert status == 201, registered
        verifier = parse_vkey(registered["vkey"], alg=0x04)
        assert verifier == cosigner_verifier(NAME, parse_vkey(keygen.stdout.strip()).public_key)
        registry_key = parse_vkey(call("GET", f"{base}/api/v1/log/key")[1]["vkey"])

        add_participant(base, token, "Acme")
        first = run(*witness, "--registry", base, cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        assert "first checkpoint" in first.stdout and len(first.stdout.splitlines()) == 1
        assert (state / "registry.vkey").read_text().strip() == registry_key.vkey  # pinned on first use
        size1 = open_checkpoint(text(f"{base}/api/v1/log/checkpoint"), [registry_key]).size

        add_participant(base, token, "Second")
        second = run(*witness, "--registry", base, cwd=tmp_path, env=env)
        assert second.returncode == 0, second.stderr
        assert f"consistent with size {size1}" in second.stdout
        served = text(f"{base}/api/v1/log/checkpoint")
        size2 = open_checkpoint(served, [registry_key]).size
        assert size2 == size1 + 2 and f"size {size2}" in second.stdout
        verify_cosignature(served, verifier)
        assert parse_note((state / "checkpoint").read_text()).text == parse_note(served).text

        # Tamper with the witness's memory: same size, another root. The registry's next
        # checkpoint cannot be proved consistent with it: a fork, refused, nothing posted.
        lines = (state / "checkpoint").read_text().split("\n")
        lines[2] = base64.b64encode(bytes(32)).decode()
        tampered = "\n".join(lines)
        (state / "checkpoint").write_text(tampered)
        add_participant(base, token, "Third")
        forked = run(*witness, "--registry", base, cwd=tmp_path, env=env)
        assert forked.returncode == 1 and "FORK" in forked.stderr and "Traceback" not in forked.stderr
        assert (state / "checkpoint").read_text() == tampered
        integrity = call("GET", f"{base}/api/v1/admin/integrity", token=token)[1]
        assert integrity["witnesses"][0]["cosigned_size"] == size2
        assert len(parse_note(text(f"{base}/api/v1/log/checkpoint")).signatures) == 1

        # A registry that shrinks below what the witness has cosigned: a rollback.
        lines[1] = str(size2 + 1000)
        (state / "checkpoint").write_text("\n".join(lines))
        rolled = run(*witness, "--registry", base, cwd=tmp_path, env=env)
        assert rolled.returncode == 1 and "ROLLBACK" in rolled.stderr

        # A different registry key than the pinned one is refused before anything is fetched.
        other = run(*witness, "--registry", base, "--registry-vkey", keygen.stdout.strip(), cwd=tmp_path,
                    env=env)
        assert other.returncode == 1 and "pinned" in other.stderr
    assert "Traceback" not in (tmp_path / "serve.log").read_text()

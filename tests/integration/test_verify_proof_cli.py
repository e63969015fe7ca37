"""``arcreg verify-proof`` as a user runs it (R-L6): a real process, a saved
proof file, no database configured."""

from __future__ import annotations

import json
import subprocess

from tests.serverproc import ARCREG, clean_env
from tests.unit.chainlog.test_provenance_verify import RETIRED, SIGNER, build


def run(*args, cwd, stdin=None) -> subprocess.CompletedProcess:
    # clean_env drops every ARCREG_ variable: no database URL, no key file.
    return subprocess.run([ARCREG, *args], check=False, cwd=cwd, env=clean_env(), input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_valid_proof_file_exits_0_with_a_summary(tmp_path):
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(build()))
    result = run("verify-proof", str(path), "--vkey", SIGNER.vkey, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert RETIRED in result.stdout and "retired" in result.stdout and "LOT-1" in result.stdout
    assert list(tmp_path.iterdir()) == [path]  # no database was created or opened


def test_proof_from_stdin_and_key_from_a_file(tmp_path):
    (tmp_path / "log.vkey").write_text(SIGNER.vkey + "\n")
    result = run("verify-proof", "-", "--vkey", str(tmp_path / "log.vkey"), cwd=tmp_path,
                 stdin=json.dumps(build()))
    assert result.returncode == 0, result.stderr


def test_tampered_proof_exits_1_naming_kind_and_index(tmp_path):
    proof = build()
    entry = proof["entries"][2]
    entry["canonical"] = entry["canonical"].replace('"quantity":"40.000"', '"quantity":"41.000"', 1)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(proof))
    result = run("verify-proof", str(path), "--vkey", SIGNER.vkey, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"INVALID: root_mismatch at index {entry['index']}: ")


def test_untrusted_key_and_garbage_exit_1(tmp_path):
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(build()))
    other = SIGNER.from_seed("arcreg.test/log", bytes(32)).vkey
    result = run("verify-proof", str(path), "--vkey", other, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("INVALID: unverified: ")
    path.write_text("{not json")
    result = run("verify-proof", str(path), "--vkey", SIGNER.vkey, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("INVALID: malformed: ")

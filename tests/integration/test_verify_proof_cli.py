"""``arcreg verify-proof`` as a user runs it (R-L6): a real process, a saved
proof file, no database configured."""

from __future__ import annotations

import json
import subprocess

import pytest

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


def test_untrusted_key_exits_1_and_garbage_2(tmp_path):
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(build()))
    other = SIGNER.from_seed("arcreg.test/log", bytes(32)).vkey
    result = run("verify-proof", str(path), "--vkey", other, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("INVALID: unverified: ")
    path.write_text("{not json")
    result = run("verify-proof", str(path), "--vkey", SIGNER.vkey, cwd=tmp_path)
    # R-X9: not a proof at all is a usage error (exit 2), not the INVALID verdict (exit 1).
    assert result.returncode == 2 and result.stderr.startswith(f"arcreg: {path} is not a provenance proof: not JSON")


@pytest.mark.parametrize(("content", "why"), [
    ("[" * 100_000 + "]" * 100_000, "nests deeper than 64 levels"),  # the finding: a traceback before
    ('{"a":' * 200 + "1" + "}" * 200, "nests deeper than 64 levels"),  # parses, but deeper than any proof
    ('{"n": ' + "9" * 5000 + "}", "not JSON"),  # more digits than Python converts
    ("[1, 2]", "not a JSON object"),
    ("\udcff", "not JSON"),  # not UTF-8
])
def test_a_file_that_is_not_a_proof_gets_a_message_and_exit_2(tmp_path, content, why):
    """R-X9 (issue 16, finding 8): never a traceback; exit 2, the file and the reason named."""
    path = tmp_path / "proof.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    result = run("verify-proof", str(path), "--vkey", SIGNER.vkey, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(f"arcreg: {path} is not a provenance proof: ") and why in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""

"""Secrets stay secret (R-L5, R-P5), checked on real processes: `arcreg serve`
refuses a signing key readable by others, and no token, token hash or
private key material reaches a log — in-process at DEBUG, nor the stdout and
stderr of `arcreg keygen`, `create-admin` and `serve`."""

from __future__ import annotations

import base64
import logging
import os
import stat
import subprocess
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization

from registry.identity import hash_token
from tests.api.conftest import NOW
from tests.serverproc import ARCREG, call, clean_env, free_port, serving

# A served registry on the real clock (no ARCREG_CLOCK).
pytestmark = pytest.mark.wallclock


def run(*args, cwd, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([ARCREG, *args], check=False, cwd=cwd, env=clean_env(**(env or {})), capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_serve_refuses_a_signing_key_readable_by_others(tmp_path, mode):
    key = tmp_path / "signing.pem"
    assert run("keygen", str(key), cwd=tmp_path).returncode == 0
    os.chmod(key, mode)
    env = {"ARCREG_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "ARCREG_SIGNING_KEY_FILE": str(key)}
    result = run("serve", "--port", str(free_port()), "--workers", "1", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"signing key {key} has mode {mode:04o}; it must be 0600" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Booting worker" not in result.stderr + result.stdout  # refused before gunicorn starts
    assert stat.S_IMODE(key.stat().st_mode) == mode  # reported, never silently "fixed"


def test_keygen_refuses_to_overwrite_without_a_traceback(tmp_path):
    key = tmp_path / "signing.pem"
    assert run("keygen", str(key), cwd=tmp_path).returncode == 0
    before = key.read_bytes()
    again = run("keygen", str(key), cwd=tmp_path)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr and "Traceback" not in again.stderr
    assert key.read_bytes() == before


def _key_material(pem: bytes) -> list[str]:
    key = serialization.load_pem_private_key(pem, password=None)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    body = [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
    return [*body, raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]


def _secrets(tokens: list[str]) -> list[str]:
    return [*tokens, *(hash_token(t) for t in tokens)]


def _assert_absent(secrets: list[str], text: str, where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:6]}…) appears in {where}"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_secret_in_the_in_process_logs_at_debug(driver, clock, caplog, backend):
    caplog.set_level(logging.DEBUG)  # every logger of the registry and its libraries
    # SQLAlchemy's statement log too (WARN unless asked): its bound values are hidden
    # (make_engine). Its DEBUG level dumps result rows, a data dump by design: never in production.
    caplog.set_level(logging.INFO, logger="sqlalchemy")
    participant = driver.participant()
    user = driver.ok(f"/participants/{participant['id']}/users", {"email": "ops@acme.example"})
    token = driver.ok(f"/users/{user['id']}/tokens", {})["token"]
    headers = {"Authorization": f"Bearer {driver.admin}", "Idempotency-Key": "issue-1"}
    issued = [driver.client.post(f"/api/v1/users/{user['id']}/tokens", json={}, headers=headers) for _ in range(2)]
    assert issued[1].headers.get("Idempotent-Replayed") == "true"
    replayed = issued[0].get_json()["token"]
    short = driver.ok(f"/users/{user['id']}/tokens", {"expires_at": "2026-03-02T10:00:00Z"})
    assert driver.get(f"/participants/{participant['id']}", token).status_code == 200
    assert driver.post("/transfers", {"serial": "x"}, token).status_code == 400
    clock.set(NOW.replace(hour=11))
    assert driver.get(f"/participants/{participant['id']}", short["token"]).status_code == 401  # expired
    assert driver.client.delete(f"/api/v1/tokens/{short['id']}", headers={
        "Authorization": f"Bearer {driver.admin}"}).status_code == 204
    for guess in (token[:-2], "arc_" + "A" * 43, hash_token(token)):  # failed logins
        assert driver.get(f"/participants/{participant['id']}", guess).status_code == 401
    assert "SELECT" in caplog.text and "api_token" in caplog.text  # DEBUG capture really ran
    _assert_absent(_secrets([driver.admin, token, replayed, short["token"]]), caplog.text, "the DEBUG log")


@pytest.mark.slow
def test_no_secret_in_the_output_of_the_commands_and_the_server(tmp_path):
    env = {"ARCREG_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
           "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "signing.pem")}
    keygen = run("keygen", env["ARCREG_SIGNING_KEY_FILE"], cwd=tmp_path, env=env)
    admin = run("create-admin", "ops@example.org", cwd=tmp_path, env=env)
    assert keygen.returncode == 0 and admin.returncode == 0, keygen.stderr + admin.stderr
    admin_token = admin.stdout.strip()
    key_material = _key_material((tmp_path / "signing.pem").read_bytes())
    _assert_absent(key_material + [hash_token(admin_token)], keygen.stdout + keygen.stderr + admin.stdout, "output")
    _assert_absent(_secrets([admin_token]), admin.stderr, "create-admin's stderr")

    log_path = tmp_path / "server.log"  # stdout and stderr: gunicorn's access and error logs
    tokens = [admin_token]
    with serving(tmp_path, env, workers=2, log_path=log_path) as (base, _):
        status, participant = call("POST", f"{base}/api/v1/participants",
                                   {"name": "Acme", "country": "US", "gpp_signed_on": "2025-06-01"}, admin_token)
        assert status == 201
        status, user = call("POST", f"{base}/api/v1/participants/{participant['id']}/users",
                            {"email": "ops@acme.example"}, admin_token)
        assert status == 201
        for _ in range(3):
            status, issued = call("POST", f"{base}/api/v1/users/{user['id']}/tokens", {}, admin_token)
            assert status == 201
            tokens.append(issued["token"])
        for token in tokens:
            assert call("GET", f"{base}/api/v1/participants/{participant['id']}", token=token)[0] == 200
        assert call("DELETE", f"{base}/api/v1/tokens/{issued['id']}", token=admin_token)[0] == 204
        assert call("GET", f"{base}/api/v1/participants/{participant['id']}", token=tokens[-1])[0] == 401
        for guess in (tokens[1][:-1], "arc_wrong", hash_token(tokens[1])):
            assert call("POST", f"{base}/api/v1/participants", {}, guess)[0] == 401
        with urllib.request.urlopen(f"{base}/api/v1/log/checkpoint", timeout=30) as checkpoint:
            assert checkpoint.status == 200  # signed on demand: the key is loaded and used
    log = log_path.read_text()
    assert "Booting worker" in log and "GET /api/v1/participants" in log  # the log was captured
    _assert_absent(_secrets(tokens) + key_material, log, "the server's output")

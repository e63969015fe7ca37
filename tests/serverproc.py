"""Start a real `arcreg serve` process on 127.0.0.1 for tests that need one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ARCREG = str(Path(sys.executable).with_name("arcreg"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ARCREG_")}
    environment.update(extra)
    return environment


def wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@contextmanager
def serving(cwd, env: dict, workers: int = 2, log_path=None):
    """Yield the base URL of a running server; terminate it afterwards."""
    port = free_port()
    # A test's clients write (and read proofs) faster than any real one.
    env = {"ARCREG_RATE_LIMIT": "100000/minute", "ARCREG_READ_RATE_LIMIT": "100000/minute", **env}
    log = open(log_path or os.devnull, "w")
    process = subprocess.Popen([ARCREG, "serve", "--port", str(port), "--workers", str(workers)], cwd=cwd,
                               env=clean_env(**env), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # its own group: kill -9 takes the workers too
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/api/v1/health", process)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL the server and all its workers at once, as a power cut would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def call(method: str, url: str, body: dict | None = None, token: str | None = None,
         headers: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else {}

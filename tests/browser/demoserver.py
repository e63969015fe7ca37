"""A real `arcreg serve` over the demo registry (registry/demo.py), plus what
the demo leaves for a live registry to show: a participant waiting for
activation and a witness that has cosigned the latest checkpoint (R-L9).
Used by the browser tests and by scripts/screenshots.py."""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from registry.config import Config
from registry.db import make_engine
from registry.demo import build_demo
from registry.migrate import upgrade
from tests.serverproc import ARCREG, call, clean_env, serving

CHROMIUM = "/usr/bin/chromium"
# Headless, and quiet: without the background-networking flags Chromium
# keeps trying to reach its update and sync services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WITNESS = "auditor.example/witness"
# The demo is built and served on a pinned clock (R-U5): its serials, years and dates are the same
# whatever the day the tests run (a wall-clock demo turned these tests red on 1 January).
DEMO_CLOCK = "2026-03-02T09:30:00Z"
DEMO_YEAR = int(DEMO_CLOCK[:4])
RETIRED = f"PC_P_PP_ARC-{DEMO_YEAR}-1-000000000001-000000040000"


class Login(NamedTuple):
    """A demo account's sign-in (R-W1), as `arcreg demo` prints it."""

    email: str
    password: str
    totp_secret: str | None


class Served(NamedTuple):
    base: str  # the served registry's URL
    admin: str  # the demo administrator's API token
    logins: dict  # role label → Login: administrator, certifier, generator, brand


def demo_logins(summary: str) -> dict:
    found = re.findall(r"^  (.+?): email (\S+) password (\S+)(?: totp-secret (\S+))?$", summary, re.M)
    labels = {"administrator": "administrator", "certifier (NSF)": "certifier",
              "member, generator (Great Lakes Reprocessing)": "generator",
              "member, brand (Northwind Packaging)": "brand",
              "member, trader (Cascade Trading)": "trader"}
    return {labels[label]: Login(email, password, secret or None) for label, email, password, secret in found}


def _arcreg(*args: str, cwd: Path, env: dict) -> str:
    run = subprocess.run([ARCREG, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                         timeout=60, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"arcreg {args[0]} failed: {run.stdout}{run.stderr}")
    return run.stdout.strip()


@contextmanager
def demo_server(directory: Path, *, witness: bool = True):
    """Yield the served demo registry: its URL, the administrator's token, the demo sign-ins."""
    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(directory / 'demo.db').resolve()}"
    env = {"ARCREG_DATABASE_URL": url, "ARCREG_SIGNING_KEY_FILE": str((directory / "signing-key.pem").resolve()),
           "ARCREG_CLOCK": DEMO_CLOCK}
    engine = make_engine(url)
    upgrade(engine)
    summary = build_demo(engine, Config(database_url=url, clock=DEMO_CLOCK))
    engine.dispose()
    admin = re.findall(r"arc_[A-Za-z0-9_-]+", summary)[0]
    with serving(directory, env, workers=1, log_path=directory / "serve.log") as (base, _process):
        status, body = call("POST", f"{base}/api/v1/participants",
                            {"name": "Harbor Films", "country": "MX", "gpp_signed_on": "2025-11-20"}, admin)
        assert status == 201, body
        if witness:
            key = directory / "witness.pem"
            if key.exists():
                os.unlink(key)
            vkey = _arcreg("keygen", str(key), "--name", WITNESS, cwd=directory, env=env)
            status, body = call("POST", f"{base}/api/v1/witnesses", {"vkey": vkey}, admin)
            assert status == 201, body
            _arcreg("witness", "--registry", base, "--state", str(directory / "witness-state"), "--key", str(key),
                    "--name", WITNESS, cwd=directory, env=env)
        yield Served(base, admin, demo_logins(summary))

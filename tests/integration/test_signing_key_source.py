"""R-L5: the registry's signing key comes from the ``ARCREG_SIGNING_KEY``
environment variable (PEM text) when set, else from a PEM file; without
either, only a process allowed to create one (serve) makes a key, and a
verifier (`arcreg verify`) refuses to guess whom to trust (issue 21, item 2)."""

from __future__ import annotations

import stat
import subprocess

import pytest

from chainlog import store
from chainlog.checkpoint import open_checkpoint
from chainlog.keys import Signer, parse_vkey
from registry.config import KEY_FILE_NAME, Config
from registry.db import session_factory
from registry.signing import load_signer
from tests.conftest import NOW
from tests.serverproc import ARCREG, clean_env

ORIGIN = "registry.test/log"


def _env_signer() -> Signer:
    return Signer.from_seed(ORIGIN, bytes(range(7, 39)))


def test_the_key_from_the_environment_wins_and_no_file_is_written(tmp_path):
    key = _env_signer()
    key_file = tmp_path / "configured-key.pem"
    config = Config.from_env({"ARCREG_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
                              "ARCREG_SIGNING_KEY": key.private_pem().decode(),
                              "ARCREG_SIGNING_KEY_FILE": str(key_file), "ARCREG_LOG_ORIGIN": ORIGIN})
    for create in (False, True):
        assert load_signer(config, create=create).vkey == key.vkey
    assert not key_file.exists() and not (tmp_path / KEY_FILE_NAME).exists()


def test_without_a_key_a_verifier_refuses_and_only_create_makes_one(tmp_path):
    config = Config.from_env({"ARCREG_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
                              "ARCREG_LOG_ORIGIN": ORIGIN})
    expected = tmp_path / KEY_FILE_NAME  # next to the SQLite database (SPEC §13.2)
    with pytest.raises(FileNotFoundError) as missing:
        load_signer(config)
    assert str(expected) in str(missing.value) and "arcreg keygen" in str(missing.value)
    assert not expected.exists()  # a verifier never creates the key it should trust
    created = load_signer(config, create=True)
    assert stat.S_IMODE(expected.stat().st_mode) == 0o600
    assert load_signer(config).vkey == created.vkey  # and the next start reads the same key


def test_the_api_signs_with_the_key_from_the_environment(engine, db_url, clock, tmp_path):
    from api import create_app

    key = _env_signer()
    config = Config.from_env({"ARCREG_DATABASE_URL": db_url, "ARCREG_SIGNING_KEY": key.private_pem().decode(),
                              "ARCREG_LOG_ORIGIN": ORIGIN, "ARCREG_RATE_LIMIT": "off"})
    config = config.with_(signing_key_file=tmp_path / "unused-key.pem")
    client = create_app(config, clock=clock, engine=engine).test_client()
    served = client.get("/api/v1/log/key").get_json()
    assert served["vkey"] == key.vkey
    note = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    checkpoint = open_checkpoint(note, [parse_vkey(key.vkey)], origin=ORIGIN)
    with session_factory(engine)() as session:
        assert checkpoint.size == store.size(session)
    assert not (tmp_path / "unused-key.pem").exists()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_arcreg_verify_reads_the_environment_key_and_fails_without_one(engine, db_url, tmp_path):
    key = _env_signer()
    with session_factory(engine)() as session:
        store.append(session, type="note.test", actor="system", payload={"n": 1}, time=NOW)
        store.sign_checkpoint(session, key, ORIGIN, NOW)
        session.commit()
    env = {"ARCREG_DATABASE_URL": db_url, "ARCREG_LOG_ORIGIN": ORIGIN}
    done = subprocess.run([ARCREG, "verify"], env=clean_env(**env, ARCREG_SIGNING_KEY=key.private_pem().decode()),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith("OK: "), done.stdout + done.stderr
    missing = subprocess.run([ARCREG, "verify"], env=clean_env(**env), capture_output=True, text=True,
                             timeout=120, check=False)
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "no verifier key" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / KEY_FILE_NAME).exists()
    wrong = Signer.from_seed(ORIGIN, bytes(32))  # a key that did not sign the log
    refused = subprocess.run([ARCREG, "verify"], env=clean_env(**env, ARCREG_SIGNING_KEY=wrong.private_pem().decode()),
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1 and refused.stdout.startswith("FAILED: "), refused.stdout + refused.stderr

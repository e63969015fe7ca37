"""R-L5b: no silent key change (issue 16, finding 5).

A registry whose checkpoints key K signed is never signed by another key
unless a ``key.rotated`` entry from K introduced it: `arcreg serve` refuses
to start (message, exit 2), the app factory and every signing path refuse,
a missing key file is not replaced by a new one, and `arcreg verify` reports
``key_changed``. A fresh registry still generates its key on first start.
Real `arcreg serve` processes on SQLite and PostgreSQL, the finding's own
scenario on PostgreSQL: started from another directory without
ARCREG_SIGNING_KEY_FILE.
"""

from __future__ import annotations

import subprocess
import urllib.request

import pytest

from api import create_app
from chainlog import store
from chainlog.continuity import KeyContinuityError, check_key, trust_root
from chainlog.keys import Signer, generate_key_file, rotation_payload
from registry.config import KEY_FILE_NAME, Config
from registry.db import session_factory
from registry.signing import load_log_signer
from tests.conftest import NOW
from tests.serverproc import ARCREG, clean_env, free_port, serving

ORIGIN = "registry.test/log"


def _key(n: int) -> Signer:
    return Signer.from_seed(ORIGIN, bytes([n]) * 32)


def _sign_some(engine, signer: Signer, entries: int = 2) -> int:
    with session_factory(engine)() as session:
        for i in range(entries):
            store.append(session, type="note.test", actor="system", payload={"n": i}, time=NOW)
        size = store.sign_checkpoint(session, signer, ORIGIN, NOW).size
        session.commit()
    return size


def _checkpoints(engine) -> list[int]:
    with session_factory(engine)() as session:
        return [c.size for c in store.iter_checkpoints(session)]


def test_a_fresh_log_takes_any_key_and_a_signed_one_only_its_own(engine):
    k, m = _key(1), _key(2)
    with session_factory(engine)() as session:
        check_key(session, m.verifier)  # nothing signed yet: any key may start the log
    _sign_some(engine, k)
    with session_factory(engine)() as session:
        check_key(session, k.verifier)
        with pytest.raises(KeyContinuityError) as refused:
            check_key(session, m.verifier)
    message = str(refused.value)
    assert refused.value.kind == "key_changed"
    assert k.key_id.hex() in message and m.key_id.hex() in message  # names both keys
    assert "ARCREG_SIGNING_KEY_FILE" in message and "arcreg rotate-key" in message  # and what to do
    assert "R-L5b" in message


def test_signing_with_another_key_is_refused_and_writes_nothing(engine):
    k, m = _key(1), _key(2)
    _sign_some(engine, k)
    with session_factory(engine)() as session:
        store.append(session, type="note.test", actor="system", payload={"n": 9}, time=NOW)
        with pytest.raises(KeyContinuityError):
            store.sign_checkpoint(session, m, ORIGIN, NOW)
        session.rollback()
    assert _checkpoints(engine) == [2]


def test_a_rotation_introduces_the_new_key_and_retires_the_old(engine):
    k, m, mallory = _key(1), _key(2), _key(3)
    _sign_some(engine, k)
    with session_factory(engine)() as session:
        store.append(session, type="key.rotated", actor="system", payload=rotation_payload(k, m), time=NOW)
        session.commit()
    with session_factory(engine)() as session:
        check_key(session, m.verifier)  # the rotation after the latest checkpoint introduced m
        with pytest.raises(KeyContinuityError, match="key.rotated entries make"):
            check_key(session, k.verifier)  # k was rotated away: it signs nothing more
        with pytest.raises(KeyContinuityError):
            check_key(session, mallory.verifier)
        store.sign_checkpoint(session, m, ORIGIN, NOW)
        session.commit()
    with session_factory(engine)() as session:
        check_key(session, m.verifier)  # the latest checkpoint is now m's
        assert trust_root(session, m.verifier) == k.verifier  # m vouches for k through the rotation
        assert trust_root(session, mallory.verifier) == mallory.verifier
    assert _checkpoints(engine) == [2, 3]


def test_a_forged_rotation_does_not_introduce_a_key(engine):
    k, mallory = _key(1), _key(3)
    _sign_some(engine, k)
    forged = rotation_payload(mallory, mallory) | {"outgoing_vkey": k.vkey}
    with session_factory(engine)() as session:
        store.append(session, type="key.rotated", actor="system", payload=forged, time=NOW)
        session.commit()
    with session_factory(engine)() as session:
        with pytest.raises(KeyContinuityError) as refused:
            check_key(session, mallory.verifier)
    assert refused.value.index == 2 and "does not verify" in str(refused.value)


def test_a_missing_key_file_is_generated_only_for_an_unsigned_log(engine, db_url, tmp_path):
    config = Config(database_url=db_url, signing_key_file=tmp_path / "first.pem", log_origin=ORIGIN)
    first = load_log_signer(config, engine, create=True)  # fresh: generated, as before
    assert (tmp_path / "first.pem").exists()
    _sign_some(engine, first)
    moved = config.with_(signing_key_file=tmp_path / "elsewhere" / "key.pem")
    with pytest.raises(KeyContinuityError) as refused:
        load_log_signer(moved, engine, create=True)
    assert "no signing key at" in str(refused.value) and first.key_id.hex() in str(refused.value)
    assert not (tmp_path / "elsewhere" / "key.pem").exists()
    assert load_log_signer(config, engine, create=True).vkey == first.vkey


def test_the_app_factory_refuses_another_key(engine, db_url, clock, tmp_path):
    k, m = _key(1), _key(2)
    _sign_some(engine, k)
    config = Config(database_url=db_url, signing_key_pem=m.private_pem().decode(), log_origin=ORIGIN,
                    rate_limit="off")
    with pytest.raises(KeyContinuityError):
        create_app(config, clock=clock, engine=engine)
    app = create_app(config.with_(signing_key_pem=k.private_pem().decode()), clock=clock, engine=engine)
    assert app.test_client().get("/api/v1/log/checkpoint").status_code == 200


# --- real processes ------------------------------------------------------------------------


def _serve_refused(cwd, env: dict) -> subprocess.CompletedProcess:
    """`arcreg serve` that must refuse to start: it exits by itself, quickly."""
    done = subprocess.run([ARCREG, "serve", "--port", str(free_port()), "--workers", "1"], cwd=cwd,
                          env=clean_env(**env), capture_output=True, text=True, timeout=90, check=False)
    return done


def _run(args: list[str], cwd, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([ARCREG, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                          timeout=300, check=False)


def _sign_through_the_api(base: str) -> str:
    """GET the checkpoint: the server signs one with its key (a signed note)."""
    with urllib.request.urlopen(f"{base}/api/v1/log/checkpoint", timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def _scenario(base_env: dict, first_dir, second_dir, second_env: dict) -> None:
    """Serve once (key generated), sign; then start differently configured: refused."""
    with serving(first_dir, base_env, workers=1) as (base, _process):
        _sign_through_the_api(base)  # a checkpoint signed by the generated key
    refused = _serve_refused(second_dir, {**base_env, **second_env})
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing to start" in refused.stderr and "R-L5b" in refused.stderr, refused.stderr
    assert "ARCREG_SIGNING_KEY_FILE" in refused.stderr and "Traceback" not in refused.stderr
    assert not (second_dir / KEY_FILE_NAME).exists()  # no silent new key


@pytest.mark.parametrize("backend", ["postgresql"])
def test_finding_5_serve_from_another_directory_on_postgresql(db_url, tmp_path):
    """The finding: an existing PostgreSQL registry, `arcreg serve` from another
    directory without ARCREG_SIGNING_KEY_FILE. Before: a new key in ./ and a
    checkpoint signed with it, for good. Now: refused, nothing written."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    env = {"ARCREG_DATABASE_URL": db_url, "ARCREG_LOG_ORIGIN": ORIGIN}
    _scenario(env, first, second, {})
    # `arcreg verify` from there: no key to trust (it never generates one).
    assert _run(["verify"], second, env).returncode == 2
    # With the original key configured, from anywhere, it starts and verifies.
    key_env = {**env, "ARCREG_SIGNING_KEY_FILE": str(first / KEY_FILE_NAME)}
    with serving(second, key_env, workers=1) as (base, _process):
        _sign_through_the_api(base)
    verified = _run(["verify"], second, key_env)
    assert verified.returncode == 0 and verified.stdout.startswith("OK: "), verified.stdout + verified.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_and_verify_refuse_another_key_until_it_is_rotated_in(db_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    key_file, other_file = tmp_path / "k.pem", tmp_path / "m.pem"
    generate_key_file(ORIGIN, key_file)
    other = generate_key_file(ORIGIN, other_file)
    env = {"ARCREG_DATABASE_URL": db_url, "ARCREG_LOG_ORIGIN": ORIGIN, "ARCREG_SIGNING_KEY_FILE": str(key_file)}
    other_env = {**env, "ARCREG_SIGNING_KEY_FILE": str(other_file)}
    # A configured key file that does not exist: not generated, refused.
    missing = {**env, "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "missing.pem")}
    with serving(home, env, workers=1) as (base, _process):
        _sign_through_the_api(base)
    for changed in (missing, other_env):
        refused = _serve_refused(home, changed)
        assert refused.returncode == 2 and "R-L5b" in refused.stderr, refused.stderr
    assert not (tmp_path / "missing.pem").exists()
    # The key in the environment (ARCREG_SIGNING_KEY) is checked the same way.
    as_env = {**env, "ARCREG_SIGNING_KEY": other.private_pem().decode()}
    assert _serve_refused(home, as_env).returncode == 2
    verify = _run(["verify"], home, other_env)
    assert verify.returncode == 1 and verify.stdout.startswith("FAILED: key_changed: "), verify.stdout
    assert other.key_id.hex() in verify.stdout
    # The way to change keys: rotate with the current key, then serve with the new one.
    rotated = _run(["rotate-key", str(other_file)], home, env)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "key.rotated at entry" in rotated.stdout
    assert _serve_refused(home, env).returncode == 2  # the old key is retired
    with serving(home, other_env, workers=1) as (base, _process):
        _sign_through_the_api(base)
    verified = _run(["verify"], home, other_env)
    assert verified.returncode == 0 and verified.stdout.startswith("OK: "), verified.stdout + verified.stderr
    stale = _run(["verify"], home, env)
    assert stale.returncode == 1 and "key_changed" in stale.stdout


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_fresh_registry_still_generates_its_key(db_url, tmp_path):
    env = {"ARCREG_DATABASE_URL": db_url, "ARCREG_LOG_ORIGIN": ORIGIN,
           "ARCREG_SIGNING_KEY_FILE": str(tmp_path / "new.pem")}
    with serving(tmp_path, env, workers=1) as (base, _process):
        _sign_through_the_api(base)
    assert (tmp_path / "new.pem").exists()

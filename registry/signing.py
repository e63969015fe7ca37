"""The registry's checkpoint signing key (R-L5): from a PEM file or the
environment, never from the database; generated on first start only for a
log that nothing has signed yet, and never another key than the one that
signed the log's checkpoints, unless a ``key.rotated`` entry introduced it (R-L5b)."""

from __future__ import annotations

from typing import Any

from chainlog.continuity import REMEDY, KeyContinuityError, check_key, has_checkpoints, latest_signer
from chainlog.keys import Signer, generate_key_file, load_signer as load_key_file

from registry.config import Config

__all__ = ["KeyContinuityError", "load_signer", "load_log_signer"]


def load_signer(config: Config, *, create: bool = False) -> Signer:
    """The key named by the log origin (the signed-note key name)."""
    if config.signing_key_pem:
        return Signer.from_pem(config.log_origin, config.signing_key_pem)
    path = config.default_key_path()
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no signing key at {path}; run `arcreg keygen {path}`")
        return generate_key_file(config.log_origin, path)
    return load_key_file(config.log_origin, path)


def load_log_signer(config: Config, engine: Any, *, create: bool = False) -> Signer:
    """The configured key, checked against the log in `engine` (R-L5b).

    A missing key file is generated only when ``create`` is set and the log has
    no checkpoint yet; a registry whose checkpoints some key signed needs that
    key (or its rotated successor), and gets a KeyContinuityError saying so.
    Raises KeyFileError for an unreadable or unsafe key, as `load_signer`.
    """
    with engine.connect() as conn:
        if (create and not config.signing_key_pem and not config.default_key_path().exists()
                and has_checkpoints(conn)):
            raise KeyContinuityError(
                f"no signing key at {config.default_key_path()}, and this registry's checkpoints were signed by "
                f"{latest_signer(conn)}: a new key would break the log's signatures for good, so none is "
                f"generated (R-L5b). {REMEDY}")
        signer = load_signer(config, create=create)
        check_key(conn, signer.verifier)
    return signer

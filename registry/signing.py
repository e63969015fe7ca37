"""The registry's checkpoint signing key (R-L5): from a PEM file or the
environment, never from the database; generated on first start if absent."""

from __future__ import annotations

from chainlog.keys import Signer, generate_key_file, load_signer as load_key_file

from registry.config import Config


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

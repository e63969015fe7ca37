"""The registry's checkpoint signing key (R-L5): from a PEM file or the
environment, never from the database; generated on first start if absent."""

from __future__ import annotations

from chainlog.keys import Signer, generate_key_file, load_signer_from_file, load_signer_from_pem

from registry.config import Config


def load_signer(config: Config, *, create: bool = False) -> Signer:
    if config.signing_key_pem:
        return load_signer_from_pem(config.signing_key_pem, config.log_origin)
    path = config.default_key_path()
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no signing key at {path}; run `arcreg keygen {path}`")
        return generate_key_file(path, config.log_origin)
    return load_signer_from_file(path, config.log_origin)

"""Chain-of-custody accounts over HTTP (SPEC §6A, §13.1): ``blp``."""

from api.custody.routes import blp

__all__ = ["blp"]

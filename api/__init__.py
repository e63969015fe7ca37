"""The registry's HTTP API (`api.app.create_app`) and the ``arcreg`` command line (`api.cli`).

`create_app` is imported on first use, so that the offline commands
(`arcreg verify-log`, `verify-proof`, `witness`) start without Flask.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")

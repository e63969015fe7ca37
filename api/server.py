"""Run the application under gunicorn (never the Flask development server)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from registry.config import Config


class RegistryServer(BaseApplication):
    def __init__(self, config: Config, options: dict) -> None:
        self.registry_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from api import create_app

        return create_app(self.registry_config)


def run(config: Config, *, host: str, port: int, workers: int) -> None:
    RegistryServer(config, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        "errorlog": "-",
        "graceful_timeout": 10,
        "timeout": 60,
    }).run()

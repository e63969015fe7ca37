"""Run the application under gunicorn (never the Flask development server)."""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from registry.config import Config


def _post_worker_init(worker) -> None:
    """Start the daily-jobs scheduler, the eager checkpoint signer and the
    webhook worker in the worker, after the fork: a thread started in the
    arbiter would not survive into the workers (R-E2, R-L4b, R-N1)."""
    from api.scheduler import start_scheduler, start_signer, start_webhooks

    jobs_log = logging.getLogger("arcreg")
    if not jobs_log.handlers:  # job summaries go where gunicorn's error log goes
        jobs_log.handlers = list(worker.log.error_log.handlers)
        jobs_log.setLevel(logging.INFO)
    start_scheduler(worker.wsgi)
    start_signer(worker.wsgi)
    start_webhooks(worker.wsgi)  # R-N1: one process at a time delivers (a database lock)


def _worker_exit(_server, worker) -> None:
    from api.scheduler import stop_scheduler

    app = getattr(worker, "wsgi", None)
    if app is not None:
        stop_scheduler(app)


class RegistryServer(BaseApplication):
    def __init__(self, config: Config, options: dict) -> None:
        self.registry_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if self.registry_config.run_scheduler:
            self.cfg.set("post_worker_init", _post_worker_init)
            self.cfg.set("worker_exit", _worker_exit)

    def load(self):
        from api import create_app

        return create_app(self.registry_config)


def run(config: Config, *, host: str, port: int, workers: int, threads: int = 1) -> None:
    """Serve with ``workers`` processes of ``threads`` request threads each
    (gunicorn's gthread worker when threads > 1, which also keeps client
    connections alive between requests)."""
    RegistryServer(config, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "accesslog": "-",
        "errorlog": "-",
        "graceful_timeout": 10,
        "timeout": 60,
    }).run()

"""Fresh databases for hypothesis state machines: one per example, cloned from
the session's migrated template, on SQLite or PostgreSQL, with the profile
each backend runs (SQLite the full one, PostgreSQL a shorter one)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test


def run_on_fresh_databases(machine, backend: str, request, tmp_path, prefix: str, *,
                           sqlite_examples: int, postgres_examples: int, sqlite_steps: int = 30,
                           postgres_steps: int = 20) -> None:
    """Run ``machine`` (a RuleBasedStateMachine with ``new_database``/``drop_database`` hooks)."""
    counter = iter(range(10**6))
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def new_database() -> str:
            path = tmp_path / f"{prefix}-{next(counter)}.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}"

        def drop_database(url: str) -> None:
            Path(url.removeprefix("sqlite:///")).unlink()

        examples, steps = sqlite_examples, sqlite_steps
    else:
        databases, template = request.getfixturevalue("pg_databases"), request.getfixturevalue("pg_template")

        def new_database() -> str:
            return databases.create(f"arcreg_{prefix}_{next(counter)}_{id(tmp_path) % 10**6}", template=template)

        def drop_database(url: str) -> None:
            databases.drop(url.rsplit("/", 1)[1])

        examples, steps = postgres_examples, postgres_steps
    machine.new_database = staticmethod(new_database)
    machine.drop_database = staticmethod(drop_database)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, suppress_health_check=[HealthCheck.too_slow]))

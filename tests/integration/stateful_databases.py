"""Fresh databases for hypothesis state machines: one per example, cloned from
the session's migrated template, on SQLite or PostgreSQL, with the profile
each backend runs (SQLite the full one, PostgreSQL a shorter one)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from chainlog import store
from registry.clock import FrozenClock
from registry.db import UnitOfWork, make_engine, session_factory
from registry.errors import RegistryError
from registry.replay import replay


class FreshDatabaseMachine(RuleBasedStateMachine):
    """A state machine with one fresh registry database per example
    (``run_on_fresh_databases`` sets the hooks): ``open_database`` in its
    ``@initialize``, dropped again at teardown."""

    new_database = None  # set by run_on_fresh_databases: () -> database URL
    drop_database = None  # and: (URL) -> None

    def open_database(self, now) -> None:
        self.url = type(self).new_database()
        self.engine = make_engine(self.url)
        self.sessions = session_factory(self.engine)
        self.clock = FrozenClock(now)

    def teardown(self):
        if hasattr(self, "engine"):
            self.engine.dispose()
            type(self).drop_database(self.url)

    def attempt(self, call):
        """``call(uow)`` in a unit of work, committed when it succeeds; a refusal is returned, not raised."""
        with UnitOfWork(self.sessions, self.clock) as uow:
            try:
                result = call(uow)
            except RegistryError as error:
                return error
            uow.commit()
        return result

    def replay_log(self) -> None:
        """Replay re-checks every rule at the time of its entry (R-L7c): it raises on the first it finds."""
        if not hasattr(self, "engine"):
            return
        with self.sessions() as session:
            entries = [{"index": e.index, "type": e.type, "payload": e.payload, "leaf_hash": e.leaf_hash,
                        "time": e.time} for e in store.iter_entries(session)]
        replay(entries).close()


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

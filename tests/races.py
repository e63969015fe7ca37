"""One race harness for the domain's writers (R-T4, R-B4, R-X5): every action starts at once, each in
its own connection and transaction, after a barrier. An outcome is a commit ("ok") or a refusal's code;
any other exception is raised in the test's thread (``ThreadPoolExecutor.map``), so a crash fails it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from registry.db import UnitOfWork, session_factory
from registry.errors import RegistryError
from registry.identity import actor_of, authenticate


def race(engine, clock, token: str, actions: Sequence[Callable]) -> Counter:
    """Run every ``action(uow, actor)`` at once as the holder of ``token``; count the outcomes."""
    barrier = threading.Barrier(len(actions))
    sessions = session_factory(engine)
    with UnitOfWork(sessions, clock) as uow:
        actor = actor_of(authenticate(uow, token))

    def attempt(action):
        barrier.wait()
        try:
            with UnitOfWork(sessions, clock) as uow:
                action(uow, actor)
                uow.commit()
                return "ok"
        except RegistryError as exc:
            return exc.code

    with ThreadPoolExecutor(len(actions)) as pool:
        return Counter(pool.map(attempt, actions))

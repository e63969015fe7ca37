"""The unit of work commits only when told to (DESIGN; cosmicpython's test)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from registry.clock import FrozenClock
from registry.db import UnitOfWork, session_factory
from registry.models import Participant

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _participant(name: str) -> Participant:
    return Participant(name=name, country="US", gpp_signed_on=date(2025, 1, 1), created_at=NOW)


def _names(engine) -> list[str]:
    with session_factory(engine)() as session:
        return [p.name for p in session.exec(select(Participant))]


def test_uncommitted_work_is_rolled_back(engine):
    with UnitOfWork(session_factory(engine), FrozenClock(NOW)) as uow:
        uow.session.add(_participant("Forgotten Plastics"))
        uow.flush()
    assert _names(engine) == []


def test_work_is_rolled_back_on_exception(engine):
    with pytest.raises(RuntimeError):
        with UnitOfWork(session_factory(engine), FrozenClock(NOW)) as uow:
            uow.session.add(_participant("Failing Plastics"))
            uow.flush()
            raise RuntimeError("rule violated half way")
    assert _names(engine) == []


def test_committed_work_is_kept(engine):
    with UnitOfWork(session_factory(engine), FrozenClock(NOW)) as uow:
        uow.session.add(_participant("Kept Plastics"))
        uow.commit()
    assert _names(engine) == ["Kept Plastics"]

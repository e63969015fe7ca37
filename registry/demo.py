"""A small, realistic demo registry for `arcreg demo` (grows with the domain)."""

from __future__ import annotations

from sqlalchemy import Engine

from registry.clock import clock_from_setting
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.identity import create_admin


def build_demo(engine: Engine, config: Config) -> str:
    with UnitOfWork(session_factory(engine), clock_from_setting(config.clock)) as uow:
        _, token = create_admin(uow, "admin@demo.arc-registry.org")
        uow.commit()
    return f"Demo administrator token (keep it to try the API): {token.token}"

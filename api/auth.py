"""Bearer-token authentication and the request's unit of work (R-P5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import request

from api.context import unit_of_work
from registry.actors import Actor
from registry.db import UnitOfWork
from registry.errors import Unauthorized
from registry.identity import actor_of, authenticate

T = TypeVar("T")


def current_actor(uow: UnitOfWork) -> Actor:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", code="missing_token", rule="R-P5")
    return actor_of(authenticate(uow, token.strip()))


def optional_actor(uow: UnitOfWork) -> Actor | None:
    return current_actor(uow) if "Authorization" in request.headers else None


def perform(service: Callable[..., T], *args, **kwargs) -> T:
    """Run one write service for the authenticated actor and commit: the only
    place a request commits (DESIGN: the edge commits, services never do)."""
    with unit_of_work() as uow:
        actor = current_actor(uow)
        result = service(uow, actor, *args, **kwargs)
        uow.commit()
        return _detached(uow, result)


def read(service: Callable[..., T], *args, authenticated: bool = False, **kwargs) -> T:
    """Run one read service; the actor is passed when the caller sent a token
    (or must have, when ``authenticated``)."""
    with unit_of_work() as uow:
        actor = current_actor(uow) if authenticated else optional_actor(uow)
        return _detached(uow, service(uow, actor, *args, **kwargs))


def _detached(uow: UnitOfWork, result: T) -> T:
    """Keep the loaded rows usable for serialisation after the unit of work
    closes (its final rollback would otherwise expire them)."""
    uow.session.expunge_all()
    return result

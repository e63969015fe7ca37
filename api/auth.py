"""Bearer-token authentication, the request's unit of work, and idempotent
writes (R-P5, R-T5)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

import marshmallow as ma
from flask import Response, current_app, request
from sqlalchemy.exc import IntegrityError

from api import jsonio
from api.context import unit_of_work
from registry import idempotency
from registry.actors import Actor
from registry.db import UnitOfWork
from registry.errors import Unauthorized
from registry.identity import actor_of, authenticate

T = TypeVar("T")
IDEMPOTENCY_HEADER = "Idempotency-Key"


def current_actor(uow: UnitOfWork) -> Actor:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", code="missing_token", rule="R-P5")
    return actor_of(authenticate(uow, token.strip()))


# Writes that need no token: a witness's cosignature is authenticated by its
# signature (R-L9).
TOKENLESS_WRITES = frozenset({"/api/v1/log/cosignatures"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def authenticate_writes_first() -> None:
    """R-X4: a write without a valid token is 401 before its body is even
    parsed, so an anonymous caller never learns what a valid body looks like."""
    if request.method not in WRITE_METHODS or not request.path.startswith("/api/v1/"):
        return
    if request.path in TOKENLESS_WRITES or request.url_rule is None:
        return
    with unit_of_work() as uow:
        current_actor(uow)


def optional_actor(uow: UnitOfWork) -> Actor | None:
    return current_actor(uow) if "Authorization" in request.headers else None


def _fingerprint() -> str:
    """What makes two requests "the same": method, path and the JSON body
    (parsed, so whitespace and key order do not matter)."""
    raw = request.get_data(cache=True)
    body = jsonio.loads(raw) if raw else None
    text = json.dumps([request.method, request.path, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_response(body: str, status: int, replayed: bool = False) -> Response:
    response = current_app.response_class(body, status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def perform(service: Callable, *args, schema: type[ma.Schema] | None = None, status: int = 200,
            **kwargs) -> Response:
    """Run one write service for the authenticated actor, serialise its result
    and commit: the only place a request commits (DESIGN: the edge commits,
    services never do). With an Idempotency-Key the response is stored in the
    same transaction, and a retry replays it (R-T5)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    fingerprint = _fingerprint() if key is not None else None
    try:
        with unit_of_work() as uow:
            actor = current_actor(uow)
            if key is not None:
                idempotency.check_key(key)
                stored = idempotency.find(uow, actor.user_id, key, fingerprint)
                if stored is not None:
                    return _json_response(stored.body, stored.status, replayed=True)
            result = service(uow, actor, *args, **kwargs)
            body = "" if schema is None else current_app.json.dumps(schema().dump(result))
            if key is not None:
                idempotency.remember(uow, actor.user_id, key, fingerprint, status, body)
            uow.commit()
    except IntegrityError:
        if key is None:
            raise
        # A concurrent retry with the same key committed first: everything
        # this attempt did was rolled back; answer with the first response.
        with unit_of_work() as uow:
            stored = idempotency.find(uow, current_actor(uow).user_id, key, fingerprint)
        if stored is None:
            raise
        return _json_response(stored.body, stored.status, replayed=True)
    if schema is None:
        return Response(status=status)
    return _json_response(body, status)


def read(service: Callable[..., T], *args, authenticated: bool = False, **kwargs) -> T:
    """Run one read service; the actor is passed when the caller sent a token
    (or must have, when ``authenticated``)."""
    with unit_of_work() as uow:
        actor = current_actor(uow) if authenticated else optional_actor(uow)
        result = service(uow, actor, *args, **kwargs)
        # Keep the loaded rows usable for serialisation after the unit of
        # work closes (its final rollback would otherwise expire them).
        uow.session.expunge_all()
        return result

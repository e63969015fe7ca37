"""Bearer-token authentication, the request's unit of work, and idempotent
writes (R-P5, R-T5)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from typing import TypeVar

import marshmallow as ma
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Response, current_app, request
from sqlalchemy.exc import IntegrityError

from api import jsonio
from api.context import open_for_request, read_unit_of_work, unit_of_work
from registry import idempotency, lockorder
from registry.actors import Actor
from registry.db import UnitOfWork
from registry.errors import Conflict, Unauthorized
from registry.identity import IssuedToken, actor_of, authenticate_token

T = TypeVar("T")
IDEMPOTENCY_HEADER = "Idempotency-Key"


_ACTOR_KEY = "arcreg.actor"


def current_actor(uow: UnitOfWork) -> Actor:
    """The request's actor, authenticated once per request: a write is
    authenticated before its body is read (R-X4) and the service then acts
    for that same actor, without looking the token up again."""
    # Kept in the WSGI environ, which belongs to this one request (``g`` lives
    # as long as the app context, which a caller may share between requests).
    actor = request.environ.get(_ACTOR_KEY)
    if actor is not None:
        return actor
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", code="missing_token", rule="R-P5")
    row, user = authenticate_token(uow, token.strip())
    request.environ[_ACTOR_KEY] = actor = actor_of(user, token_id=row.id)
    return actor


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
    current_actor(open_for_request())  # the handler continues this transaction


def optional_actor(uow: UnitOfWork) -> Actor | None:
    return current_actor(uow) if "Authorization" in request.headers else None


def _fingerprint() -> str:
    """What makes two requests "the same": method, path and the JSON body
    (parsed, so whitespace and key order do not matter)."""
    raw = request.get_data(cache=True)
    body = jsonio.loads(raw) if raw else None
    text = json.dumps([request.method, request.path, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# A stored response that holds a secret (a newly issued token) is sealed: R-P5
# keeps tokens only as hashes, and an Idempotency-Key record must not be a
# plaintext copy. The key is derived from the bearer token that made the
# request, which the database does not hold (it keeps SHA-256(token), from
# which this HMAC cannot be computed): only a retry with that token can open it.
SEALED = "sealed:v1:"


def _sealing_key() -> bytes:
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    return hmac.new(token.strip().encode(), b"arcreg idempotent replay v1", hashlib.sha256).digest()


def _holds_secret(result) -> bool:
    """A new token, or anything else marked ``holds_secret`` (a webhook's signing key, R-N1)."""
    return isinstance(result, IssuedToken) or getattr(result, "holds_secret", False) is True


def _seal(body: str, fingerprint: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_key()).encrypt(nonce, body.encode(), fingerprint.encode())
    return SEALED + base64.b64encode(nonce + sealed).decode("ascii")


def _replay(stored) -> Response:
    body = stored.body
    if body.startswith(SEALED):
        raw = base64.b64decode(body[len(SEALED):])
        try:
            body = AESGCM(_sealing_key()).decrypt(raw[:12], raw[12:], stored.fingerprint.encode()).decode()
        except InvalidTag:
            raise Conflict("the first response holds a secret that only the token which sent the request "
                           "can replay", code="idempotent_replay_sealed", field="Idempotency-Key",
                           rule="R-T5") from None
    return _json_response(body, stored.status, replayed=True)


def _json_response(body: str, status: int, replayed: bool = False) -> Response:
    response = current_app.response_class(body, status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@functools.cache
def _dumper(schema: type[ma.Schema]) -> ma.Schema:
    """One instance per response schema: dumping keeps no state in it, and a
    fresh instance would copy its fields and build its nested schemas anew
    on every request."""
    return schema()


def perform(service: Callable, *args, schema: type[ma.Schema] | None = None, status: int = 200,
            choose: Callable[[object], tuple[type[ma.Schema], int, Callable]] | None = None,
            **kwargs) -> Response:
    """Run one write service for the authenticated actor, serialise its result
    and commit: the only place a request commits (DESIGN: the edge commits,
    services never do). With an Idempotency-Key the response is stored in the
    same transaction, and a retry replays it (R-T5) — also one that arrives
    while the first is still running: it waits for the first to finish
    (``idempotency.claim``). ``choose``, when given, picks the response from
    the result: (schema, status, what of the result to dump) -- e.g. a
    transfer that became an offer is 202 with the offer (R-T6)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    fingerprint = _fingerprint() if key is not None else None
    try:
        with unit_of_work() as uow:
            actor = current_actor(uow)
            lockorder.checked(uow)  # one write per request: its lock order is checked (R-X5)
            if key is not None:
                idempotency.check_key(key)
                idempotency.claim(uow, actor.user_id, key)  # a concurrent retry waits for the first (R-T5)
                stored = idempotency.find(uow, actor.user_id, key, fingerprint)
                if stored is not None:
                    return _replay(stored)
            result = service(uow, actor, *args, **kwargs)
            if choose is not None:
                schema, status, pick = choose(result)
                result = pick(result)
            body = "" if schema is None else current_app.json.dumps(_dumper(schema).dump(result))
            if key is not None:
                kept = _seal(body, fingerprint) if _holds_secret(result) else body
                idempotency.remember(uow, actor.user_id, key, fingerprint, status, kept)
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
        return _replay(stored)
    if schema is None:
        return Response(status=status)
    return _json_response(body, status)


def read(service: Callable[..., T], *args, authenticated: bool = False, **kwargs) -> T:
    """Run one read service; the actor is passed when the caller sent a token
    (or must have, when ``authenticated``). Read-only: no lock a writer waits on (R-X6)."""
    with read_unit_of_work() as uow:
        actor = current_actor(uow) if authenticated else optional_actor(uow)
        result = service(uow, actor, *args, **kwargs)
        # Keep the loaded rows usable for serialisation after the unit of
        # work closes (its final rollback would otherwise expire them).
        uow.session.expunge_all()
        return result

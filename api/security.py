"""Rate limiting of writes and security headers on every response.

Rate limiting (Flask-Limiter): every write (POST, PUT, PATCH, DELETE) counts
against one budget per client, shared by all write endpoints. The client is
the participant the bearer token acts for (all its users and tokens share
it), else the token's user (staff), else — no token, or one that is invalid,
revoked or expired — the client address. Cheap reads are never limited: the
public log and proofs must stay readable. Expensive public reads (a block's
provenance proof, a certificate's lineage page and proof file: R-X6) have a
budget of their own per client address (``ARCREG_READ_RATE_LIMIT``), token
or not, so that a loop of deep proofs cannot crowd out the writes. A breach
is 429 ``rate_limited`` (problem+json, R-X1) with ``Retry-After``. The limiter runs before
authentication, so token guessing from one address is limited too.

With ``memory://`` storage each gunicorn worker counts on its own (a client
may get up to workers × the limit); ``redis://`` shares the counts. If the
storage is unreachable, writes are let through and the error logged: rate
limiting protects availability and must not take it away.

Headers: a strict Content-Security-Policy (pages load their scripts and
styles from /static only), nosniff, no referrer, no framing, a separate
browsing context group, HSTS on HTTPS requests, and ``no-store`` on every
response to a request that carried credentials (bearer token or cookie).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time

from flask import Flask, Response, current_app, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from api import limiter_storage
from api.auth import current_actor
from api.context import open_for_request
from api.errors import problem
from registry.config import Config
from registry.errors import Unauthorized

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LIMITER = "arcreg.limiter"

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# One year; not includeSubDomains: the registry does not own its parent domain's other hosts.
HSTS = "max-age=31536000"
# flask-smorest's Swagger UI page: its assets come from the registry (R-X8,
# api/docs_assets.py) and it boots with one inline script, allowed by its hash
# only (never 'unsafe-inline' for scripts).
SWAGGER_UI_ENDPOINT = "api-docs.openapi_swagger_ui"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def init_security(app: Flask, config: Config) -> None:
    """Rate limiting and security headers for ``app`` (one call in create_app)."""
    if config.trusted_proxies > 0:
        hops = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    _init_rate_limit(app, config)
    app.after_request(_security_headers)


# --- rate limiting --------------------------------------------------------------------------------


#: R-X6: the reads whose cost grows with a lineage: the provenance proof and the explorer's lineage page and file.
EXPENSIVE_READS = frozenset({"blocks.BlockProvenance", "pages.certificate", "pages.certificate_proof"})


def _checked_limit(setting: str, value: str) -> bool:
    """False for "off"; raises ValueError for a value that is not a rate limit."""
    if value.strip().lower() == "off":
        return False
    try:
        if not parse_many(value):
            raise ValueError("no limit given")
    except ValueError as exc:
        raise ValueError(f"{setting}={value!r} is not a rate limit such as "
                         f"'600/minute;10000/hour' (or 'off'): {exc}") from None
    return True


def _init_rate_limit(app: Flask, config: Config) -> None:
    limits = []
    if _checked_limit("ARCREG_RATE_LIMIT", config.rate_limit):
        limits.append(ApplicationLimit(config.rate_limit, scope="writes", exempt_when=_not_a_write))
    if _checked_limit("ARCREG_READ_RATE_LIMIT", config.read_rate_limit):
        limits.append(ApplicationLimit(config.read_rate_limit, key_function=_address_key, scope="expensive-reads",
                                       exempt_when=_not_an_expensive_read, on_breach=_read_breach_response))
    if not limits:
        return
    limiter = Limiter(
        _client_key,
        application_limits=limits,
        storage_uri=limiter_storage.storage_uri(config.rate_limit_storage),
        strategy="sliding-window-counter",  # no burst of twice the limit at a window edge
        swallow_errors=True,  # fail open, logged, if the storage is unreachable
        on_breach=_breach_response,
        key_prefix="arcreg",
    )
    limiter.init_app(app)
    app.extensions[LIMITER] = limiter
    # More specific than api/errors' HTTPException handler, so it answers 429s.
    app.register_error_handler(RateLimitExceeded, _rate_limited)


def _not_a_write() -> bool:
    return request.method not in WRITE_METHODS


def _not_an_expensive_read() -> bool:
    return request.method != "GET" or request.endpoint not in EXPENSIVE_READS


def _address_key() -> str:
    """Expensive reads count per address, with or without a token: counting them
    per participant would open a transaction to authenticate every read."""
    return f"address:{request.remote_addr or 'unknown'}"


def _client_key() -> str:
    """Whom a write is counted against. Never the token itself: the key is
    logged when a limit is hit, and it must carry no secret."""
    if "Authorization" in request.headers:
        try:
            # Kept for the request: the write does not look it up again, and
            # continues this transaction (api.context.open_for_request).
            actor = current_actor(open_for_request())
            return f"participant:{actor.participant_id}" if actor.participant_id else f"user:{actor.user_id}"
        except Unauthorized:
            pass  # counted against its address; authentication answers 401 next
    return f"address:{request.remote_addr or 'unknown'}"


def _retry_after() -> int:
    limiter = current_app.extensions.get(LIMITER)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _breach_response(_limit) -> Response:
    retry = _retry_after()
    return problem(429, "rate_limited", "Too Many Requests",
                   f"Too many write requests from this client; retry after {retry} s. Nothing was changed.",
                   headers={"Retry-After": str(retry)}, retry_after=retry)


def _read_breach_response(_limit) -> Response:
    retry = _retry_after()
    return problem(429, "rate_limited", "Too Many Requests",
                   f"Too many provenance and lineage reads from this address; retry after {retry} s (R-X6).",
                   headers={"Retry-After": str(retry)}, retry_after=retry)


def _rate_limited(error: RateLimitExceeded) -> Response:
    return error.response if error.response is not None else _breach_response(error.limit)


# --- headers ---------------------------------------------------------------------------------------


def _security_headers(response: Response) -> Response:
    headers = response.headers
    policy = _swagger_ui_policy(response) if request.endpoint == SWAGGER_UI_ENDPOINT else None
    for name, value in HEADERS.items():
        headers.setdefault(name, value)  # a view that set its own keeps it
    if policy is not None:
        headers["Content-Security-Policy"] = policy
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if "Authorization" in request.headers or "Cookie" in request.headers:
        # A response to a request with credentials (a bearer token, or the admin
        # pages' session cookie) is nobody else's: never stored by any cache.
        headers["Cache-Control"] = "no-store"
    for name in ("Authorization", "Cookie"):
        vary = headers.get("Vary", "")
        if name.lower() not in vary.lower():
            headers["Vary"] = f"{vary}, {name}" if vary else name
    return response


def _swagger_ui_policy(response: Response) -> str:
    """The docs page: every script and style from this origin (R-X8), plus its one
    inline boot script, allowed by its hash; Swagger UI sets inline styles."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(response.get_data()))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'")

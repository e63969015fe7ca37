"""Throttling of failed sign-in attempts, per account and per client address (R-W1).

The write limiter's storage and strategy (``api/security.py``,
``ARCREG_RATE_LIMIT_STORAGE``: per worker with ``memory://``, shared with
``redis://``) count failures only: a wrong password, a wrong code. Over either
limit, sign-in is refused without looking at what was typed — the right
password too — until the window has room again, so an online guesser gets a
handful of tries per account per minute and a couple of dozen per address,
whichever account it aims at. The account key is a hash of the email address:
no address is kept in the counter store. As with writes, an unreachable store
lets sign-in through (logged): throttling must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api import limiter_storage
from registry.config import Config

log = logging.getLogger(__name__)


def _limits(setting: str, value: str) -> list:
    if value.strip().lower() == "off":
        return []
    try:
        parsed = parse_many(value)
    except ValueError as exc:
        raise ValueError(f"{setting}={value!r} is not a rate limit such as '5/minute;20/hour' (or 'off'): "
                         f"{exc}") from None
    if not parsed:
        raise ValueError(f"{setting}={value!r} names no limit")
    return parsed


def account_key(email: str) -> str:
    return hashlib.sha256(("arcreg sign-in\n" + (email or "").strip().lower()).encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, config: Config) -> None:
        self.account_limits = _limits("ARCREG_LOGIN_RATE_LIMIT", config.login_rate_limit)
        self.address_limits = _limits("ARCREG_LOGIN_ADDRESS_RATE_LIMIT", config.login_address_rate_limit)
        storage = storage_from_string(limiter_storage.storage_uri(config.rate_limit_storage))
        # A moving window, exact: a sliding counter would weigh down failures of the minute before.
        self.strategy = MovingWindowRateLimiter(storage)

    def _keyed(self, account: str, address: str):
        for limit in self.account_limits:
            yield limit, ("login-account", account)
        for limit in self.address_limits:
            yield limit, ("login-address", address or "unknown")

    def wait_seconds(self, account: str, address: str) -> int | None:
        """None when an attempt may be made now; else the seconds until one may."""
        try:
            for limit, key in self._keyed(account, address):
                if not self.strategy.test(limit, *key):
                    reset = self.strategy.get_window_stats(limit, *key).reset_time
                    return max(1, math.ceil(reset - time.time()))
        except Exception:  # noqa: BLE001 - the store is down: fail open, as writes do
            log.exception("sign-in throttle store unreachable; attempt let through")
        return None

    def failed(self, account: str, address: str) -> None:
        try:
            for limit, key in self._keyed(account, address):
                self.strategy.hit(limit, *key)
        except Exception:  # noqa: BLE001
            log.exception("sign-in throttle store unreachable; failure not counted")

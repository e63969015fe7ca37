"""TOTP second factor (RFC 6238; R-W1): 6 digits, 30-second steps, one step of
clock drift either way, and no code accepted twice (the step of the last code
accepted is kept, so a code seen over a shoulder or replayed is refused).

The time a code is checked against is the real time the phone also follows,
passed in by the caller: a registry whose clock is pinned (``ARCREG_CLOCK``,
demos and tests) still accepts the codes of a real authenticator app.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp

ISSUER = "ARC Registry"
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def looks_like_code(code: str) -> bool:
    return bool(_CODE.match(normalise(code)))


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code ``code`` is, within the drift allowed, or None.
    Every candidate is compared in constant time."""
    code = normalise(code)
    if not _CODE.match(code):
        return None
    now = step_at(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    return found


def accept(secret: str, last_step: int | None, code: str, at: datetime) -> int | None:
    """The step to remember if ``code`` is accepted now, else None (wrong, or not newer
    than the last code accepted)."""
    step = matching_step(secret, code, at)
    if step is None or (last_step is not None and step <= last_step):
        return None
    return step

"""One webhook request (R-N1): signed per Standard Webhooks, sent to the
address the SSRF check approved, with a short timeout, reading at most a
little of the answer. Never raises for anything the network or the receiver
does: returns an ``Outcome``."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from registry.notifications.targets import RefusedTarget, Target, Unresolvable, checked_addresses

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "arc-registry-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | http_error | timeout | network_error | unresolvable | refused_target
    response_status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "delivered"


def signed_headers(secret: str, msg_id: str, body: str, sent_at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers, signed by the ``standardwebhooks`` library."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent_at, body),
    }


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def send(target: Target, *, secret: str, msg_id: str, body: str, timeout: float,
         allow_loopback: bool) -> Outcome:
    """POST ``body`` to the target; the host is resolved and checked again now
    (a name may have been pointed at a private address since registration)."""
    try:
        addresses = checked_addresses(target, allow_loopback=allow_loopback)
    except Unresolvable as exc:
        return Outcome("unresolvable", error=str(exc))
    except RefusedTarget as exc:
        return Outcome("refused_target", error=str(exc))
    # The Standard Webhooks timestamp is the moment of sending, by the machine's
    # clock (receivers compare it with theirs), not the registry's business clock.
    headers = {**signed_headers(secret, msg_id, body, datetime.fromtimestamp(time.time(), UTC)),
               "content-type": "application/json", "user-agent": USER_AGENT}
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target, str(addresses[0]), timeout)
    try:
        connection.request("POST", target.path, body=body.encode("utf-8"), headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        if 200 <= response.status < 300:
            return Outcome("delivered", response.status)
        return Outcome("http_error", response.status, f"HTTP {response.status} {response.reason}"[:200])
    except (TimeoutError, socket.timeout):
        return Outcome("timeout", error=f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
        return Outcome("network_error", error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()

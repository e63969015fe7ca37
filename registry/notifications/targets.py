"""Where a webhook may be sent (R-N1; docs/security.md, "Webhooks: no server-side request forgery").

A webhook URL is https. A registry is no proxy into its own network: the
host's addresses — resolved at registration *and* again at every delivery,
and the request then goes to the address that was checked (no second lookup a
rebinding DNS server could answer differently) — must all be public unicast
addresses. Loopback targets, and plain http to them, are allowed only with
``ARCREG_WEBHOOKS_ALLOW_LOOPBACK=1`` (development and tests; /health says so).
Private, link-local, shared, reserved and multicast addresses are never allowed.

``.invalid`` names (RFC 6761: they never resolve) are answered here, without a
DNS query, so the demo's endpoint sends nothing off the machine.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from registry.errors import InvalidInput, RuleViolation

MAX_URL = 2000


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (the TLS server name and the Host header)
    port: int
    path: str  # path and query


class Unresolvable(Exception):
    """The host has no address (now)."""


class RefusedTarget(Exception):
    """The host resolves to an address the registry does not send to."""


def parse_url(url: str, *, allow_loopback: bool) -> Target:
    """The URL's parts, or InvalidInput naming ``url`` (R-X2)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise InvalidInput(f"url must be 1 to {MAX_URL} characters", field="url", code="invalid_webhook_url")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput("url must not contain spaces or control characters", field="url",
                           code="invalid_webhook_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"url is not a valid URL: {exc}", field="url", code="invalid_webhook_url") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidInput("a webhook URL is https://…", field="url", code="webhook_url_not_https", rule="R-N1")
    if not parts.hostname:
        raise InvalidInput("url has no host", field="url", code="invalid_webhook_url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url must not carry a user name or password", field="url",
                           code="invalid_webhook_url")
    if parts.fragment:
        raise InvalidInput("url must not carry a #fragment", field="url", code="invalid_webhook_url")
    host = parts.hostname
    target = Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80),
                    (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    if parts.scheme == "http" and not allow_loopback:
        raise InvalidInput("a webhook URL is https:// (http only for loopback targets in development, "
                           "ARCREG_WEBHOOKS_ALLOW_LOOPBACK=1)", field="url", code="webhook_url_not_https",
                           rule="R-N1")
    return target


def resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address of ``host`` (an IP literal is its own address)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        raise Unresolvable(f"{host} is a .invalid name (RFC 6761): it never resolves")
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise Unresolvable(f"{host} does not resolve: {exc}") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"{host} has no address")
    return addresses


def _literal(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refusal(address, *, allow_loopback: bool) -> str | None:
    """Why the registry will not send to ``address``, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return "a private-network address"
    return None


def checked_addresses(target: Target, *, allow_loopback: bool) -> list:
    """The host's addresses, all allowed; RefusedTarget if any is not
    (Unresolvable when there are none)."""
    addresses = resolve(target.host)
    for address in addresses:
        why = refusal(address, allow_loopback=allow_loopback)
        if why is not None:
            raise RefusedTarget(f"{target.host} resolves to {address}, {why}")
    if target.scheme == "http" and not all(_loopback(a) for a in addresses):
        raise RefusedTarget("plain http is allowed only to loopback targets")
    return addresses


def _loopback(address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_for_registration(url: str, *, allow_loopback: bool) -> Target:
    """Registration's check (R-N1): well-formed, https, and — when the name
    resolves now — only to allowed addresses. A name that does not resolve yet
    is accepted; every delivery checks it again before sending."""
    target = parse_url(url, allow_loopback=allow_loopback)
    try:
        checked_addresses(target, allow_loopback=allow_loopback)
    except RefusedTarget as exc:
        raise RuleViolation(f"the registry does not send webhooks into private networks: {exc}", field="url",
                            code="webhook_target_refused", rule="R-N1") from None
    except Unresolvable:
        pass
    return target

"""The registry's error hierarchy.

Every error carries a stable machine ``code`` (the public contract of R-X1), the
HTTP ``status`` it maps to, the rule id it enforces, and optionally the request
field it concerns. ``api/errors.py`` turns the whole hierarchy into
problem+json in one place; nothing else formats errors.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every error a registry service or rule raises."""

    code = "registry_error"
    status = 400
    title = "Request refused"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        rule: str | None = None,
        errors: dict[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.rule = rule
        self.errors = errors or ({field: [detail]} if field else None)


class InvalidInput(RegistryError):
    """Input that is malformed or out of range (R-X2): 400, field named."""

    code = "invalid_input"
    status = 400
    title = "Invalid input"


class RuleViolation(RegistryError):
    """Well-formed input that a domain rule refuses: 422 with the rule's code."""

    code = "rule_violation"
    status = 422
    title = "Refused by a registry rule"


class NotFound(RegistryError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(RegistryError):
    code = "conflict"
    status = 409
    title = "Conflict"


class Unauthorized(RegistryError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(RegistryError):
    code = "forbidden"
    status = 403
    title = "Not allowed"

"""A page's form checked by the API's own request schema (R-X2): the page builds the
body the API would receive, and the schema's refusals land on the form's fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma

from api.workspace import messages
from registry.errors import RegistryError


def _flatten(messages, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix, " ".join(messages))]
    if isinstance(messages, list):
        return [pair for m in messages for pair in _flatten(m, prefix)]
    return [(prefix, str(messages))]


def load(schema: type[ma.Schema], body: dict, form, fields: dict[str, str]) -> dict | None:
    """``body`` loaded by ``schema`` (None values dropped, as an API client omits them),
    or None with every refusal on the form field it concerns (``fields`` maps the API's
    dotted names to the form's; a name the form has is used as is) or above the form."""
    try:
        return schema().load({k: v for k, v in body.items() if v is not None})
    except ma.ValidationError as error:
        for path, text in _flatten(error.messages):
            name = fields.get(path, path.split(".")[-1])
            target = getattr(form, name, None)
            if target is not None and hasattr(target, "errors") and name != "csrf_token":
                target.errors = [*list(target.errors or ()), f"{text.rstrip('.')}."]
            else:
                form.form_errors.append(f"{path}: {text}")
        return None


def refuse(form, error: RegistryError, fields: dict[str, str], page: str | None = None):
    """Show a service's refusal on the form (on the field it names, in the form's names)."""
    if error.field in fields:
        error.field = fields[error.field]
    return messages.apply(form, error, page=page)


class Refused(Exception):
    """The form was refused (its errors are on it): show it again with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def submit(uow, form, schema: type[ma.Schema], body: dict, fields: dict[str, str],
           service: Callable[..., Any], page: str | None = None) -> Any:
    """A page's write, as the API makes it: ``body`` through the API's ``schema``, then
    ``service(**data)`` in the page's unit of work. Returns what the service returns; on
    a refusal nothing is written (rolled back), the reasons are on the form, and
    ``Refused`` says with which status to show it again. ``page``: the page's advice
    (``messages.PAGE_ADVICE``) where a code means something else there."""
    data = load(schema, body, form, fields)
    if data is None:
        raise Refused(400)
    try:
        return service(**data)
    except RegistryError as error:
        uow.session.rollback()
        refuse(form, error, fields, page)
        raise Refused(error.status) from None

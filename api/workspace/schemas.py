"""A page's form checked by the API's own request schema (R-X2): the page builds the
body the API would receive, and the schema's refusals land on the form's fields."""

from __future__ import annotations

import marshmallow as ma


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

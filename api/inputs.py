"""Input guards that hold for every route (R-X9: never a 500 for bad input).

- Path ids: the ``<id:…>`` converter matches digits without turning thousands
  of them into an int, and `check_path_ids` refuses an id outside the id
  columns' range (32-bit INTEGER) with 400 ``id_out_of_range`` naming the path
  parameter and the range, before a query sees it.
- NUL characters: PostgreSQL text cannot hold U+0000 and psycopg refuses to
  send it; SQLite would store it. Either way no registry value contains one,
  so a NUL in the path, a query parameter or a JSON string is refused up front
  (400 ``nul_character``, the field named) on both databases alike.
- JSON bodies (`api.jsonio.loads`): nesting deeper than `MAX_JSON_DEPTH`, and
  integers of more digits than Python converts, are malformed JSON (400).
"""

from __future__ import annotations

from flask import request
from werkzeug.routing import BaseConverter

from api.fields import ID_MAX, ID_MIN, ID_RANGE_MESSAGE
from registry.errors import InvalidInput

# More digits than any id has: not converted, refused by `check_path_ids`.
_TOO_LONG = 19


class IdConverter(BaseConverter):
    """``<id:name>``: a row id in the path (digits only)."""

    regex = r"\d+"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        return ID_MAX + 1 if len(value) > _TOO_LONG else int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def check_path_ids() -> None:
    """before_request: an id in the path outside its column's range is bad input (R-X9)."""
    rule = request.url_rule
    if rule is None or not request.view_args:
        return
    for name, converter in rule._converters.items():  # noqa: SLF001 -- werkzeug keeps them here only
        value = request.view_args.get(name)
        if isinstance(converter, IdConverter) and isinstance(value, int) and not ID_MIN <= value <= ID_MAX:
            raise InvalidInput(ID_RANGE_MESSAGE, field=f"path.{name}", code="id_out_of_range", rule="R-X9")


def refuse_nul() -> None:
    """before_request: no NUL in the path or the query string (R-X9)."""
    if "\x00" in request.path:
        raise InvalidInput("the path contains a NUL character", field="path", code="nul_character",
                           rule="R-X9")
    for name, values in request.args.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            raise InvalidInput("a NUL character is not allowed", field=f"query.{name.replace(chr(0), '?')}",
                               code="nul_character", rule="R-X9")

"""CSV downloads of the participant lists (R-N3, SPEC §13.1).

The same GET with ``Accept: text/csv`` answers ``text/csv; charset=utf-8``:
a header row of the JSON field names (nested fields dotted: ``log.index``,
``location.country``), one row per item, every page — the filters apply,
``limit`` and ``cursor`` do not (a cursor, when given, still starts after
it). The rows are read with a server-side cursor (``yield_per``) inside the
response's generator and written out in chunks, so memory stays flat
whatever the size (bench/csv_export.py). The columns of each list are
declared here (``*_COLUMNS``) and documented in the README: they are the
public contract, added to, never renamed.

Cells: decimals as the JSON's strings, dates ISO, empty for null, JSON text
for an object or list the columns do not spell out (a product claim's
composition). A text cell that a spreadsheet would run as a formula (one
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, and not a
number) is prefixed with ``'`` (OWASP's CSV injection rule).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import marshmallow as ma
from flask import Response, request, stream_with_context

from api.auth import current_actor, optional_actor
from api.context import read_unit_of_work
from registry.use_period import use_period_end

CSV_TYPE = "text/csv"
HTML_TYPE = "text/html"
CHUNK_CHARS = 64 * 1024

BLOCK_COLUMNS = ("serial", "arc_code", "arc_type", "recycled_status", "quantity", "state", "owner_id",
                 "generator_id", "lot_id", "lot_reference", "generation_year", "use_period_end", "first", "last",
                 "parent_serial", "disputed", "log.index", "log.leaf_hash")
RETIREMENT_COLUMNS = ("id", "serial", "quantity", "arc_code", "arc_type", "generation_year", "first", "last",
                      "generator_id", "lot_reference", "owner_id", "beneficiary", "retired_on", "claim_type",
                      "reporting_year", "claim_date", "headline", "statement", "claimed_status",
                      "label_approval_ref", "basis_mass.value", "basis_mass.unit", "claim_share", "product.name",
                      "product.composition", "location.country", "location.subdivision", "period.from",
                      "period.to", "amendable_until", "log.index", "log.leaf_hash")
HOLDING_COLUMNS = ("arc_type", "generation_year", "state", "quantity", "blocks")
#: A custody account's closed periods (R-M5, R-M8): the summary's totals; suppliers and customers stay in the JSON.
PERIOD_COLUMNS = ("n", "starts_on", "ends_on", "opening_kg", "inputs_kg", "certified_inputs_kg", "outputs_kg",
                  "claimed_kg", "losses_kg", "expired_kg", "closing_kg", "average", "log.index", "log.leaf_hash")


def negotiated(*offered: str) -> str:
    """The response type the request's Accept header prefers among JSON and ``offered``."""
    return request.accept_mimetypes.best_match(["application/json", *offered], default="application/json")


def wants_csv() -> bool:
    return negotiated(CSV_TYPE) == CSV_TYPE


def _dig(item: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text  # not a formula in a spreadsheet (CSV injection)
    return text


def json_cells(columns: tuple[str, ...]) -> Callable[[dict], list[str]]:
    """The cells of a JSON-shaped item (a schema's dump), one per column."""
    return lambda item: [cell(_dig(item, column)) for column in columns]


@lru_cache(maxsize=64)
def _use_period_end(year: int) -> str:
    return use_period_end(year).isoformat()


def block_cells(b: Any) -> list[str]:
    """A block row's cells in `BLOCK_COLUMNS` order, exactly as ``BlockOut``
    dumps them (tests/api/test_exports_statements.py holds every cell to the
    JSON), without a schema per row: 1,000,000 rows are the benchmark."""
    return [b.serial, b.arc_code, b.arc_type, b.recycled_status, str(b.quantity), b.state, str(b.owner_id),
            str(b.generator_id), str(b.lot_id), cell(b.lot_reference), str(b.generation_year),
            _use_period_end(b.generation_year), f"{b.first_unit:012d}", f"{b.last_unit:012d}",
            b.parent_serial or "", "true" if b.disputed else "false", str(b.log_index), b.leaf_hash]


def csv_text(items: Iterable, columns: tuple[str, ...], cells: Callable[[Any], list[str]]) -> Iterator[str]:
    """The CSV text of ``items`` (``cells(item)`` each), in chunks of about `CHUNK_CHARS`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow(cells(item))
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def streamed_csv(rows_of: Callable[..., Iterable], schema: ma.Schema | None, columns: tuple[str, ...],
                 filename: str, *, authenticated: bool = True, cells: Callable[[Any], list[str]] | None = None,
                 **kwargs) -> Response:
    """Answer with the CSV of ``rows_of(uow, actor, **kwargs)``: the actor and
    the filters are checked before the response starts (a refusal is still
    problem+json); the rows are then read, dumped with ``schema`` (the JSON's
    own; or turned into cells by ``cells``) and written while the response
    streams, in one read-only unit of work that the stream closes."""
    uow = read_unit_of_work()
    uow.__enter__()
    try:
        actor = current_actor(uow) if authenticated else optional_actor(uow)
        rows = rows_of(uow, actor, **kwargs)
    except BaseException:
        uow.__exit__(None, None, None)
        raise

    def generate() -> Iterator[str]:
        try:
            items = rows if schema is None else (schema.dump(row) for row in rows)
            yield from csv_text(items, columns, cells or json_cells(columns))
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()
            uow.__exit__(None, None, None)

    return Response(stream_with_context(generate()), mimetype=CSV_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}.csv"', "Cache-Control": "no-store"})

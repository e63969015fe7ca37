"""Downloads of a member's lists from the workspace (R-N3, R-W3): holdings and blocks, as CSV
(the API's columns and cells, ``api.exports``) or as an Excel workbook (openpyxl, one sheet,
the same columns; quantities, ids and years as numbers, every other cell as text).

The API streams its CSV for any size; a page's download is built in the page's unit of work
(a workbook is written whole anyway). An Excel sheet holds at most 1 048 575 rows below its
header: a longer list is refused with a pointer to the API's streamed CSV."""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal

from flask import Response, render_template
from openpyxl import Workbook

from api import exports
from api.trading import HoldingOut
from api.workspace import bp, people
from registry import holdings
from registry.exports import streams

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_ROWS = 1_048_575
#: Columns written as numbers in a workbook (in CSV every cell is text).
NUMBERS = {"quantity": Decimal, "blocks": int, "generation_year": int, "owner_id": int, "generator_id": int,
           "lot_id": int, "log.index": int}


def _table(uow, person, what: str) -> tuple[tuple[str, ...], Iterable[list[str]]]:
    participant_id = person.user.participant_id
    if what == "holdings":
        cells, dump = exports.json_cells(exports.HOLDING_COLUMNS), HoldingOut().dump
        return exports.HOLDING_COLUMNS, (cells(dump(h)) for h in holdings.holdings(uow, person.actor,
                                                                                     participant_id))
    rows = streams.block_rows(uow, person.actor, owner=participant_id)
    return exports.BLOCK_COLUMNS, (exports.block_cells(b) for b in rows)


def _workbook(what: str, columns: tuple[str, ...], rows: Iterable[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(what)
    sheet.append(list(columns))
    kinds = [NUMBERS.get(column) for column in columns]
    for n, row in enumerate(rows, start=1):
        if n > MAX_XLSX_ROWS:
            raise OverflowError(n)
        # Text cells come from exports.cell: one a spreadsheet would run as a formula is prefixed with "'".
        sheet.append([kind(value) if kind is not None and value != "" else value for kind, value in zip(
            kinds, row, strict=True)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.get("/downloads/<any(holdings, blocks):what>.<any(csv, xlsx):fmt>")
@people.signed_in_page("member")
def download(uow, person, what, fmt):
    columns, rows = _table(uow, person, what)
    name = f"{what}-{person.user.participant_id}"
    if fmt == "csv":
        return Response("".join(exports.csv_text(rows, columns, lambda cells: cells)), mimetype=exports.CSV_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                 "Cache-Control": "no-store"})
    try:
        body = _workbook(what, columns, rows)
    except OverflowError:
        return render_template("workspace/too_long.html", person=person), 413
    return Response(body, mimetype=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"', "Cache-Control": "no-store"})

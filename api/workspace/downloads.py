"""Downloads of a member's lists from the workspace (R-N3, R-W3): holdings and blocks, as CSV
(the API's columns and cells, ``api.exports``) or as an Excel workbook (openpyxl, one sheet,
the same columns; quantities, ids and years as numbers, every other cell as text). Also a custody
account's closed-period summaries of the previous 18 months for an audit (R-M8, RMS 6.4.4.4), for
whoever reads the account: its participant's members, its certifier, administrators.

The API streams its CSV for any size; a page's download is built in the page's unit of work
(a workbook is written whole anyway). An Excel sheet holds at most 1 048 575 rows below its
header: a longer list is refused with a pointer to the API's streamed CSV.

The same route serves the retirements the member's participant made (the public list's rows,
``exports.RETIREMENT_COLUMNS``) and its account statement for the period of the statement page's
form (R-N4: the API's CSV statement, ``api.statements``)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal

from flask import Response, render_template, request
from openpyxl import Workbook

from api import exports
from api.custody.schemas import PeriodOut
from api.retirements import RetirementOut
from api.statements import STATEMENT_COLUMNS
from api.statements import _csv_rows as statement_rows
from api.trading import HoldingOut
from api.workspace import bp, messages, people
from api.workspace.forms.holder import StatementForm
from registry import holdings
from registry.custody import rules as custody_rules
from registry.custody import periods
from registry.errors import RegistryError
from registry.exports import streams

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_ROWS = 1_048_575
#: Columns written as numbers in a workbook (in CSV every cell is text).
NUMBERS = {"quantity": Decimal, "blocks": int, "generation_year": int, "owner_id": int, "generator_id": int,
           # retirements (exports.RETIREMENT_COLUMNS) and the account statement (STATEMENT_COLUMNS)
           "id": int, "reporting_year": int, "basis_mass.value": Decimal, "claim_share": Decimal,
           "vintage": int, "log_index": int, "balance": Decimal, "counterparty_id": int,
           "lot_id": int, "log.index": int}
#: The same for a custody account's periods (``exports.PERIOD_COLUMNS``).
PERIOD_NUMBERS = {"n": int, "log.index": int, "average": Decimal,
                  **{column: Decimal for column in exports.PERIOD_COLUMNS if column.endswith("_kg")}}


def _table(uow, person, what: str, period: tuple | None = None) -> tuple[tuple[str, ...], Iterable[list[str]]]:
    participant_id = person.user.participant_id
    if what == "holdings":
        cells, dump = exports.json_cells(exports.HOLDING_COLUMNS), HoldingOut().dump
        return exports.HOLDING_COLUMNS, (cells(dump(h)) for h in holdings.holdings(uow, person.actor,
                                                                                     participant_id))
    if what == "retirements":  # the public list's rows, only those this participant made
        cells, dump = exports.json_cells(exports.RETIREMENT_COLUMNS), RetirementOut().dump
        return exports.RETIREMENT_COLUMNS, (cells(dump(r)) for r in streams.retirement_rows(
            uow, person.actor, owner=participant_id))
    if what == "statement":  # the API's CSV statement (R-N4); a refused period raises here, before any row
        cells = exports.json_cells(STATEMENT_COLUMNS)
        return STATEMENT_COLUMNS, (cells(row) for row in statement_rows(uow, person.actor, participant_id,
                                                                        *period))
    rows = streams.block_rows(uow, person.actor, owner=participant_id)
    return exports.BLOCK_COLUMNS, (exports.block_cells(b) for b in rows)


def _workbook(what: str, columns: tuple[str, ...], rows: Iterable[list[str]],
              numbers: dict[str, type] = NUMBERS) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(what)
    sheet.append(list(columns))
    kinds = [numbers.get(column) for column in columns]
    for n, row in enumerate(rows, start=1):
        if n > MAX_XLSX_ROWS:
            raise OverflowError(n)
        # Text cells come from exports.cell: one a spreadsheet would run as a formula is prefixed with "'".
        sheet.append([kind(value) if kind is not None and value != "" else value for kind, value in zip(
            kinds, row, strict=True)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send_table(person, fmt: str, name: str, columns: tuple[str, ...], rows: Iterable[list[str]], *,
               sheet: str, numbers: dict[str, type] = NUMBERS):
    """The download of a table: CSV (``exports.csv_text``) or an Excel workbook (``_workbook``)."""
    if fmt == "csv":
        return Response("".join(exports.csv_text(rows, columns, lambda cells: cells)), mimetype=exports.CSV_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                 "Cache-Control": "no-store"})
    try:
        body = _workbook(sheet, columns, rows, numbers)
    except OverflowError:
        return render_template("workspace/too_long.html", person=person), 413
    return Response(body, mimetype=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"', "Cache-Control": "no-store"})


def _statement_form(person, form: StatementForm, status: int):
    """The statement page again, the period's refusal in words (as ``holder.statement_page``)."""
    return render_template("workspace/statement.html", person=person, section="holdings", form=form), status


@bp.get("/downloads/<any(holdings, blocks, retirements, statement):what>.<any(csv, xlsx):fmt>")
@people.signed_in_page("member")
def download(uow, person, what, fmt):
    name = f"{what}-{person.user.participant_id}"
    if what == "statement":  # for the period of the statement page's form: ?start=&end=
        form = StatementForm(request.args)
        if not form.validate():
            return _statement_form(person, form, 400)
        try:
            columns, rows = _table(uow, person, what, (form.start.data, form.end.data))
        except RegistryError as error:
            messages.apply(form, error, {"to": "end"})
            return _statement_form(person, form, error.status)
        name += f"-{form.start.data}-{form.end.data}"
    else:
        columns, rows = _table(uow, person, what)
    return send_table(person, fmt, name, columns, rows, sheet=what)


@bp.get("/custody/<id:account_id>/periods.<any(csv, xlsx):fmt>")
@people.signed_in_page("member", "certifier", "admin")
def custody_periods(uow, person, account_id, fmt):
    """R-M8: the periods ending within the 18 months before today, for whoever reads the account
    (``periods.closed_periods`` checks it as the API does; anyone else: not found)."""
    since = custody_rules.audit_window_start(uow.clock.today())
    try:
        closings = periods.closed_periods(uow, person.actor, account_id, ends_from=since)
    except RegistryError as error:
        return render_template("workspace/missing.html", person=person,
                               refusal=messages.page_refusal(error, person.user.role)), error.status
    cells, dump = exports.json_cells(exports.PERIOD_COLUMNS), PeriodOut().dump
    return send_table(person, fmt, f"custody-{account_id}-periods-from-{since.isoformat()}", exports.PERIOD_COLUMNS,
                      (cells(dump(c)) for c in closings), sheet="periods", numbers=PERIOD_NUMBERS)

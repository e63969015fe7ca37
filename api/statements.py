"""Account statements (R-N4): ``GET /participants/{id}/statement?from=&to=``
as JSON, as CSV (``Accept: text/csv``, streamed) or as a printable page
(``Accept: text/html``), for the participant's members and admins."""

from __future__ import annotations

from collections.abc import Iterator

import marshmallow as ma
from flask import Response, render_template
from flask.views import MethodView

from api import exports
from api.auth import current_actor
from api.context import read_unit_of_work
from api.openapi import Blueprint
from registry.exports.account_statement import AccountStatement, account_statement

blp = Blueprint("statements", __name__, description="Account statements and exports (R-N3, R-N4)")

STATEMENT_COLUMNS = ("record", "arc_type", "vintage", "log_index", "time", "kind", "direction", "serial",
                     "quantity", "balance", "counterparty_id")


class StatementQuery(ma.Schema):
    start = ma.fields.Date(required=True, data_key="from", metadata={"description": "first day (UTC), included"})
    end = ma.fields.Date(required=True, data_key="to", metadata={"description": "last day (UTC), included"})


class HoldingLineOut(ma.Schema):
    arc_type = ma.fields.String()
    vintage = ma.fields.Integer(metadata={"description": "generation year"})
    quantity = ma.fields.Decimal(as_string=True)


class StatementLineOut(ma.Schema):
    arc_type = ma.fields.String()
    vintage = ma.fields.Integer()
    opening = ma.fields.Decimal(as_string=True)
    incoming = ma.fields.Decimal(as_string=True, data_key="in")
    outgoing = ma.fields.Decimal(as_string=True, data_key="out")
    closing = ma.fields.Decimal(as_string=True)


class MovementOut(ma.Schema):
    log_index = ma.fields.Integer(metadata={"description": "the log entry that recorded it"})
    time = ma.fields.String(metadata={"description": "the entry's time (UTC)"})
    kind = ma.fields.String(metadata={"enum": ["generated", "transfer_in", "transfer_out", "retired", "expired",
                                               "forfeited", "cancelled"]})
    direction = ma.fields.String(metadata={"enum": ["in", "out"]})
    serial = ma.fields.String()
    arc_type = ma.fields.String()
    vintage = ma.fields.Integer()
    quantity = ma.fields.Decimal(as_string=True)
    balance = ma.fields.Decimal(as_string=True, metadata={"description": "the line's holding after it"})
    counterparty_id = ma.fields.Integer(allow_none=True)


class StatementOut(ma.Schema):
    participant_id = ma.fields.Integer()
    participant_name = ma.fields.String()
    start = ma.fields.Date(data_key="from")
    end = ma.fields.Date(data_key="to")
    opening = ma.fields.List(ma.fields.Nested(HoldingLineOut))
    movements = ma.fields.List(ma.fields.Nested(MovementOut))
    closing = ma.fields.List(ma.fields.Nested(HoldingLineOut))
    lines = ma.fields.List(ma.fields.Nested(StatementLineOut), metadata={
        "description": "per ARC type and vintage: opening + in − out = closing"})
    log_size = ma.fields.Integer(metadata={"description": "entries in the log when the statement was read"})


def _movement(m) -> dict:
    return {"log_index": m.log_index, "time": m.time, "kind": m.movement.kind, "direction": m.movement.direction,
            "serial": m.movement.serial, "arc_type": m.movement.arc_type, "vintage": m.movement.vintage,
            "quantity": m.movement.quantity, "balance": m.balance, "counterparty_id": m.movement.counterparty_id}


def _holding_lines(statement: AccountStatement, which: str) -> list[dict]:
    return [{"arc_type": line.arc_type, "vintage": line.vintage, "quantity": getattr(line, which)}
            for line in statement.lines if getattr(line, which)]


def _complete(statement: AccountStatement) -> dict:
    movements = [_movement(m) for m in statement.movements]  # reads them all: lines are complete after
    return {"participant_id": statement.participant_id, "participant_name": statement.participant_name,
            "start": statement.start, "end": statement.end, "opening": _holding_lines(statement, "opening"),
            "movements": movements, "closing": _holding_lines(statement, "closing"), "lines": statement.lines,
            "log_size": statement.log_size}


def _csv_rows(uow, actor, participant_id, start, end) -> Iterator[dict]:
    statement = account_statement(uow, actor, participant_id, start=start, end=end)  # checked before streaming

    def rows():
        for (arc_type, vintage), quantity in sorted(statement.opening.items()):
            yield {"record": "opening", "arc_type": arc_type, "vintage": vintage, "quantity": format(quantity, "f"),
                   "balance": format(quantity, "f")}
        for m in statement.movements:
            row = _movement(m)
            row.update(record="movement", quantity=format(row["quantity"], "f"), balance=format(row["balance"], "f"))
            yield row
        for line in statement.lines:
            yield {"record": "closing", "arc_type": line.arc_type, "vintage": line.vintage,
                   "quantity": format(line.closing, "f"), "balance": format(line.closing, "f")}

    return rows()


@blp.route("/participants/<id:participant_id>/statement")
class Statement(MethodView):
    @blp.arguments(StatementQuery, location="query")
    @blp.response(200, StatementOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args, participant_id):
        """A participant's account statement for a period (R-N4): opening holdings, every movement
        in and out with its log index, closing holdings, by ARC type and vintage (members, admins).
        ``Accept: text/csv`` streams it as CSV (R-N3); ``Accept: text/html`` is a printable page."""
        kind = exports.negotiated(exports.CSV_TYPE, exports.HTML_TYPE)
        if kind == exports.CSV_TYPE:
            return exports.streamed_csv(_csv_rows, None, STATEMENT_COLUMNS,
                                        f"statement-{participant_id}-{args['start']}-{args['end']}",
                                        participant_id=participant_id, **args)
        with read_unit_of_work() as uow:
            actor = current_actor(uow)
            body = _complete(account_statement(uow, actor, participant_id, **args))
        if kind == exports.HTML_TYPE:
            return Response(render_template("account_statement.html", s=body), mimetype=exports.HTML_TYPE,
                            headers={"Cache-Control": "no-store"})
        return body

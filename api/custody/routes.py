"""Custody routes (SPEC §13: the participant writes; its certifier and admins read, R-M8)."""

from __future__ import annotations

from flask.views import MethodView

from api import exports
from api.auth import perform, read
from api.custody.schemas import (AccountIn, AccountOut, BalanceOut, BalanceQuery, InputIn, InputOut, OutputIn,
                                 OutputOut, PeriodList, PeriodOut, PeriodsQuery)
from api.openapi import Blueprint
from registry.custody import book
from registry.custody import periods
from registry.custody import services

blp = Blueprint("custody", __name__, description="Chain-of-custody accounts (§6A)")
BEARER = [{"bearer": []}]


@blp.route("/custody/accounts")
class Accounts(MethodView):
    @blp.arguments(AccountIn)
    @blp.response(201, AccountOut)
    @blp.doc(security=BEARER)
    def post(self, body):
        """Open a custody account for one product group under one control system (R-M1)."""
        return perform(services.open_account, **body, schema=AccountOut, status=201)


@blp.route("/custody/accounts/<id:account_id>")
class AccountById(MethodView):
    @blp.response(200, AccountOut)
    @blp.doc(security=BEARER)
    def get(self, account_id):
        """A custody account (its participant, its certifier, admins; R-M8)."""
        return read(book.get_account, account_id, authenticated=True)


@blp.route("/custody/accounts/<id:account_id>/inputs")
class Inputs(MethodView):
    @blp.arguments(InputIn)
    @blp.response(201, InputOut)
    @blp.doc(security=BEARER)
    def post(self, body, account_id):
        """Receive an input, once registry-wide per supplier certificate and reference (R-M2)."""
        return perform(services.receive_input, account_id, **body, schema=InputOut, status=201)


@blp.route("/custody/accounts/<id:account_id>/outputs")
class Outputs(MethodView):
    @blp.arguments(OutputIn)
    @blp.response(201, OutputOut)
    @blp.doc(security=BEARER)
    def post(self, body, account_id):
        """Record an output and the claim it leaves with (R-M3, R-M4)."""
        return perform(services.record_output, account_id, **body, schema=OutputOut, status=201)


@blp.route("/custody/accounts/<id:account_id>/balance")
class Balance(MethodView):
    @blp.arguments(BalanceQuery, location="query")
    @blp.response(200, BalanceOut)
    @blp.doc(security=BEARER)
    def get(self, query, account_id):
        """Credit on a date, next expiries, and the rolling average (R-M4)."""
        return read(periods.balance, account_id, query["on"], authenticated=True)


@blp.route("/custody/accounts/<id:account_id>/periods")
class Periods(MethodView):
    @blp.arguments(PeriodsQuery, location="query")
    @blp.response(200, PeriodList)
    @blp.doc(security=BEARER)
    def get(self, query, account_id):
        """The closed periods' volume summaries, in order (R-M5, R-M8); ``ends_from`` keeps those ending on
        or after a date. With ``Accept: text/csv``: one row per period, the summary's totals (R-N3)."""
        if exports.wants_csv():
            return exports.streamed_csv(periods.closed_periods, PeriodOut(), exports.PERIOD_COLUMNS,
                                        f"custody-{account_id}-periods", account_id=account_id, **query)
        return {"items": read(periods.closed_periods, account_id, authenticated=True, **query)}


@blp.route("/custody/accounts/<id:account_id>/periods/<int:n>/close")
class ClosePeriod(MethodView):
    @blp.response(201, PeriodOut)
    @blp.doc(security=BEARER)
    def post(self, account_id, n):
        """Close a period after its end: its volume summary, one log entry (R-M5)."""
        return perform(periods.close_period, account_id, n, schema=PeriodOut, status=201)


@blp.route("/custody/accounts/<id:account_id>/periods/<int:n>")
class PeriodByNumber(MethodView):
    @blp.response(200, PeriodOut)
    @blp.doc(security=BEARER)
    def get(self, account_id, n):
        """A closed period's volume summary (R-M5, R-M8)."""
        return read(periods.get_period, account_id, n, authenticated=True)

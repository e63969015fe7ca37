"""Account statements add up (R-N4), proven by random sequences: a
hypothesis state machine moves certificates of the demo registry between its
participants — whole and partial transfers, retirements — over days that
pass, and after every step, for every participant:

- per ARC type and vintage, opening + in − out = closing, and each
  movement's balance is the previous one plus or minus its quantity;
- two consecutive periods chain: the first's closing is the second's opening,
  and the second's closing is the closing of both together;
- the closing of the whole history is exactly the participant's active
  holdings in the blocks table (the statement is read from the log alone).

SQLite runs the full profile; PostgreSQL a shorter one (both in CI)."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule
from sqlalchemy import func
from sqlmodel import select

from registry import retirements, transfers
from registry.config import Config
from registry.db import UnitOfWork
from registry.demo import build_demo
from registry.errors import RegistryError
from registry.exports.account_statement import account_statement
from registry.identity import actor_of
from registry.models import Block, Participant, User
from registry.sqltypes import Milli
from tests.integration.stateful_databases import FreshDatabaseMachine, run_on_fresh_databases

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EVER = date(2000, 1, 1)
FRACTIONS = [Decimal("0.25"), Decimal("0.5"), Decimal("1")]


class Statements(FreshDatabaseMachine):
    @initialize()
    def setup(self):
        self.open_database(START + timedelta(days=1))
        self.keys = tempfile.mkdtemp()
        build_demo(self.engine, Config(database_url=self.url, clock=START.isoformat(),
                                       signing_key_file=Path(self.keys) / "key.pem"))
        with self.sessions() as session:
            members = session.exec(select(User).where(User.participant_id.is_not(None)).order_by(User.id)).all()
            self.actors = {user.participant_id: actor_of(user) for user in members}
        self.participants = sorted(self.actors)

    def _active(self, pick: int) -> Block | None:
        with self.sessions() as session:
            blocks = session.exec(select(Block).where(Block.state == "active", Block.disputed.is_(False))
                                  .order_by(Block.serial)).all()
        return blocks[pick % len(blocks)] if blocks else None

    def _write(self, call) -> None:
        with UnitOfWork(self.sessions, self.clock) as uow:
            try:
                call(uow)
            except RegistryError as error:  # e.g. a quantity below one serial unit: nothing written
                assert error.code in {"invalid_quantity", "participant_inactive"}, error.detail
                return
            uow.commit()

    @rule(pick=st.integers(0, 10**6), fraction=st.sampled_from(FRACTIONS), to=st.integers(0, 10))
    def transfer(self, pick, fraction, to):
        block = self._active(pick)
        if block is None:
            return
        others = [p for p in self.participants if p != block.owner_id]
        quantity = (block.quantity * fraction).quantize(Decimal("0.001"))
        self._write(lambda uow: transfers.transfer(uow, self.actors[block.owner_id], serial=block.serial,
                                                   quantity=quantity, to_participant_id=others[to % len(others)]))

    @rule(pick=st.integers(0, 10**6), fraction=st.sampled_from(FRACTIONS))
    def retire(self, pick, fraction):
        block = self._active(pick)
        if block is None:
            return
        quantity = (block.quantity * fraction).quantize(Decimal("0.001"))
        self._write(lambda uow: retirements.retire(uow, self.actors[block.owner_id], serial=block.serial,
                                                   quantity=quantity, beneficiary="Brand", claim_type="general",
                                                   reporting_year=block.generation_year))

    @rule(days=st.integers(0, 3))
    def wait(self, days):
        self.clock.set(self.clock.now() + timedelta(days=days))

    def _statement(self, participant: int, start: date, end: date):
        with UnitOfWork(self.sessions, self.clock) as uow:
            statement = account_statement(uow, self.actors[participant], participant, start=start, end=end)
            movements = list(statement.movements)
            return statement, movements

    @invariant()
    def statements_add_up_and_chain(self):
        if not hasattr(self, "engine"):
            return
        today = self.clock.today()
        middle = START.date() + (today - START.date()) / 2
        for participant in self.participants:
            whole, moves = self._statement(participant, EVER, today)
            first, _ = self._statement(participant, EVER, middle)
            second, _ = self._statement(participant, middle + timedelta(days=1), today)
            balances = dict(whole.opening)
            for m in moves:
                key = (m.movement.arc_type, m.movement.vintage)
                balances[key] = balances.get(key, Decimal(0)) + m.movement.signed
                assert m.balance == balances[key]
            for statement in (whole, first, second):
                for line in statement.lines:
                    assert line.opening + line.incoming - line.outgoing == line.closing, line
            closing = {(x.arc_type, x.vintage): x.closing for x in first.lines if x.closing}
            assert closing == second.opening
            assert {(x.arc_type, x.vintage): x.closing for x in second.lines if x.closing} == \
                {(x.arc_type, x.vintage): x.closing for x in whole.lines if x.closing}
            with self.sessions() as session:
                held = {(t, y): q for t, y, q in session.exec(
                    select(Block.arc_type, Block.generation_year, func.sum(Block.quantity, type_=Milli()))
                    .where(Block.owner_id == participant, Block.state == "active")
                    .group_by(Block.arc_type, Block.generation_year))}
                assert session.get(Participant, participant) is not None
            assert {k: v for k, v in held.items() if v} == \
                {(x.arc_type, x.vintage): x.closing for x in whole.lines if x.closing}


def test_statements_add_up(backend, request, tmp_path):
    run_on_fresh_databases(Statements, backend, request, tmp_path, "statements", sqlite_examples=12,
                           postgres_examples=5, sqlite_steps=12, postgres_steps=8)

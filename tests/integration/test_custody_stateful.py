"""Custody credit as an invariant, proven by random sequences (issue 17): a
hypothesis state machine drives the custody services through certified and
uncertified receipts from several suppliers, duplicate receipts, outputs
with and without claims, lots of the account (R-M6) whose ARC generations and
claimed sales draw the same credit, clock moves past 12 months and period
closings. A
simple model beside it keeps every receipt's remaining credit and consumes
first in, first out by scanning them (what the registry must not do); after
every step the registry agrees with it:

- R-M4: the balance equals the model's, is never negative, and no credit is
  used after it expired (the model drops a receipt's credit on its expiry day);
- R-M6: claims (outputs and lot sales) + ARCs never exceed the certified input
  credit received, whatever the order;
- R-M2: a (supplier certificate, reference) is received once;
- R-M7: replaying the log re-derives the balances and finds nothing wrong.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from registry import additionality, determinations, facilities, generation, identity, lots, participants, rms_certificates
from registry.claims import parse_claim
from registry.custody import periods
from registry.custody import services
from registry.custody.rules import add_months, by_status, period_bounds
from registry.db import UnitOfWork
from registry.errors import RegistryError
from registry.identity import actor_of
from registry.units import Mass
from tests.integration.stateful_databases import FreshDatabaseMachine, run_on_fresh_databases

T = Decimal(1000)
ZERO = Decimal("0.000")
FACTOR = Decimal("0.9")
START = date(2024, 1, 1)
TODAY = datetime(2027, 6, 1, 9, 30, tzinfo=UTC)  # the last day the book reaches
IN_CLAIMS = ["RMS 100% PC MB", "RMS 50% PC MB", "RMS 30% MB", "RMS 100% PI MB", "RMS 60%/20% PC MB"]
OUT_CLAIMS = [None, "RMS 100% PC MB", "RMS 50% MB", "RMS 100% PI MB", "RMS 20% MB", "RMS 40%/10% PC MB"]
SERVES = {"PC": ("PC",), "PI": ("PI", "PC"), "R": ("R", "PI", "PC")}


@dataclass
class Receipt:
    expires_on: date
    left: dict[str, Decimal]


class Custody(FreshDatabaseMachine):
    @initialize()
    def setup(self):
        self.open_database(TODAY)
        self.day = date(2024, 1, 5)
        self.receipts: list[Receipt] = []
        self.references: list[tuple[str, str]] = []
        self.numbers = itertools.count(1)
        self.closed = 0
        with UnitOfWork(self.sessions, self.clock) as uow:
            admin = actor_of(identity.create_admin(uow, "admin@registry.test")[0])
            certifier = actor_of(identity.add_staff_user(uow, admin, email="a@nsf.example", role="certifier",
                                                         body_code="NSF"))
            ids = []
            for name in ("Converter X", "Sorter A", "Sorter B"):
                p = participants.register_participant(uow, admin, name=name, country="US",
                                                      gpp_signed_on=date(2023, 6, 1))
                participants.activate_participant(uow, admin, p.id)
                ids.append(p.id)
            self.certificates = []
            for n, pid in enumerate(ids, start=1):
                cert = rms_certificates.record_certificate(
                    uow, certifier, participant_id=pid, number=f"RMS-NSF-{n:05d}", issued_on=date(2023, 1, 1),
                    expires_on=date(2027, 12, 31), activities=["converting", "sorting", "reprocessing"],
                    facility_scope="single-site", product_groups=["PP film"], control_systems=["mass-balance"],
                    facilities=[{"name": "Plant 1", "address": "1 Mill Rd", "country": "US"}])  # R-G5
                self.certificates.append(cert.number)
            self.member = actor_of(identity.add_member(uow, admin, ids[0], email="ops@x.example"))
            site = facilities.register_facility(uow, self.member, participant_id=ids[0], name="Plant 1",
                                                address="1 Mill Rd", country="US", capacity=Mass(10**6 * T))
            self.account = services.open_account(
                uow, self.member, participant_id=ids[0], product_group="PP film", control_system="mass-balance",
                facility_ids=[site.id], starts_on=START, period_months=1, conversion_factor=FACTOR).id
            self.site = site.id
            for year in range(2024, 2028):  # R-A8: the determination of each processing year
                determinations.record_determination(
                    uow, certifier, facility_id=site.id, certification_year=year, mandate_share=Decimal(0),
                    newness=additionality.NewOperation(operation_start=date(2024, 1, 1)),
                    class_b=[{"test": "financial", "passed": True, "rationale": "needs ARC revenue"}], evidence=[])
            uow.commit()
        self._today()
        self.claimed_kg = ZERO  # claims on outputs and on lot sales, and ARCs: all drawn on credit (R-M6)
        self.arcs_kg = ZERO
        self.credited_kg = ZERO

    def _today(self):
        """The registry's clock follows the book: events are dated today (ARCs are generated today)."""
        self.clock.set(datetime.combine(self.day, TODAY.timetz()))

    # --- the model ---------------------------------------------------------------------------------
    def _live(self, day: date) -> list[Receipt]:
        return [r for r in self.receipts if r.expires_on > day]

    def _model_balance(self, day: date) -> dict[str, Decimal]:
        return {s: sum((r.left[s] for r in self._live(day)), ZERO) for s in ("PC", "PI", "R")}

    def _model_draw(self, claimed: dict[str, Decimal], day: date) -> bool:
        live = self._live(day)
        plan = []  # (receipt, status, kg)
        left = {id(r): dict(r.left) for r in live}
        for status in ("PC", "PI", "R"):
            need = claimed[status]
            for source in SERVES[status]:
                for r in live:  # oldest first: a scan, as a spreadsheet would
                    take = min(need, left[id(r)][source])
                    if take:
                        left[id(r)][source] -= take
                        plan.append((r, source, take))
                        need -= take
            if need > 0:
                return False
        for r, source, take in plan:
            r.left[source] -= take
        return True

    # --- rules ---------------------------------------------------------------------------------------
    @rule(supplier=st.sampled_from([1, 2]), tonnes=st.integers(1, 20), claim=st.sampled_from(IN_CLAIMS),
          certified=st.booleans())
    def receive(self, supplier, tonnes, claim, certified):
        reference = f"INV-{next(self.numbers)}"
        cert = self.certificates[supplier]
        result = self.attempt(lambda uow: services.receive_input(
            uow, self.member, self.account, on=self.day, supplier_name=f"Sorter {supplier}", reference=reference,
            material_code="PC_P3.1.9", mass=Mass(tonnes * T), claim=claim if certified else None,
            supplier_certificate=cert if certified else None))
        assert not isinstance(result, RegistryError), result
        if certified:
            certified_kg = by_status(parse_claim(claim), tonnes * T)
            self.receipts.append(Receipt(add_months(self.day, 12), {s: (v * FACTOR).quantize(Decimal("0.001"))
                                                                     for s, v in certified_kg.items()}))
            self.credited_kg += sum(self.receipts[-1].left.values(), ZERO)
            self.references.append((cert, reference))

    @precondition(lambda self: bool(getattr(self, "references", None)))
    @rule(data=st.data())
    def receive_again(self, data):
        cert, reference = data.draw(st.sampled_from(self.references))
        result = self.attempt(lambda uow: services.receive_input(
            uow, self.member, self.account, on=self.day, supplier_name="Sorter", reference=reference,
            material_code="PC_P3.1.9", mass=Mass(T), claim="RMS 100% PC MB", supplier_certificate=cert))
        assert isinstance(result, RegistryError) and result.code == "receipt_duplicate", result

    @rule(tonnes=st.integers(1, 30), claim=st.sampled_from(OUT_CLAIMS))
    def output(self, tonnes, claim):
        claimed = by_status(parse_claim(claim), tonnes * T) if claim else {s: ZERO for s in ("PC", "PI", "R")}
        result = self.attempt(lambda uow: services.record_output(
            uow, self.member, self.account, on=self.day, customer="Brand Co", reference=f"SO-{next(self.numbers)}",
            material_code="PC_P3.1.9", mass=Mass(tonnes * T), claim=claim))
        self._expect(result, claimed)

    def _expect(self, result, claimed: dict[str, Decimal]):
        allowed = self._model_draw(claimed, self.day)
        event(f"draw {'accepted' if allowed else 'refused'}")
        if allowed:
            assert not isinstance(result, RegistryError), result
            self.claimed_kg += sum(claimed.values(), ZERO)
        else:
            assert isinstance(result, RegistryError) and result.code == "insufficient_credit", result

    def _lot(self, tonnes: int) -> int:
        """A lot of the account processed today and sold whole without a claim (draws nothing)."""
        mass = Mass(tonnes * T)
        with UnitOfWork(self.sessions, self.clock) as uow:
            lot = lots.register_lot(
                uow, self.member, facility_id=self.site, reference=f"LOT-{next(self.numbers)}",
                material_code="PC_P3.1.9", mass=mass, processed_on=self.day, rms_certificate=self.certificates[0],
                non_plastic_fraction=Decimal("0"), custody_account_id=self.account,
                conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": mass}], "transformation": "physical",
                            "description": "extrude", "factor": Decimal("100"), "justification": "measured",
                            "outputs": [{"material_code": "PC_P3.1.9", "mass": mass}]})
            uow.commit()
            return lot.id

    @rule(tonnes=st.integers(1, 30), arcs=st.integers(1, 100))
    def generate(self, tonnes, arcs):
        """R-M6: ARCs from a lot of the account draw its credit (PC), or are refused."""
        lot_id = self._lot(tonnes)
        result = self.attempt(lambda uow: lots.add_disposition(
            uow, self.member, lot_id, kind="sale", on=self.day, counterparty="Brand Co", mass=Mass(tonnes * T)))
        assert not isinstance(result, RegistryError), result
        base = min(arcs * Decimal(100), tonnes * T)  # 100 kg steps: some fit the credit, some do not
        result = self.attempt(lambda uow: generation.generate(uow, self.member, lot_id=lot_id, mass=Mass(base)))
        before = self.claimed_kg
        self._expect(result, {"PC": base, "PI": ZERO, "R": ZERO})
        self.arcs_kg += self.claimed_kg - before
        self.claimed_kg = before

    @rule(tonnes=st.integers(1, 10), claim=st.sampled_from(OUT_CLAIMS[1:]))
    def claimed_lot_sale(self, tonnes, claim):
        """R-M6: a claimed sale of a lot of the account draws its credit, or is refused."""
        lot_id = self._lot(tonnes)
        result = self.attempt(lambda uow: lots.add_disposition(
            uow, self.member, lot_id, kind="sale", on=self.day, counterparty="Brand Co", mass=Mass(tonnes * T),
            claim=claim))
        self._expect(result, by_status(parse_claim(claim), tonnes * T))

    @rule(days=st.sampled_from([1, 20, 45, 200, 366]))
    def advance(self, days):
        self.day = min(self.day + timedelta(days=days), TODAY.date())
        self._today()

    @rule()
    def close_next_period(self):
        n = self.closed + 1
        _, end = period_bounds(START, 1, n)
        result = self.attempt(lambda uow: periods.close_period(uow, self.member, self.account, n))
        if end < self.day:
            assert not isinstance(result, RegistryError), result
            self.closed = n
        else:  # events are still being recorded in it
            assert isinstance(result, RegistryError) or end < TODAY.date()
            if not isinstance(result, RegistryError):
                self.closed = n
                self.day = max(self.day, end + timedelta(days=1))

    # --- invariants ------------------------------------------------------------------------------------
    @invariant()
    def balance_matches_the_model(self):
        if not hasattr(self, "engine"):
            return
        with UnitOfWork(self.sessions, self.clock) as uow:
            got = periods.balance(uow, self.member, self.account, self.day)["credit_kg"]
        expected = self._model_balance(self.day)
        assert {s: Decimal(v) for s, v in got.items()} == expected
        assert all(Decimal(v) >= 0 for v in got.values())  # never clamped: the services refuse first

    @invariant()
    def claims_and_arcs_within_certified_credit(self):
        """R-M6: claims + ARCs ≤ certified input after conversion, as the registry stores them."""
        if not hasattr(self, "engine"):
            return
        from sqlmodel import func, select

        from registry.custody.models import CustodyAccount, CustodyOutput
        from registry.models import Block, Lot

        with self.sessions() as session:
            account = session.get(CustodyAccount, self.account)
            credited = account.credited_pc_kg + account.credited_pi_kg + account.credited_r_kg
            outputs = session.exec(select(func.count()).select_from(CustodyOutput)).one()
            claimed = sum((o.claimed_pc_kg + o.claimed_pi_kg + o.claimed_r_kg
                           for o in session.exec(select(CustodyOutput))), ZERO)
            sales = sum((lot.claimed_kg for lot in session.exec(select(Lot).where(
                Lot.custody_account_id == self.account))), ZERO)
            arcs = sum((b.base_kg for b in session.exec(select(Block).join(Lot, Lot.id == Block.lot_id).where(
                Lot.custody_account_id == self.account))), ZERO)
        assert outputs >= 0 and credited == self.credited_kg
        assert claimed + sales == self.claimed_kg and arcs == self.arcs_kg
        assert claimed + sales + arcs <= credited

    @invariant()
    def replay_finds_nothing(self):
        self.replay_log()


@pytest.mark.slow
def test_custody_credit_invariants_hold_under_random_sequences(backend, request, tmp_path):
    run_on_fresh_databases(Custody, backend, request, tmp_path, "custody", sqlite_examples=30, postgres_examples=6)

"""Offers (R-T6) as block invariants under random sequences: a hypothesis
state machine transfers, offers, accepts, rejects, withdraws, retires and
lets offers lapse (the clock moves, the daily job runs), with the recipients'
``incoming_transfers`` setting switching on the way. A small model says who
holds what. After every step:

- the quantity is conserved: the blocks that are not split history (active,
  offered, retired) add up to the generated quantity, and their serial
  ranges tile it without overlap;
- an offered block is held by exactly one pending offer, and every pending
  offer holds an offered block still owned by its sender; no move or
  retirement of an offered block ever succeeds (the state machine tries);
- each participant holds what the model says (per state);
- replay accepts the log (R-L7c).

SQLite runs the full profile; PostgreSQL a shorter one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule
from sqlmodel import select

from registry import (additionality, determinations, facilities, generation, identity, lots, participant_details,
                      participants, retirements, rms_certificates, transfers)
from registry.db import UnitOfWork
from registry.errors import RegistryError
from registry.identity import actor_of
from registry.models import Block, Offer
from registry.offers import services as offers
from registry.offers.lapse import run_lapse
from registry.units import Mass
from tests.integration.stateful_databases import FreshDatabaseMachine, run_on_fresh_databases

TOTAL = Decimal("10.000")  # certificates generated: 10 t of PC_P3.1.9
NAMES = ("gen", "review", "auto")


class Offers(FreshDatabaseMachine):
    @initialize()
    def setup(self):
        self.open_database(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
        with UnitOfWork(self.sessions, self.clock) as uow:
            admin, _ = identity.create_admin(uow, "admin@registry.test")
            self.admin = actor_of(admin)
            certifier = actor_of(identity.add_staff_user(uow, self.admin, email="a@nsf.example", role="certifier",
                                                         body_code="NSF"))
            self.ids, self.actors = {}, {}
            for name in NAMES:
                p = participants.register_participant(uow, self.admin, name=f"{name.title()} Co", country="US",
                                                      gpp_signed_on=date(2025, 6, 1))
                participants.activate_participant(uow, self.admin, p.id)
                self.ids[name] = p.id
                self.actors[name] = actor_of(identity.add_member(uow, self.admin, p.id, email=f"ops@{name}.example"))
            gen = self.actors["gen"]
            rms_certificates.record_certificate(
                uow, certifier, participant_id=self.ids["gen"], number="RMS-NSF-00001", issued_on=date(2025, 1, 1),
                expires_on=date(2028, 12, 31), activities=["reprocessing"], facility_scope="single-site",
                product_groups=["resins"], control_systems=["mass-balance"],
                facilities=[{"name": "F1", "address": "1 Mill Rd", "country": "US"}])  # R-G5
            facility = facilities.register_facility(uow, gen, participant_id=self.ids["gen"], name="F1",
                                                    address="1 Mill Rd", country="US", capacity=Mass(Decimal(10**6)))
            determinations.record_determination(
                uow, certifier, facility_id=facility.id, certification_year=2026, mandate_share=Decimal(0),
                newness=additionality.NewOperation(operation_start=date(2025, 1, 1)),
                class_b=[{"test": "financial", "passed": True, "rationale": "needs ARC revenue"}], evidence=[])
            mass = Mass(Decimal(10_000))
            lot = lots.register_lot(
                uow, gen, facility_id=facility.id, reference="LOT-1", material_code="PC_P3.1.9", mass=mass,
                processed_on=self.clock.today(), rms_certificate="RMS-NSF-00001", non_plastic_fraction=Decimal(0),
                conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": mass}], "transformation": "physical",
                            "description": "extrude", "factor": Decimal(100), "justification": "measured",
                            "outputs": [{"material_code": "PC_P3.1.9", "mass": mass}]})
            lots.add_disposition(uow, gen, lot.id, kind="sale", on=self.clock.today(), counterparty="Brand Co",
                                 mass=mass)
            block = generation.generate(uow, gen, lot_id=lot.id)
            assert block.quantity == TOTAL
            uow.commit()
        self.setting = {name: "automatic" for name in NAMES}
        # the model: quantity held per (participant name, state)
        self.held = {("gen", "active"): TOTAL}

    # --- helpers ------------------------------------------------------------------------------

    def _name(self, pid: int) -> str:
        return next(n for n, i in self.ids.items() if i == pid)

    def _blocks(self, state: str, owner: str | None = None) -> list[Block]:
        with self.sessions() as session:
            query = select(Block).where(Block.state == state)
            if owner is not None:
                query = query.where(Block.owner_id == self.ids[owner])
            return list(session.exec(query.order_by(Block.serial)))

    def _pending(self) -> list[Offer]:
        with self.sessions() as session:
            return list(session.exec(select(Offer).where(Offer.state == "pending").order_by(Offer.id)))

    def _move(self, key: tuple, quantity: Decimal, to: tuple) -> None:
        self.held[key] -= quantity
        self.held[to] = self.held.get(to, Decimal(0)) + quantity


    # --- rules --------------------------------------------------------------------------------

    @rule(who=st.sampled_from(("review", "auto")), setting=st.sampled_from(("automatic", "review")))
    def set_setting(self, who, setting):
        self.attempt(lambda uow: participant_details.update_participant(
            uow, self.actors[who], self.ids[who], incoming_transfers=setting))
        self.setting[who] = setting

    @rule(sender=st.sampled_from(NAMES), to=st.sampled_from(NAMES), pick=st.integers(0, 100),
          thousandths=st.integers(1, 10_000))
    def transfer(self, sender, to, pick, thousandths):
        held = self._blocks("active", sender)
        if not held or sender == to:
            return
        block = held[pick % len(held)]
        quantity = min(Decimal(thousandths).scaleb(-3), block.quantity)
        result = self.attempt(lambda uow: transfers.transfer(uow, self.actors[sender], serial=block.serial,
                                                          quantity=quantity, to_participant_id=self.ids[to]))
        assert not isinstance(result, RegistryError), result
        if self.setting[to] == "review":
            assert result.offer is not None and result.moved.state == "offered"
            self._move((sender, "active"), quantity, (sender, "offered"))
        else:
            assert result.offer is None
            self._move((sender, "active"), quantity, (to, "active"))

    @precondition(lambda self: bool(self._pending()))
    @rule(pick=st.integers(0, 100), action=st.sampled_from(("accept", "reject", "withdraw")),
          by=st.sampled_from(("sender", "recipient")))
    def decide(self, pick, action, by):
        pending = self._pending()
        offer = pending[pick % len(pending)]
        sender, recipient = self._name(offer.from_participant_id), self._name(offer.to_participant_id)
        actor = self.actors[sender if by == "sender" else recipient]
        with self.sessions() as session:
            quantity = session.get(Block, offer.serial).quantity
        result = self.attempt(lambda uow: offers.decide(uow, actor, offer.id, action=action))
        rightful = (by == "sender") == (action == "withdraw")
        if not rightful:
            assert isinstance(result, RegistryError) and result.code in ("not_offer_sender", "not_offer_recipient")
            return
        assert not isinstance(result, RegistryError), result
        assert result.state == {"accept": "accepted", "reject": "rejected", "withdraw": "withdrawn"}[action]
        to = (recipient, "active") if action == "accept" else (sender, "active")
        self._move((sender, "offered"), quantity, to)
        again = self.attempt(lambda uow: offers.decide(uow, actor, offer.id, action=action))
        assert isinstance(again, RegistryError) and again.status == 409

    @precondition(lambda self: bool(self._pending()))
    @rule(pick=st.integers(0, 100), who=st.sampled_from(NAMES), retire=st.booleans())
    def held_block_never_moves(self, pick, who, retire):
        pending = self._pending()
        offer = pending[pick % len(pending)]
        actor = self.actors[who]
        if retire:
            result = self.attempt(lambda uow: retirements.retire(
                uow, actor, serial=offer.serial, quantity=Decimal("0.001"), beneficiary="B", claim_type="general",
                reporting_year=2026))
        else:
            to = self.ids["auto"] if who != "auto" else self.ids["gen"]
            result = self.attempt(lambda uow: transfers.transfer(uow, actor, serial=offer.serial,
                                                              quantity=Decimal("0.001"), to_participant_id=to))
        assert isinstance(result, RegistryError) and result.code in ("block_not_active", "not_owner"), result

    @rule(owner=st.sampled_from(NAMES), pick=st.integers(0, 100), thousandths=st.integers(1, 3000))
    def retire(self, owner, pick, thousandths):
        held = self._blocks("active", owner)
        if not held:
            return
        block = held[pick % len(held)]
        quantity = min(Decimal(thousandths).scaleb(-3), block.quantity)
        result = self.attempt(lambda uow: retirements.retire(
            uow, self.actors[owner], serial=block.serial, quantity=quantity, beneficiary="Brand Co",
            claim_type="general", reporting_year=2026))
        assert not isinstance(result, RegistryError), result
        self._move((owner, "active"), quantity, (owner, "retired"))

    @rule(days=st.integers(1, 40))
    def time_passes_and_offers_lapse(self, days):
        if self.clock.today() + timedelta(days=days) > date(2027, 12, 31):
            return  # inside the use period: expiry of held blocks is tested through the API
        self.clock.set(self.clock.now() + timedelta(days=days))
        due = [o for o in self._pending() if o.lapses_on < self.clock.today()]
        with self.sessions() as session:
            back = {o.id: (self._name(o.from_participant_id), session.get(Block, o.serial).quantity) for o in due}
        assert self.attempt(lambda uow: run_lapse(uow)) == {"lapsed": len(due)}
        for sender, quantity in back.values():
            self._move((sender, "offered"), quantity, (sender, "active"))

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def quantity_is_conserved_and_ranges_tile(self):
        if not hasattr(self, "engine"):
            return
        with self.sessions() as session:
            blocks = list(session.exec(select(Block).where(Block.state != "split").order_by(Block.first_unit)))
        assert sum(b.quantity for b in blocks) == TOTAL
        position = 1
        for b in blocks:
            assert b.first_unit == position
            position = b.last_unit + 1
        for (name, state), quantity in self.held.items():
            assert sum((b.quantity for b in blocks if b.state == state and b.owner_id == self.ids[name]),
                       Decimal(0)) == quantity, (name, state)

    @invariant()
    def offered_blocks_and_pending_offers_match(self):
        if not hasattr(self, "engine"):
            return
        pending = {o.serial: o for o in self._pending()}
        offered = {b.serial: b for b in self._blocks("offered")}
        assert set(pending) == set(offered)
        for serial, offer in pending.items():
            assert offered[serial].owner_id == offer.from_participant_id
            assert offer.lapses_on >= self.clock.today()  # the lapse job ran after every clock move

    @invariant()
    def replay_accepts_the_log(self):
        self.replay_log()


@pytest.mark.slow
def test_offer_invariants_hold_under_random_sequences(backend, request, tmp_path):
    run_on_fresh_databases(Offers, backend, request, tmp_path, "offers", sqlite_examples=25, postgres_examples=5)

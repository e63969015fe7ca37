"""The quantity rules as invariants, proven by random sequences (issue "No
double counting"): a hypothesis state machine drives the services through
lots (whole and PC/PI split, on facilities and lines), sales with and without
RMS claims, generations (whole, partial, per component), cancellations,
determinations recorded, superseded, withdrawn and recorded again, and clock
moves across the year end. A small model beside it says what each request
should do; after every step the registry must agree with it and hold:

- R-B4, per lot: ARC mass + claimed mass <= sold <= lot mass, and per
  component c: ARC mass(c) + claimed mass(c) <= mass(c) -- never a floor that
  hides an overdraft;
- R-A9, per facility-year: base mass used for ARCs <= the highest eligible
  volume the facility had that year (no reset, no stacking);
- R-C5: certificate suspensions, reinstatements and revocations, back-dated
  or future-dated, dispute the blocks of the lots processed on a day they
  make not valid; no active block from such a lot is left undisputed unless
  an administrator cleared it, and a disputed block cancelled on the
  certifier's word does not give the lot back its eligible mass;
- R-C6: the certificate is renewed under its number (at once or after a gap,
  whose days are not valid) and its sites amended from a date (F2 dropped or
  added back): lots and generation read the periods and the sites in force
  on the processing day;
- R-L7c: replaying the log accepts every entry the services wrote;
- R-U6: sales and generations requested in lb convert as the lot's running
  total (per ledger, per component), a lot registered in lb sold in lb parts
  that add up to it is sold out to the gram, and a request without a mass
  takes exactly what is left.

SQLite runs the full profile; PostgreSQL a shorter one (both in CI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, initialize, invariant, multiple, precondition, rule)
from sqlmodel import select

from registry import (additionality, certification, corrections, determinations, disputes, facilities, generation,
                      identity, lots, participants, rms_certificates)
from registry.claims import parse_claim
from registry.db import UnitOfWork
from registry.errors import RegistryError
from registry.identity import actor_of
from registry.models import Block, BlockDispute, Determination, Lot
from registry.units import Mass, MassRequest, to_kg
from tests.integration.stateful_databases import FreshDatabaseMachine, run_on_fresh_databases

T = Decimal(1000)  # kg per tonne
ZERO = Decimal("0.000")
CLAIMS = [None, "RMS 100% PC MB", "RMS 50% PC MB", "RMS 100% PI MB", "RMS 50%/10% PC MB", "RMS 30% MB"]
# (facility, line) the lots and determinations may name; capacities in tonnes.
CAPACITY = {"F1": 100, "F2": 60}
LINE_CAPACITY = {"L": 30}  # a line of F2
SCOPES = [("F1", None), ("F2", None), ("F2", "L")]
CERT_ISSUED, CERT_EXPIRES = date(2025, 1, 1), date(2026, 12, 31)  # renewed by the `renew` rule (R-C6)
SITES = {name: {"name": name, "address": "1 Mill Rd", "country": "US"} for name in CAPACITY}


@dataclass
class LotModel:
    mass: Decimal
    pc: Decimal | None
    facility: str
    line: str | None
    year: int
    sold: Decimal = ZERO
    claimed: Decimal = ZERO
    claimed_pc: Decimal = ZERO
    used: Decimal = ZERO
    used_pc: Decimal = ZERO
    pounds: Decimal | None = None  # R-U6: the lot's mass as registered in lb
    sold_lb: Decimal = ZERO  # pounds requested by its sales so far
    used_lb: dict = field(default_factory=dict)  # component -> pounds requested by its generations

    def rooms(self) -> dict[str, Decimal]:
        if self.pc is None:
            return {"PC": self.mass - self.claimed - self.used}
        return {"PC": self.pc - self.claimed_pc - self.used_pc,
                "PI": (self.mass - self.pc) - (self.claimed - self.claimed_pc) - (self.used - self.used_pc)}

    def sold_room(self) -> Decimal:
        return self.sold - self.claimed - self.used


@dataclass
class Model:
    lots: dict[int, LotModel] = field(default_factory=dict)
    # (facility, line, year) -> eligible kg of the current additional determination
    current: dict[tuple[str, str | None, int], Decimal] = field(default_factory=dict)
    # (facility, year) -> the highest facility ceiling it ever had
    peak: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    # R-C3: the certificate's suspensions, reinstatements and revocations
    events: list[certification.CertificateEvent] = field(default_factory=list)
    # lot id -> the day it was processed
    processed: dict[int, date] = field(default_factory=dict)
    # R-C6: the certificate's validity periods and its site versions [(effective_on, {facility names})]
    periods: list[tuple[date, date]] = field(default_factory=lambda: [(CERT_ISSUED, CERT_EXPIRES)])
    sites: list[tuple[date, frozenset]] = field(default_factory=lambda: [(CERT_ISSUED, frozenset(CAPACITY))])

    def valid_on(self, day: date) -> bool:
        return certification.is_valid_on(day, self.periods, self.events)

    def sites_on(self, day: date) -> frozenset:
        current = self.sites[0][1]
        for effective, names in self.sites:
            if effective <= day:
                current = names
        return current

    def used(self, facility: str, year: int, line: str | None = None) -> Decimal:
        return sum((lot.used for lot in self.lots.values() if lot.facility == facility and lot.year == year
                    and (line is None or lot.line == line)), ZERO)

    def ceiling(self, facility: str, year: int) -> Decimal:
        own = self.current.get((facility, None, year), ZERO)
        lines = sum((e for (f, line, y), e in self.current.items() if f == facility and y == year and line), ZERO)
        return max(own, lines)

    def note_ceiling(self, facility: str, year: int) -> None:
        key = (facility, year)
        self.peak[key] = max(self.peak.get(key, ZERO), self.ceiling(facility, year))


class Registry(FreshDatabaseMachine):
    """One registry per example: a fresh database from ``new_database()``."""


    lot_ids = Bundle("lots")

    @initialize()
    def setup(self):
        self.open_database(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
        self.model = Model()
        self.blocks: list[str] = []
        with UnitOfWork(self.sessions, self.clock) as uow:
            admin_user, _ = identity.create_admin(uow, "admin@registry.test")
            self.admin = actor_of(admin_user)
            self.certifier = actor_of(identity.add_staff_user(uow, self.admin, email="a@nsf.example",
                                                              role="certifier", body_code="NSF"))
            p = participants.register_participant(uow, self.admin, name="Acme Recycling", country="US",
                                                  gpp_signed_on=date(2025, 6, 1))
            participants.activate_participant(uow, self.admin, p.id)
            self.member = actor_of(identity.add_member(uow, self.admin, p.id, email="ops@acme.example"))
            rms_certificates.record_certificate(
                uow, self.certifier, participant_id=p.id, number="RMS-NSF-00001", issued_on=CERT_ISSUED,
                expires_on=CERT_EXPIRES, activities=["reprocessing"], facility_scope="multi-site",
                product_groups=["resins"], control_systems=["mass-balance"], facilities=list(SITES.values()))
            self.facility_ids = {}
            for name, capacity in CAPACITY.items():
                made = facilities.register_facility(uow, self.member, participant_id=p.id, name=name,
                                                    address="1 Mill Rd", country="US", capacity=Mass(capacity * T))
                self.facility_ids[name] = made.id
            line = facilities.register_line(uow, self.member, self.facility_ids["F2"], name="L",
                                            capacity=Mass(LINE_CAPACITY["L"] * T))
            self.line_ids = {"L": line.id}
            uow.commit()

    # --- one request, and whether the registry agreed with the model ------------------------

    def _attempt(self, call, allowed: bool, refusals: set[str]):
        with UnitOfWork(self.sessions, self.clock) as uow:
            try:
                result = call(uow)
            except RegistryError as error:
                assert not allowed, f"refused {error.code} ({error.detail}), the model allows it"
                assert error.code in refusals, f"refused with {error.code}: {error.detail}"
                return None
            uow.commit()
        assert allowed, f"accepted {result!r}, the model refuses it"
        return result

    @property
    def year(self) -> int:
        return self.clock.today().year

    # --- rules --------------------------------------------------------------------------------

    def _determiner(self):
        """The certifier, while its body certifies the participant this year (R-X10: a
        revocation ends that); the administrator, who is bound to no body, after."""
        held = certification.held_in_year(self.model.periods, [(e.kind, e.on) for e in self.model.events],
                                          self.year)
        return self.certifier if held else self.admin

    @rule(scope=st.sampled_from(SCOPES), share=st.sampled_from(["0", "0.5"]))
    def record_determination(self, scope, share):
        facility, line = scope
        capacity = (LINE_CAPACITY[line] if line else CAPACITY[facility]) * T
        with UnitOfWork(self.sessions, self.clock) as uow:
            determinations.record_determination(
                uow, self._determiner(), facility_id=self.facility_ids[facility], certification_year=self.year,
                mandate_share=Decimal(share),
                newness=additionality.NewOperation(operation_start=date(2025, 1, 1)),
                class_b=[{"test": "financial", "passed": True, "rationale": "needs ARC revenue"}], evidence=[],
                line_id=self.line_ids[line] if line else None)
            uow.commit()
        self.model.current[(facility, line, self.year)] = (capacity * (1 - Decimal(share))).quantize(Decimal("0.001"))
        self.model.note_ceiling(facility, self.year)

    @rule(scope=st.sampled_from(SCOPES))
    def withdraw_determination(self, scope):
        facility, line = scope
        with UnitOfWork(self.sessions, self.clock) as uow:
            found = [d.id for d in uow.session.exec(select(Determination).where(
                Determination.facility_id == self.facility_ids[facility],
                Determination.certification_year == self.year, Determination.status == "current"))
                if d.line_id == (self.line_ids[line] if line else None)]
        allowed = bool(found)
        self._attempt(lambda uow: determinations.withdraw_determination(
            uow, self._determiner(), found[0] if found else 10**6, reason="re-audit"), allowed,
            {"determination_not_found"})
        if allowed:
            self.model.current.pop((facility, line, self.year), None)

    @rule(target=lot_ids, scope=st.sampled_from(SCOPES), tonnes=st.integers(1, 60),
          pc_tenths=st.one_of(st.none(), st.integers(1, 9)), in_pounds=st.booleans())
    def register_lot(self, scope, tonnes, pc_tenths, in_pounds):
        facility, line = scope
        pounds = Decimal(tonnes * 2000) if in_pounds and pc_tenths is None else None  # R-U6
        mass = tonnes * T if pounds is None else to_kg(pounds, "lb")
        pc = None if pc_tenths is None else mass * pc_tenths / 10
        code = "PC_P3.1.9" if pc is None else "PI_P3.1.9"
        today = self.clock.today()
        # R-B1: its certificate valid on the processing day; R-G5, R-C6: the site listed that day
        if not self.model.valid_on(today) or facility not in self.model.sites_on(today):
            self._attempt(lambda uow: self._register(uow, facility, line, mass, pc, code), False,
                          {"certificate_invalid", "facility_not_certified"})
            return multiple()
        with UnitOfWork(self.sessions, self.clock) as uow:
            lot = self._register(uow, facility, line, mass, pc, code)
            uow.commit()
            lot_id = lot.id
        self.model.lots[lot_id] = LotModel(mass, pc, facility, line, self.year, pounds=pounds)
        self.model.processed[lot_id] = self.clock.today()
        return lot_id

    def _register(self, uow, facility, line, mass, pc, code):
        return lots.register_lot(
            uow, self.member, facility_id=self.facility_ids[facility],
            line_id=self.line_ids[line] if line else None, reference=f"LOT-{len(self.model.lots) + 1}",
            material_code=code, mass=Mass(mass), processed_on=self.clock.today(), rms_certificate="RMS-NSF-00001",
            non_plastic_fraction=Decimal("0"),
            pc_mass=None if pc is None else Mass(pc), pi_mass=None if pc is None else Mass(mass - pc),
            conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": Mass(mass)}],
                        "transformation": "physical", "description": "extrude", "factor": Decimal("100"),
                        "justification": "measured", "outputs": [{"material_code": code, "mass": Mass(mass)}]})

    @rule(target=lot_ids, scope=st.sampled_from(SCOPES), tonnes=st.integers(1, 10))
    def generated_lot(self, scope, tonnes):
        """A lot registered, sold whole and its ARCs generated, through the rules
        above: random sequences rarely get that far by chance, and the findings
        of ``certificate_event`` need blocks to dispute (R-C5)."""
        if (scope[0], scope[1], self.year) not in self.model.current:
            self.record_determination(scope, "0")
        lot_id = self.register_lot(scope, tonnes, None, False)
        if not isinstance(lot_id, int):
            return multiple()
        self.sell(lot_id, tonnes * 4, None, "kg")
        self.generate(lot_id, "PC", None, "kg")
        return lot_id

    @staticmethod
    def _request(lot: LotModel, unit: str, quarters: int) -> MassRequest | None:
        """A request: a quarter-tonne multiple in kg, an odd pound figure, a quarter of a
        lot registered in lb (in lb), or None (take the rest)."""
        if unit == "rest":
            return None
        if unit == "lb" and lot.pounds is not None and quarters % 2:
            return MassRequest(lot.pounds / 4, "lb")
        if unit == "lb":
            return MassRequest(quarters * Decimal("551.117"), "lb")
        return MassRequest(quarters * T / 4, "kg")

    @staticmethod
    def _kg(request: MassRequest | None, running_lb: Decimal, rest: Decimal) -> tuple[Decimal, Decimal]:
        """The model of R-U6: (kg taken, pounds requested after it)."""
        if request is None:
            return rest, running_lb
        if request.unit == "lb":
            return to_kg(running_lb + request.value, "lb") - to_kg(running_lb, "lb"), running_lb + request.value
        return request.kg, running_lb

    @rule(lot_id=lot_ids, quarters=st.integers(1, 40), claim=st.sampled_from(CLAIMS),
          unit=st.sampled_from(["kg", "lb", "lb", "rest"]))
    def sell(self, lot_id, quarters, claim, unit):
        lot = self.model.lots[lot_id]
        request = self._request(lot, unit, quarters)
        mass, sold_lb = self._kg(request, lot.sold_lb, lot.mass - lot.sold)
        claimed = claimed_pc = ZERO
        if claim:
            parsed = parse_claim(claim)
            claimed = (mass * parsed.total_percent / 100).quantize(Decimal("0.001"), ROUND_HALF_UP)  # R-U4
            claimed_pc = (mass * parsed.pc_percent / 100).quantize(Decimal("0.001"), ROUND_HALF_UP)
        after = LotModel(lot.mass, lot.pc, lot.facility, lot.line, lot.year, lot.sold + mass, lot.claimed + claimed,
                         lot.claimed_pc + claimed_pc, lot.used, lot.used_pc, lot.pounds, sold_lb, dict(lot.used_lb))
        disclaimer = claim is not None and lot.used == lot.mass  # R-B5
        allowed = mass > 0 and after.sold <= lot.mass and not disclaimer and \
            all(r >= 0 for r in after.rooms().values()) and after.sold_room() >= 0
        done = self._attempt(lambda uow: lots.add_disposition(
            uow, self.member, lot_id, kind="sale", on=self.clock.today(), counterparty="Brand Co", mass=request,
            claim=claim), allowed, {"lot_over_allocated", "disclaimer_required"})
        if done is not None:
            self.model.lots[lot_id] = after

    @rule(lot_id=lot_ids, component=st.sampled_from(["PC", "PI"]),
          quarters=st.one_of(st.none(), st.integers(1, 40)), unit=st.sampled_from(["kg", "lb"]))
    def generate(self, lot_id, component, quarters, unit):
        lot = self.model.lots[lot_id]
        if lot.pc is None and component == "PI":
            component = "PC"
        rooms = lot.rooms()
        eligible = min(rooms[component], lot.sold_room())
        request = None if quarters is None else self._request(lot, unit, quarters)
        running = lot.used_lb.get(component, ZERO)
        base, used_lb = self._kg(request, running, eligible)
        covering_key = (lot.facility, lot.line, lot.year) if (lot.facility, lot.line, lot.year) in self.model.current \
            else (lot.facility, None, lot.year)
        covered = covering_key in self.model.current
        # R-P2: the generator's certificate valid today; R-G1: the lot's own valid on its processing day
        processed = self.model.processed[lot_id]
        certified = self.model.valid_on(self.clock.today()) and self.model.valid_on(processed) and \
            lot.facility in self.model.sites_on(processed)  # R-G5 with the sites in force that day (R-C6)
        allowed = certified and covered and 0 < base <= eligible
        if allowed:
            covering_used = self.model.used(lot.facility, lot.year, covering_key[1])
            allowed = covering_used + base <= self.model.current[covering_key]
            if covering_key[1] is not None:
                allowed = allowed and self.model.used(lot.facility, lot.year) + base <= \
                    self.model.ceiling(lot.facility, lot.year)
        block = self._attempt(lambda uow: generation.generate(
            uow, self.member, lot_id=lot_id, mass=request,
            component=component if lot.pc is not None else None), allowed,
            {"lot_over_allocated", "not_additional", "eligible_volume_exceeded", "certificate_invalid",
             "facility_not_certified"})
        if block is not None:
            lot.used += base
            lot.used_lb[component] = used_lb
            if component == "PC" and lot.pc is not None:
                lot.used_pc += base
            self.blocks.append(block.serial)

    @rule(pick=st.integers(0, 10**6))
    def cancel(self, pick):
        if not self.blocks:
            return
        serial = self.blocks[pick % len(self.blocks)]
        with UnitOfWork(self.sessions, self.clock) as uow:
            block = uow.session.exec(select(Block).where(Block.serial == serial)).one()
            lot_id, base, status, disputed = block.lot_id, block.base_kg, block.recycled_status, block.disputed
        # R-C5: a disputed block is not corrected by R-E5 but decided on the certifier's word.
        if self._attempt(lambda uow: corrections.cancel_block(uow, self.admin, serial, reason="entered twice"),
                         not disputed, {"block_disputed"}) is None:
            return
        self.blocks.remove(serial)
        lot = self.model.lots[lot_id]
        lot.used -= base
        if status == "PC" and lot.pc is not None:
            lot.used_pc -= base

    @precondition(lambda self: self.blocks)  # a finding matters once ARCs exist: find them more often
    @rule(kind=st.sampled_from(certification.EVENT_KINDS), days_back=st.integers(-60, 400))
    def certificate_event(self, kind, days_back):
        """A suspension, reinstatement or revocation dated up to 400 days back (a
        certifier's finding) or 60 days ahead (R-C3, R-C5)."""
        on = self.clock.today() - timedelta(days=days_back)
        events = self.model.events
        allowed = certification.in_periods(on, self.model.periods) and not any(
            e.kind == certification.REVOKED and e.on <= on for e in events)
        if kind == certification.REINSTATED:
            allowed = allowed and certification.status_on(on, self.model.periods, events) == "suspended"
        done = self._attempt(lambda uow: rms_certificates.add_event(
            uow, self.certifier, "RMS-NSF-00001", kind=kind, on=on, reason="finding"), allowed,
            {"outside_validity", "certificate_revoked", "not_suspended"})
        if done is not None:
            events.append(certification.CertificateEvent(kind, on))

    @rule(gap=st.sampled_from([1, 1, 45]), years=st.integers(1, 2))
    def renew(self, gap, years):
        """R-C6: a renewal under the same number, right after the last period or
        after a gap whose days are not valid; never after a revocation."""
        last = self.model.periods[-1][1]
        issued = last + timedelta(days=gap)
        expires = date(issued.year + years, issued.month, 1) - timedelta(days=1)
        allowed = not any(e.kind == certification.REVOKED for e in self.model.events)
        done = self._attempt(lambda uow: rms_certificates.renew_certificate(
            uow, self.certifier, "RMS-NSF-00001", issued_on=issued, expires_on=expires), allowed,
            {"certificate_revoked"})
        if done is not None:
            self.model.periods.append((issued, expires))

    @rule(with_f2=st.booleans(), ahead=st.sampled_from([0, 0, 20]))
    def amend_sites(self, with_f2, ahead):
        """R-C6, RMS 7.4.3: F2 dropped from (or added back to) the certificate's
        sites from today or a later day within a validity period."""
        on = self.clock.today() + timedelta(days=ahead)
        names = frozenset(CAPACITY) if with_f2 else frozenset({"F1"})
        allowed = certification.in_periods(on, self.model.periods) and on >= self.model.sites[-1][0]
        done = self._attempt(lambda uow: rms_certificates.amend_certificate(
            uow, self.certifier, "RMS-NSF-00001", effective_on=on, facilities=[SITES[n] for n in sorted(names)]),
            allowed, {"outside_validity", "amendment_backdated"})
        if done is not None:
            self.model.sites.append((on, names))

    @rule(pick=st.integers(0, 10**6), decision=st.sampled_from(disputes.DECISIONS))
    def decide_dispute(self, pick, decision):
        with self.sessions() as session:
            disputed = list(session.exec(select(Block.serial).where(Block.disputed.is_(True)).order_by(Block.serial)))
        if not disputed:
            return
        serial = disputed[pick % len(disputed)]
        with UnitOfWork(self.sessions, self.clock) as uow:
            disputes.decide(uow, self.admin, serial, decision=decision, reason="the certifier's word")
            uow.commit()
        if decision == "cancel":
            self.blocks.remove(serial)  # R-C5: the lot's eligible mass is NOT restored (the model keeps it used)

    @rule()
    def next_year(self):
        if self.year < 2027:
            self.clock.set(datetime(self.year + 1, 1, 5, 9, 30, tzinfo=UTC))

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def lots_hold_r_b4_and_match_the_model(self):
        if not hasattr(self, "engine"):
            return
        with self.sessions() as session:
            for row in session.exec(select(Lot)):
                assert lots.account(row).violations() == [], row
                model = self.model.lots[row.id]
                assert (row.sold_kg, row.claimed_kg, row.claimed_pc_kg, row.used_kg, row.used_pc_kg) == (
                    model.sold, model.claimed, model.claimed_pc, model.used, model.used_pc)
                assert row.claimed_kg + row.used_kg <= row.sold_kg <= row.mass_kg
                # R-U6: the running pound totals, per ledger and component
                used_lb = sum(model.used_lb.values(), ZERO)
                assert (row.sold_lb, row.used_lb, row.used_pc_lb) == (
                    model.sold_lb, used_lb, model.used_lb.get("PC", ZERO) if model.pc is not None else ZERO)
                if model.pounds is not None and model.sold_lb == model.pounds:
                    assert row.sold_kg == row.mass_kg  # lb parts that add up to the lot sell it to the gram

    @invariant()
    def no_undisputed_block_from_a_lot_processed_while_not_valid(self):
        """R-C5: an active block whose lot was processed on a day its certificate
        is (as the register now stands) not valid is disputed, or was cleared."""
        if not hasattr(self, "engine"):
            return
        with self.sessions() as session:
            cleared = set(session.exec(select(BlockDispute.serial).where(BlockDispute.outcome == "cleared")))
            for block in session.exec(select(Block).where(Block.state == "active")):
                if not self.model.valid_on(self.model.processed[block.lot_id]):
                    assert block.disputed or block.serial in cleared, block.serial

    @invariant()
    def facility_years_stay_within_their_ceiling(self):
        for (facility, year) in {(lot.facility, lot.year) for lot in self.model.lots.values()}:
            assert self.model.used(facility, year) <= self.model.peak.get((facility, year), ZERO)

    @invariant()
    def replay_accepts_the_log(self):
        self.replay_log()


@pytest.mark.slow
def test_lot_and_facility_invariants_hold_under_random_sequences(backend, request, tmp_path):
    run_on_fresh_databases(Registry, backend, request, tmp_path, "stateful", sqlite_examples=40, postgres_examples=8)

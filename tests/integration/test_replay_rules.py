"""R-L7: the replay re-checks each rule (issue 21, item 2), on SQLite and PostgreSQL.

Each test builds a real registry through the HTTP API, checks that it
verifies, then appends through `chainlog.store` directly — as a writer
bypassing the services would — one entry that breaks exactly one rule,
hashed, chained and covered by a signed checkpoint like any other. Nothing
but the replay can see the fault: verification must fail as
``replay_inconsistent`` naming that entry's index. The crafted entries are
copies of entries the services wrote, changed only where the rule is
broken, so every other check the replay makes still passes; were the rule's
check removed, the entry would replay and the run would fail later and
differently (``state_drift`` without an index) or not at all.

(The replay's errors carry no rule id yet, only the kind and the index: the
tests assert those, not message wording.)
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from chainlog import store
from registry.blocks import format_serial
from registry.db import UnitOfWork, session_factory
from registry.verification import verify_registry
from tests.api.driver import t


class Log:
    """The test registry's log: append a signed entry, verify everything."""

    def __init__(self, app, engine) -> None:
        self.state = app.extensions["arcreg"]
        self.engine = engine

    def entries(self) -> list[store.StoredEntry]:
        with session_factory(self.engine)() as session:
            return list(store.iter_entries(session))

    def last(self, kind: str, **match) -> store.StoredEntry:
        found = [e for e in self.entries()
                 if e.type == kind and all(e.payload.get(k) == v for k, v in match.items())]
        assert found, (kind, match)
        return found[-1]

    def _sign(self, session) -> None:
        clock = self.state.clock
        store.sign_checkpoint(session, self.state.signer, self.state.config.log_origin, clock.now())

    def append(self, kind: str, payload: dict, actor: str) -> int:
        with UnitOfWork(session_factory(self.engine), self.state.clock) as uow:
            appended = store.append(uow.session, type=kind, actor=actor, payload=payload,
                                    time=uow.clock.now())
            self._sign(uow.session)
            uow.commit()
        return appended.index

    def verify(self):
        with UnitOfWork(session_factory(self.engine), self.state.clock) as uow:
            self._sign(uow.session)  # cover every entry the services wrote
            uow.commit()
        with session_factory(self.engine)() as session:
            return verify_registry(session, [self.state.signer.verifier], record=False)

    def assert_verifies(self) -> None:
        report = self.verify()
        assert report.ok, report.failure()

    def assert_refused_at(self, index: int) -> None:
        report = self.verify()
        assert not report.ok, f"entry {index} was accepted by the replay"
        assert (report.error.kind, report.error.index) == ("replay_inconsistent", index), report.failure()

    def last_of(self, serial: str) -> dict:
        """The block's fields as its last lineage entry recorded them, with that entry's link."""
        for e in reversed(self.entries()):
            p = e.payload
            for record in (p, p.get("moved"), p.get("remainder"), p.get("retired")):
                if isinstance(record, dict) and record.get("serial") == serial:
                    return {**record, "_index": e.index, "_leaf": e.leaf_hash.hex()}
        raise AssertionError(f"no entry records block {serial}")


@pytest.fixture
def log(app, engine) -> Log:
    return Log(app, engine)


def _lot(driver, gen, mass, sold, facility_id=None, **overrides) -> dict:
    lot = driver.lot(gen.token, facility_id or gen.facility_id, gen.certificate, mass=mass, **overrides)
    driver.sell(gen.token, lot["id"], sold)
    return lot


def _generation_beside(entry: store.StoredEntry, first: int, units: int, lot_used_kg: Decimal,
                       lot_mass_kg: Decimal) -> dict:
    """A copy of a real ``block.generated`` payload for another serial range of
    the same generator, lot and determination (base mass = units kg)."""
    p = copy.deepcopy(entry.payload)
    last = first + units - 1
    p.update(first=first, last=last, quantity=format(Decimal(units).scaleb(-3), "f"),
             base_kg=format(Decimal(units), ".3f"), lot_used_kg=format(lot_used_kg, ".3f"),
             disclaimer_required=lot_used_kg == lot_mass_kg,
             serial=format_serial(p["arc_code"], p["generation_year"], p["generator"], first, last))
    if "requested" in p:  # R-U6: the request the base mass follows from
        p["requested"] = {"value": format(Decimal(units), ".3f"), "unit": "kg"}
    return p


# --- registry/replay/block_events.py: block.generated -----------------------------------


def test_r_g2_a_generation_overlapping_issued_serials_is_refused(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), t(10))
    block = driver.generate(gen.token, lot["id"], mass=t(3))  # units 1..3000
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    # 2 t more from the same lot, numbered 2001..4000: balances fine, serials overlap.
    bad = log.append("block.generated", _generation_beside(real, 2001, 2000, Decimal(5000), Decimal(10000)),
                     real.actor)
    log.assert_refused_at(bad)


def test_r_g2_control_the_same_generation_above_the_issued_serials_replays(driver, log):
    """The control of the test above: numbered 3001..5000 the entry is consistent
    (the log then holds a block no table has: state_drift, not a replay error)."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), t(10))
    block = driver.generate(gen.token, lot["id"], mass=t(3))
    real = log.last("block.generated", serial=block["serial"])
    log.append("block.generated", _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000)), real.actor)
    report = log.verify()
    assert (report.error.kind, report.error.index) == ("state_drift", None), report.failure()


@pytest.mark.parametrize("use_period_end", ["2028-12-31", "2026-12-31", None])
def test_r_e1_a_generation_announcing_another_use_period_is_refused(driver, log, use_period_end):
    """R-E1, R-L7c: a 2026 block is in use until 2027-12-31; a generation entry that announces a
    longer or shorter use period (or none) is refused at it, as an expiry entry is."""
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), t(10))
    block = driver.generate(gen.token, lot["id"], mass=t(3))
    real = log.last("block.generated", serial=block["serial"])
    assert real.payload["use_period_end"] == "2027-12-31"
    log.assert_verifies()
    beside = _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000))
    bad = log.append("block.generated", {**beside, "use_period_end": use_period_end}, real.actor)
    log.assert_refused_at(bad)
    assert "is in use until 2027-12-31" in str(log.verify().error)


def test_r_b4_a_generation_beyond_the_lots_sold_mass_is_refused(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, t(10), t(4))  # 4 t sold without a claim
    block = driver.generate(gen.token, lot["id"], mass=t(3))
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    # 2 t more: 5 t of ARCs from 4 t sold (the lot still has 10 t, the determination 20 000 t).
    bad = log.append("block.generated", _generation_beside(real, 3001, 2000, Decimal(5000), Decimal(10000)),
                     real.actor)
    log.assert_refused_at(bad)


def test_r_a2_a_generation_beyond_the_eligible_volume_is_refused(driver, log):
    gen = driver.generator()
    small = driver.facility(gen.token, gen.id, capacity=t(1000), name="Small plant")
    determination = driver.determination(gen.certifier, small["id"], mandate_share="0.999")
    assert determination["eligible_kg"] == "1000.000"
    lot = _lot(driver, gen, t(5), t(5), facility_id=small["id"])
    block = driver.generate(gen.token, lot["id"], mass=t("0.6"))  # units 1..600
    log.assert_verifies()
    real = log.last("block.generated", serial=block["serial"])
    # 0.5 t more: the lot has room (5 t sold), the determination only 0.4 t.
    bad = log.append("block.generated", _generation_beside(real, 601, 500, Decimal(1100), Decimal(5000)),
                     real.actor)
    log.assert_refused_at(bad)


# --- registry/replay/registry_events.py --------------------------------------------------


def test_a_participant_activated_twice_is_refused(driver, log):
    participant = driver.participant("Cascade Trading")
    log.assert_verifies()
    activated = log.last("participant.activated", participant=participant["id"])
    bad = log.append("participant.activated", activated.payload, activated.actor)  # active -> active
    log.assert_refused_at(bad)


def test_a_pending_participant_cannot_be_suspended(driver, log):
    active = driver.participant("Cascade Trading")
    pending = driver.participant("Northwind Packaging", activate=False)
    driver.ok(f"/participants/{active['id']}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    suspended = log.last("participant.suspended", participant=active["id"])
    registered = log.last("participant.registered", participant=pending["id"])
    payload = {**suspended.payload, **{k: registered.payload[k] for k in ("participant", "name", "country")}}
    bad = log.append("participant.suspended", payload, suspended.actor)  # pending -> suspended
    log.assert_refused_at(bad)


def test_a_transition_recording_the_wrong_status_is_refused(driver, log):
    participant = driver.participant("Cascade Trading")
    driver.ok(f"/participants/{participant['id']}/suspend", {"reason": "audit"}, status=200)
    log.assert_verifies()
    activated = log.last("participant.activated", participant=participant["id"])
    # suspended -> active is allowed, but the entry says the result is "suspended".
    bad = log.append("participant.activated", {**activated.payload, "status": "suspended"}, activated.actor)
    log.assert_refused_at(bad)


def test_nothing_follows_a_certificate_revocation(driver, log):
    gen = driver.generator()
    driver.ok(f"/rms-certificates/{gen.certificate}/revoke", {"on": "2026-03-01", "reason": "fraud"},
              gen.certifier, status=200)
    log.assert_verifies()
    revoked = log.last("certificate.revoked", certificate=gen.certificate)
    bad = log.append("certificate.reinstated", revoked.payload, revoked.actor)
    log.assert_refused_at(bad)


def _determination_pair(driver, gen):
    """A determination superseded by a newer one for the same facility and year (R-A7)."""
    old = gen.determination_id
    new = driver.determination(gen.certifier, gen.facility_id, mandate_share="0.5")
    return old, new


def test_a_superseded_determination_cannot_be_superseded_again(driver, log):
    gen = driver.generator()
    old, new = _determination_pair(driver, gen)
    log.assert_verifies()
    recorded = log.last("determination.recorded", determination=new["id"])
    assert recorded.payload["supersedes"] == old
    payload = {**recorded.payload, "determination": new["id"] + 1000}  # a third one, superseding the old again
    bad = log.append("determination.recorded", payload, recorded.actor)
    log.assert_refused_at(bad)


def test_a_superseded_determination_cannot_be_withdrawn(driver, log):
    gen = driver.generator()
    old, new = _determination_pair(driver, gen)
    driver.ok(f"/determinations/{new['id']}/withdraw", {"reason": "wrong capacity"}, gen.certifier, status=200)
    log.assert_verifies()
    withdrawn = log.last("determination.withdrawn", determination=new["id"])
    bad = log.append("determination.withdrawn", {**withdrawn.payload, "determination": old}, withdrawn.actor)
    log.assert_refused_at(bad)


def test_a_superseding_determination_inherits_the_years_used_volume(driver, log):
    gen = driver.generator()
    lot = _lot(driver, gen, t(5), t(5))
    driver.generate(gen.token, lot["id"], mass=t(2))
    new = driver.determination(gen.certifier, gen.facility_id, mandate_share="0.5")
    assert new["used_kg"] == "2000.000"  # inherited from the one it superseded (R-A7)
    log.assert_verifies()
    real = log.last("determination.recorded", determination=new["id"])
    # A newer one superseding `new` (current), but starting from nothing used.
    bad = log.append("determination.recorded", {**real.payload, "determination": new["id"] + 1000,
                                                 "supersedes": new["id"], "used_kg": "0.000"}, real.actor)
    log.assert_refused_at(bad)


# --- registry/replay/block_events.py: forfeit (R-E4) and cancel (R-E5) ---------------------


def _buyer(driver, name="Brand Co"):
    participant = driver.participant(name)
    return participant["id"], driver.member(participant["id"])


def _ended(log, block: dict, state: str, **details) -> dict:
    """The payload `registry.blocks.end_block` writes for a whole block."""
    last = log.last_of(block["serial"])
    return {**{k: last[k] for k in ("serial", "arc_code", "arc_type", "recycled_status", "quantity", "owner",
                                    "generator", "lot", "lot_reference", "generation_year", "first", "last",
                                    "base_kg")},
            "state": state, **details, "prev": {"index": last["_index"], "leaf_hash": last["_leaf"]}}


def test_a_forfeit_of_a_block_whose_generator_was_not_removed_is_refused(driver, log):
    gen = driver.generator()
    block = driver.generate(gen.token, _lot(driver, gen, t(5), t(5))["id"])
    log.assert_verifies()
    bad = log.append("block.forfeited", _ended(log, block, "forfeited", participant=gen.id), "system")
    log.assert_refused_at(bad)


def _cancellation(driver, log, gen):
    """A real cancellation of one block (the shape to copy) and a second block."""
    lot = _lot(driver, gen, t(10), t(10))
    first = driver.generate(gen.token, lot["id"], mass=t(3))
    second = driver.generate(gen.token, lot["id"], mass=t(2))
    driver.ok(f"/blocks/{first['serial']}/cancel", {"reason": "mass entered twice"}, status=200)
    cancelled = log.last("block.cancelled", serial=first["serial"])
    assert cancelled.payload["lot_used_kg"] == "2000.000"
    return lot, second, cancelled


def test_a_cancel_of_a_block_its_generator_no_longer_holds_is_refused(driver, log):
    gen = driver.generator()
    _, second, cancelled = _cancellation(driver, log, gen)
    buyer, _ = _buyer(driver)
    driver.ok("/transfers", {"serial": second["serial"], "quantity": second["quantity"],
                             "to_participant_id": buyer}, gen.token)
    log.assert_verifies()
    details = {k: cancelled.payload[k] for k in ("reason", "determination")}
    payload = _ended(log, second, "cancelled", **details, lot_used_kg="0.000", disclaimer_required=False,
                     determination_used_kg="0.000")
    assert payload["owner"] == buyer
    bad = log.append("block.cancelled", payload, cancelled.actor)
    log.assert_refused_at(bad)


def test_a_cancel_restoring_the_wrong_balances_is_refused(driver, log):
    gen = driver.generator()
    _, second, cancelled = _cancellation(driver, log, gen)
    log.assert_verifies()
    details = {k: cancelled.payload[k] for k in ("reason", "determination")}
    # Right: the lot and the determination go back to 0 kg used. The entry says 1 t is still used.
    payload = _ended(log, second, "cancelled", **details, lot_used_kg="1000.000", disclaimer_required=False,
                     determination_used_kg="0.000")
    bad = log.append("block.cancelled", payload, cancelled.actor)
    log.assert_refused_at(bad)

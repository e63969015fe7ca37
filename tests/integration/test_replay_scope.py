"""R-L7c: the replay re-checks R-X10, on SQLite and PostgreSQL.

A registry is built through the HTTP API and verifies; then one entry that
breaks R-X10 is appended through `chainlog.store` directly (a writer
bypassing the services), hashed, chained and covered by a signed checkpoint.
Only the replay can see the fault: verification fails as
``replay_inconsistent`` at that entry, naming the rule. The crafted entries
are copies of entries the services wrote, changed only where the rule is
broken.
"""

from __future__ import annotations

from chainlog import store
from registry.db import UnitOfWork, session_factory
from registry.verification import verify_registry
from tests.api.driver import t


class Log:
    def __init__(self, app, engine) -> None:
        self.state = app.extensions["arcreg"]
        self.engine = engine

    def last(self, kind: str, **match) -> store.StoredEntry:
        with session_factory(self.engine)() as session:
            found = [e for e in store.iter_entries(session)
                     if e.type == kind and all(e.payload.get(k) == v for k, v in match.items())]
        assert found, (kind, match)
        return found[-1]

    def _sign(self, session) -> None:
        store.sign_checkpoint(session, self.state.signer, self.state.config.log_origin, self.state.clock.now())

    def append(self, kind: str, payload: dict, actor: str) -> int:
        with UnitOfWork(session_factory(self.engine), self.state.clock) as uow:
            appended = store.append(uow.session, type=kind, actor=actor, payload=payload, time=uow.clock.now())
            self._sign(uow.session)
            uow.commit()
        return appended.index

    def verify(self):
        with UnitOfWork(session_factory(self.engine), self.state.clock) as uow:
            self._sign(uow.session)
            uow.commit()
        with session_factory(self.engine)() as session:
            return verify_registry(session, [self.state.signer.verifier], record=False)

    def assert_refused_at(self, index: int, rule: str) -> None:
        report = self.verify()
        assert not report.ok, f"entry {index} was accepted by the replay"
        assert (report.error.kind, report.error.index) == ("replay_inconsistent", index), report.failure()
        assert rule in str(report.error), report.failure()


def test_a_determination_by_a_body_that_does_not_certify_the_participant(app, engine, driver):
    gen = driver.generator("Acme Recycling")  # certified by NSF
    log = Log(app, engine)
    assert log.verify().ok  # the services' entries carry the body, and replay accepts them
    entry = log.last("determination.recorded", determination=gen.determination_id)
    assert entry.payload["body"] == "NSF"
    replacing = {**entry.payload, "determination": gen.determination_id + 1000,
                 "supersedes": gen.determination_id, "body": "SCS"}
    log.assert_refused_at(log.append("determination.recorded", replacing, entry.actor), "R-X10")


def test_a_withdrawal_by_a_body_that_does_not_certify_the_participant(app, engine, driver):
    gen = driver.generator("Acme Recycling")
    log = Log(app, engine)
    index = log.append("determination.withdrawn",
                       {"determination": gen.determination_id, "reason": "error", "body": "SCS"}, "user:1")
    log.assert_refused_at(index, "R-X10")


def test_an_entry_without_a_body_is_an_admins_or_an_older_registrys(app, engine, driver):
    """Entries written before the body was logged (and an admin's) are bound to no body."""
    gen = driver.generator("Acme Recycling")
    log = Log(app, engine)
    entry = log.last("determination.recorded", determination=gen.determination_id)
    legacy = {k: v for k, v in entry.payload.items() if k != "body"}
    log.append("determination.recorded", {**legacy, "determination": gen.determination_id + 1000,
                                          "supersedes": gen.determination_id}, entry.actor)
    report = log.verify()
    # Replay accepts it; only the comparison with the tables then finds the row no service wrote.
    assert not report.ok and report.error.kind == "state_drift", report.failure()


def test_a_facility_registered_for_a_suspended_participant(app, engine, driver):
    gen = driver.generator("Acme Recycling")
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    log = Log(app, engine)
    entry = log.last("facility.registered", facility=gen.facility_id)
    index = log.append("facility.registered", {**entry.payload, "facility": gen.facility_id + 1000}, entry.actor)
    log.assert_refused_at(index, "R-X10")


def test_a_lot_registered_for_a_suspended_participant(app, engine, driver):
    gen = driver.generator("Acme Recycling")
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.ok(f"/participants/{gen.id}/suspend", {"reason": "audit"}, status=200)
    log = Log(app, engine)
    entry = log.last("lot.registered", lot=lot["id"])
    index = log.append("lot.registered", {**entry.payload, "lot": lot["id"] + 1000, "reference": "LOT-X"},
                       entry.actor)
    log.assert_refused_at(index, "R-X10")

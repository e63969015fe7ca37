"""R-M4, R-X5 on PostgreSQL: concurrent outputs on one custody account, each
in its own transaction on its own connection, never overdraw it — exactly as
many claims succeed as the credit covers, the rest are `insufficient_credit`,
and the log replays without a finding."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import select

from chainlog import store
from registry import facilities, identity, lockorder, participants, rms_certificates
from registry.clock import FrozenClock
from registry.custody import services
from registry.custody.models import CustodyAccount
from registry.db import UnitOfWork, session_factory
from registry.errors import RegistryError
from registry.identity import actor_of
from registry.replay import replay
from registry.units import Mass
from tests.threads import Problems, Worker

CLOCK = FrozenClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
THREADS, ATTEMPTS = 8, 4
CREDIT_T = 10


def _account(engine) -> tuple[int, object]:
    with UnitOfWork(session_factory(engine), CLOCK) as uow:
        admin = actor_of(identity.create_admin(uow, "admin@registry.test")[0])
        certifier = actor_of(identity.add_staff_user(uow, admin, email="a@nsf.example", role="certifier",
                                                     body_code="NSF"))
        p = participants.register_participant(uow, admin, name="Converter X", country="US",
                                              gpp_signed_on=date(2025, 6, 1))
        participants.activate_participant(uow, admin, p.id)
        cert = rms_certificates.record_certificate(
            uow, certifier, participant_id=p.id, number="RMS-NSF-00001", issued_on=date(2025, 1, 1),
            expires_on=date(2027, 12, 31), activities=["converting"], facility_scope="single-site",
            product_groups=["PP film"], control_systems=["mass-balance"])
        member = actor_of(identity.add_member(uow, admin, p.id, email="ops@x.example"))
        site = facilities.register_facility(uow, member, participant_id=p.id, name="Plant 1", address="1 Mill Rd",
                                            country="US", capacity=Mass(Decimal(10**9)))
        account = services.open_account(uow, member, participant_id=p.id, product_group="PP film",
                                        control_system="mass-balance", facility_ids=[site.id],
                                        starts_on=date(2026, 1, 1), period_months=3)
        services.receive_input(uow, member, account.id, on=date(2026, 2, 1), supplier_name="Converter X",
                               supplier_certificate=cert.number, reference="INV-1", material_code="PC_P3.1.9",
                               mass=Mass(Decimal(CREDIT_T * 1000)), claim="RMS 100% PC MB")
        uow.commit()
        return account.id, member


def test_concurrent_outputs_never_overdraw_an_account(pg_engine):
    account, member = _account(pg_engine)
    sessions = session_factory(pg_engine)
    problems = Problems()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def claim(worker: int) -> None:
        start.wait(timeout=60)
        for attempt in range(ATTEMPTS):
            with UnitOfWork(sessions, CLOCK) as uow:
                lockorder.checked(uow)  # each write checks the one lock order, as the API's do
                try:
                    services.record_output(uow, member, account, on=date(2026, 3, 1), customer="Brand Co",
                                           reference=f"SO-{worker}-{attempt}", material_code="PC_P3.1.9",
                                           mass=Mass(Decimal(1000)), claim="RMS 100% PC MB")
                    uow.commit()
                    outcome = "ok"
                except RegistryError as error:
                    outcome = error.code
            with lock:
                outcomes.append(outcome)
            if outcome not in ("ok", "insufficient_credit"):
                problems.add(f"worker {worker}: {outcome}")

    workers = [Worker(claim, n, name=f"claim-{n}") for n in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not [w for w in workers if w.is_alive() or w.error], [w.error_traceback for w in workers if w.error]
    assert problems.items == []
    assert outcomes.count("ok") == CREDIT_T
    assert outcomes.count("insufficient_credit") == THREADS * ATTEMPTS - CREDIT_T
    with sessions() as session:
        row = session.exec(select(CustodyAccount).where(CustodyAccount.id == account)).one()
        assert row.drawn_pc_kg == row.credited_pc_kg == Decimal("10000.000")
        entries = [{"index": e.index, "type": e.type, "payload": e.payload, "leaf_hash": e.leaf_hash}
                   for e in store.iter_entries(session)]
    replay(entries).close()

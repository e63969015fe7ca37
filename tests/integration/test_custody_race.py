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


def _certified(uow, name: str, activity: str, group: str):
    """An active participant certified for ``activity`` and mass balance of ``group``, with one site:
    (certifier, participant, certificate, member, site)."""
    admin = actor_of(identity.create_admin(uow, "admin@registry.test")[0])
    certifier = actor_of(identity.add_staff_user(uow, admin, email="a@nsf.example", role="certifier",
                                                 body_code="NSF"))
    p = participants.register_participant(uow, admin, name=name, country="US", gpp_signed_on=date(2025, 6, 1))
    participants.activate_participant(uow, admin, p.id)
    cert = rms_certificates.record_certificate(
        uow, certifier, participant_id=p.id, number="RMS-NSF-00001", issued_on=date(2025, 1, 1),
        expires_on=date(2027, 12, 31), activities=[activity], facility_scope="single-site",
        product_groups=[group], control_systems=["mass-balance"],
        facilities=[{"name": "Plant 1", "address": "1 Mill Rd", "country": "US"}])  # R-G5
    member = actor_of(identity.add_member(uow, admin, p.id, email="ops@x.example"))
    site = facilities.register_facility(uow, member, participant_id=p.id, name="Plant 1", address="1 Mill Rd",
                                        country="US", capacity=Mass(Decimal(10**9)))
    return certifier, p, cert, member, site


def _funded(uow, p, cert, member, site, group: str):
    """A mass-balance account at ``site`` holding CREDIT_T tonnes of PC credit."""
    account = services.open_account(uow, member, participant_id=p.id, product_group=group,
                                    control_system="mass-balance", facility_ids=[site.id],
                                    starts_on=date(2026, 1, 1), period_months=3)
    services.receive_input(uow, member, account.id, on=date(2026, 2, 1), supplier_name=p.name,
                           supplier_certificate=cert.number, reference="INV-1", material_code="PC_P3.1.9",
                           mass=Mass(Decimal(CREDIT_T * 1000)), claim="RMS 100% PC MB")
    return account


def _account(engine) -> tuple[int, object]:
    with UnitOfWork(session_factory(engine), CLOCK) as uow:
        _, p, cert, member, site = _certified(uow, "Converter X", "converting", "PP film")
        account = _funded(uow, p, cert, member, site, "PP film")
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


# --- R-M6: outputs and ARC generations on one account, from several processes ---------------------------

PROCESSES, PER_PROCESS = 4, 4


def _generator_account(engine) -> tuple[int, object, list[int]]:
    """A certified reprocessor with an additional facility, a mass-balance account there holding
    CREDIT_T tonnes of credit, and one lot of the account per process, sold whole without a claim."""
    from registry import additionality, determinations, lots

    with UnitOfWork(session_factory(engine), CLOCK) as uow:
        certifier, p, cert, member, site = _certified(uow, "Reprocessor X", "reprocessing", "PP resin")
        determinations.record_determination(
            uow, certifier, facility_id=site.id, certification_year=2026, mandate_share=Decimal(0),
            newness=additionality.NewOperation(operation_start=date(2025, 1, 1)),
            class_b=[{"test": "financial", "passed": True, "rationale": "needs ARC revenue"}], evidence=[])
        account = _funded(uow, p, cert, member, site, "PP resin")
        lot_ids = []
        for n in range(PROCESSES):
            mass = Mass(Decimal(PER_PROCESS * 1000))
            lot = lots.register_lot(
                uow, member, facility_id=site.id, reference=f"LOT-{n}", material_code="PC_P3.1.9", mass=mass,
                processed_on=date(2026, 2, 10), rms_certificate=cert.number, non_plastic_fraction=Decimal(0),
                custody_account_id=account.id,
                conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": mass}], "transformation": "physical",
                            "description": "extrude", "factor": Decimal(100), "justification": "measured",
                            "outputs": [{"material_code": "PC_P3.1.9", "mass": mass}]})
            lots.add_disposition(uow, member, lot.id, kind="sale", on=date(2026, 2, 11), counterparty="Brand Co",
                                 mass=mass)
            lot_ids.append(lot.id)
        uow.commit()
        return account.id, member, lot_ids


def _race(url: str, account: int, member, lot_id: int, worker: int, go, results) -> None:
    """One process: PER_PROCESS one-tonne draws, alternating an output claim and an ARC generation."""
    from registry import generation
    from registry.db import make_engine

    engine = make_engine(url)
    sessions = session_factory(engine)
    go.wait()
    for attempt in range(PER_PROCESS):
        with UnitOfWork(sessions, CLOCK) as uow:
            lockorder.checked(uow)
            try:
                if (worker + attempt) % 2:
                    generation.generate(uow, member, lot_id=lot_id, mass=Mass(Decimal(1000)))
                else:
                    services.record_output(uow, member, account, on=date(2026, 3, 2), customer="Brand Co",
                                           reference=f"SO-{worker}-{attempt}", material_code="PC_P3.1.9",
                                           mass=Mass(Decimal(1000)), claim="RMS 100% PC MB")
                uow.commit()
                results.put(("ok", (worker + attempt) % 2))
            except RegistryError as error:
                results.put((error.code, (worker + attempt) % 2))
            except Exception as error:  # a deadlock or a 500 is a failure of the test
                results.put((f"{type(error).__name__}: {error}", (worker + attempt) % 2))
    engine.dispose()


def test_outputs_and_generations_from_several_processes_never_overdraw(pg_engine, pg_url):
    """R-M4, R-M6, R-X5: PROCESSES processes, each drawing on one account by outputs and by ARC
    generations of its own lot: exactly CREDIT_T one-tonne draws succeed, the rest are
    insufficient_credit, no deadlock, and the log replays without a finding."""
    import multiprocessing

    account, member, lot_ids = _generator_account(pg_engine)
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(pg_url, account, member, lot_ids[n], n, go, results))
             for n in range(PROCESSES)]
    for proc in procs:
        proc.start()
    go.set()
    outcomes = [results.get(timeout=300) for _ in range(PROCESSES * PER_PROCESS)]
    for proc in procs:
        proc.join(timeout=60)
    codes = [code for code, _ in outcomes]
    assert set(codes) <= {"ok", "insufficient_credit"}, codes
    assert codes.count("ok") == CREDIT_T
    assert {kind for code, kind in outcomes if code == "ok"} == {0, 1}  # both outputs and ARCs got credit
    with session_factory(pg_engine)() as session:
        row = session.exec(select(CustodyAccount).where(CustodyAccount.id == account)).one()
        assert row.drawn_pc_kg == row.credited_pc_kg == Decimal("10000.000")
        entries = [{"index": e.index, "type": e.type, "payload": e.payload, "leaf_hash": e.leaf_hash}
                   for e in store.iter_entries(session)]
    replay(entries).close()

"""Custody account latency (issue 17): a balance read and an output write in an
account holding 10 000 / 100 000 / 1 000 000 movements, p50 and p99, next to
the bare SQL of one indexed read and one insert-and-commit in the same run;
then the close of the account's first period (12 months holding nearly all of
those movements), timed once.

The account is filled by bulk inserts of receipts whose running sums are
consistent (half of them certified, half of the credit already drawn: the
FIFO cursor in the middle), as a long-lived account would be; only the timed
calls go through the services (`registry.custody.services`), each output in
its own transaction with its log entry. A balance is read in a read-only
unit of work, as the API reads it (R-X6: on SQLite a DEFERRED transaction).

    .venv/bin/python bench/custody.py --db sqlite --sizes 10000 100000 1000000
    .venv/bin/python bench/custody.py --db postgresql --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from http_transfers import Databases  # noqa: E402

from registry import facilities, identity, participants, rms_certificates  # noqa: E402
from registry.clock import FrozenClock  # noqa: E402
from registry.custody import periods  # noqa: E402
from registry.custody import services  # noqa: E402
from registry.custody.models import CustodyAccount, CustodyPeriod, CustodyReceipt  # noqa: E402
from registry.custody.rules import add_months  # noqa: E402
from registry.db import UnitOfWork, make_engine, read_only, session_factory  # noqa: E402
from registry.identity import actor_of  # noqa: E402
from registry.migrate import upgrade  # noqa: E402
from registry.units import Mass  # noqa: E402

CLOCK = FrozenClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
TODAY = CLOCK.today()
FIRST = date(2025, 3, 10)  # receipts spread over the 12 months before today: none expired yet
KG = Decimal("1000.000")


def setup(engine, n: int):
    sessions = session_factory(engine)
    with UnitOfWork(sessions, CLOCK) as uow:
        admin = actor_of(identity.create_admin(uow, "admin@bench.example")[0])
        certifier = actor_of(identity.add_staff_user(uow, admin, email="a@nsf.example", role="certifier",
                                                     body_code="NSF"))
        p = participants.register_participant(uow, admin, name="Converter X", country="US",
                                              gpp_signed_on=date(2024, 6, 1))
        participants.activate_participant(uow, admin, p.id)
        rms_certificates.record_certificate(
            uow, certifier, participant_id=p.id, number="RMS-NSF-00001", issued_on=date(2024, 1, 1),
            expires_on=date(2027, 12, 31), activities=["converting"], facility_scope="single-site",
            product_groups=["PP film"], control_systems=["mass-balance"],
            facilities=[{"name": "Plant 1", "address": "1 Mill Rd", "country": "US"}])  # R-G5
        member = actor_of(identity.add_member(uow, admin, p.id, email="ops@x.example"))
        site = facilities.register_facility(uow, member, participant_id=p.id, name="Plant 1", address="1 Mill Rd",
                                            country="US", capacity=Mass(Decimal(10**12)))
        account = services.open_account(uow, member, participant_id=p.id, product_group="PP film",
                                         control_system="mass-balance", facility_ids=[site.id],
                                         starts_on=date(2025, 3, 1), period_months=12)
        uow.commit()
        account_id, site_id = account.id, site.id
    span = (TODAY - timedelta(days=1) - FIRST).days
    table = CustodyReceipt.__table__
    cum = Decimal(0)
    now = CLOCK.now()
    period_end = add_months(date(2025, 3, 1), 12) - timedelta(days=1)
    period = {"input_kg": Decimal(0), "certified_kg": Decimal(0)}
    with engine.begin() as c:
        batch = []
        for i in range(n):
            on = FIRST + timedelta(days=span * i // n)
            credit = KG if i % 2 == 0 else Decimal("0.000")
            cum += credit
            if on <= period_end:  # the period's volumes, as record_input accrues them
                period["input_kg"] += KG
                period["certified_kg"] += credit
            batch.append({"account_id": account_id, "seq": i, "on": on, "expires_on": add_months(on, 12),
                          "facility_id": site_id, "supplier_name": "Sorter A",
                          "supplier_certificate": "RMS-NSF-00001" if credit else None, "reference": f"INV-{i}",
                          "material_code": "PC_P3.1.9", "mass_kg": KG, "claim": "RMS 100% PC MB" if credit else None,
                          "certified_pc_kg": credit, "certified_pi_kg": Decimal(0), "certified_r_kg": Decimal(0),
                          "credit_pc_kg": credit, "credit_pi_kg": Decimal(0), "credit_r_kg": Decimal(0),
                          "cum_pc_kg": cum, "cum_pi_kg": Decimal(0), "cum_r_kg": Decimal(0), "log_index": 0,
                          "created_at": now})
            if len(batch) == 5000:
                c.execute(table.insert(), batch)
                batch = []
        if batch:
            c.execute(table.insert(), batch)
        account_table = CustodyAccount.__table__
        c.execute(account_table.update().where(account_table.c.id == account_id).values(
            credited_pc_kg=cum, drawn_pc_kg=(cum / 2).quantize(Decimal("0.001")), receipts=n,
            last_on=TODAY - timedelta(days=1)))
        c.execute(CustodyPeriod.__table__.insert(), [{
            "account_id": account_id, "n": 1, "facility_id": site_id, **period, "credit_kg": period["certified_kg"],
            "output_kg": Decimal(0), "claimed_kg": Decimal(0), "drawn_kg": (cum / 2).quantize(Decimal("0.001")),
            "expired_kg": Decimal(0), "arc_kg": Decimal(0)}])
        if engine.dialect.name == "postgresql":
            c.execute(sa.text("ANALYZE"))
    return sessions, member, account_id


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def measure(engine, sessions, member, account_id, repeats: int) -> dict:
    reads = session_factory(read_only(engine))

    def balance():
        with UnitOfWork(reads, CLOCK) as uow:
            periods.balance(uow, member, account_id, TODAY)

    outputs = iter(range(10**9))

    def output():
        with UnitOfWork(sessions, CLOCK) as uow:
            services.record_output(uow, member, account_id, on=TODAY, customer="Brand Co",
                                   reference=f"SO-{next(outputs)}", material_code="PC_P3.1.9", mass=Mass(KG),
                                   claim="RMS 1% PC MB")
            uow.commit()

    read_sql = sa.text("SELECT cum_pc_kg FROM custody_receipt WHERE account_id = :a AND expires_on <= :d "
                       "ORDER BY expires_on DESC, seq DESC LIMIT 1")
    insert_sql = sa.text("INSERT INTO custody_output (account_id, \"on\", facility_id, customer, reference, "
                         "material_code, mass_kg, claim, claimed_pc_kg, claimed_pi_kg, claimed_r_kg, log_index, "
                         "created_at) SELECT :a, :d, facility_id, 'Bare', :r, 'PC_P3.1.9', 1000000, NULL, 0, 0, 0, "
                         "0, :t FROM custody_receipt WHERE account_id = :a AND seq = 0")
    bare_n = iter(range(10**9))

    def bare_read():
        with engine.connect() as c:
            c.execute(read_sql, {"a": account_id, "d": TODAY}).first()

    def bare_insert():
        with engine.begin() as c:
            c.execute(insert_sql, {"a": account_id, "d": TODAY, "r": f"BARE-{next(bare_n)}",
                                   "t": CLOCK.now().replace(tzinfo=None)})

    out = {}
    for name, call in (("balance", balance), ("bare read", bare_read), ("output", output),
                       ("bare insert", bare_insert)):
        for _ in range(10):  # warm-up
            call()
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t)
        out[name] = percentiles(samples)
    return out


def close_first_period(sessions, member, account_id) -> tuple[float, int]:
    """Seconds to close period 1 (R-M5: summary, log entry, commit) and the receipts it summarised."""
    with UnitOfWork(sessions, CLOCK) as uow:
        t = time.perf_counter()
        closing = periods.close_period(uow, member, account_id, 1)
        uow.commit()
        seconds = time.perf_counter() - t
        receipts = uow.session.exec(sa.select(sa.func.count()).select_from(CustodyReceipt).where(
            CustodyReceipt.account_id == account_id, CustodyReceipt.on >= date.fromisoformat(closing.summary["starts_on"]),
            CustodyReceipt.on <= date.fromisoformat(closing.summary["ends_on"]))).one()[0]
    return seconds, receipts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="sqlite")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    print(f"{args.db}: ms per call, p50 / p99, {args.repeats} calls each")
    print(f"{'movements':>10} | {'balance':>15} | {'bare read':>15} | {'output':>15} | {'bare insert':>15} | close")
    with tempfile.TemporaryDirectory() as tmp:
        databases = Databases(args.db, args.postgres, Path(tmp))
        try:
            for n in args.sizes:
                engine = make_engine(databases.url(f"custody{n}"))
                upgrade(engine)
                sessions, member, account = setup(engine, n)
                r = measure(engine, sessions, member, account, args.repeats)
                cells = " | ".join(f"{r[k][0]:6.2f} / {r[k][1]:6.2f}" for k in
                                   ("balance", "bare read", "output", "bare insert"))
                seconds, summarised = close_first_period(sessions, member, account)
                print(f"{n:>10} | {cells} | {seconds:.2f} s ({summarised} receipts)", flush=True)
                engine.dispose()
        finally:
            databases.close()


if __name__ == "__main__":
    main()

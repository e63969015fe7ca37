"""R-M7, R-L7c: a log signed by the registry's own key that records a custody
overdraft, a receipt received twice, or a claim on expired credit fails `arcreg
verify` and `arcreg verify-log`, naming the entry and the rule. Built through
chainlog directly, as a writer that bypassed the services would."""

from __future__ import annotations

from decimal import Decimal

from registry.replay.custody_events import apply
from registry.replay.state import State
from tests.integration.test_replay_rules_double_counting import _append_signed, _fails_at
from tests.integration.test_verify import build_registry

PC = {"PC": "0.000", "PI": "0.000", "R": "0.000"}


def _kg(pc: str) -> dict:
    return {**PC, "PC": pc}


def _opened(account: int) -> dict:
    return {"account": account, "participant": 1, "product_group": "PP resin", "control_system": "mass-balance",
            "facilities": [1], "starts_on": "2025-01-01", "period_months": 1, "window_periods": 12,
            "conversion_factor": "1"}


def _input(account: int, reference: str, on: str = "2025-02-01", kg: str = "5000.000") -> dict:
    return {"account": account, "receipt": 1, "seq": 0, "on": on, "expires_on": f"{int(on[:4]) + 1}{on[4:]}",
            "facility": 1, "supplier_name": "Sorter A", "supplier_participant": 2,
            "supplier_certificate": "RMS-NSF-00077", "reference": reference, "material_code": "PC_P3.1.9",
            "mass_kg": kg, "claim": "RMS 100% PC MB", "certified_kg": _kg(kg), "credit_kg": _kg(kg)}


def _output(account: int, on: str, kg: str) -> dict:
    return {"account": account, "output": 1, "on": on, "facility": 1, "customer": "Brand Co", "reference": "SO-1",
            "material_code": "PC_P3.1.9", "mass_kg": kg, "claim": "RMS 100% PC MB", "claimed_kg": _kg(kg),
            "drawn_kg": _kg(kg)}


def test_an_overdraft_in_a_signed_log_fails_verification(engine, db_url, tmp_path):
    config = build_registry(engine, db_url, tmp_path)
    _append_signed(engine, config, "custody.account_opened", _opened(9001))
    _append_signed(engine, config, "custody.input_received", _input(9001, "INV-1"))
    index = _append_signed(engine, config, "custody.output_recorded", _output(9001, "2025-02-02", "5000.001"))
    _fails_at(engine, config, tmp_path, index, "R-M4")


def test_a_double_receipt_in_a_signed_log_fails_verification(engine, db_url, tmp_path):
    config = build_registry(engine, db_url, tmp_path)
    _append_signed(engine, config, "custody.account_opened", _opened(9001))
    _append_signed(engine, config, "custody.account_opened", _opened(9002))
    _append_signed(engine, config, "custody.input_received", _input(9001, "INV-7"))
    index = _append_signed(engine, config, "custody.input_received", _input(9002, "INV-7"))
    _fails_at(engine, config, tmp_path, index, "R-M2")


def _replayed(*entries) -> State:
    state = State()
    for i, (kind, payload) in enumerate(entries):
        apply(state, i, kind, payload)
    return state


def test_credit_used_after_it_expired_is_a_finding():
    state = _replayed(("custody.account_opened", _opened(1)),
                      ("custody.input_received", _input(1, "INV-1", on="2024-03-10")),
                      ("custody.output_recorded", _output(1, "2025-03-10", "1000.000")))
    assert [str(f).split(": ", 1)[1][:4] for f in state.findings] == ["R-M4"], state.findings
    assert "expired" in str(state.findings[0])
    state.close()
    # The day before it expires, the same claim is fine; with the expiry logged first, nothing is drawn on it.
    fine = _replayed(("custody.account_opened", _opened(1)),
                     ("custody.input_received", _input(1, "INV-1", on="2024-03-10")),
                     ("custody.output_recorded", _output(1, "2025-03-09", "1000.000")),
                     ("custody.credit_expired", {"account": 1, "on": "2025-03-10", "expired_kg": _kg("4000.000")}))
    assert fine.findings == []
    fine.close()


def _custody_on_top(engine, config):
    """A mass-balance account on the demo registry: 5 t received, 2 t claimed, then a checkpoint."""
    from datetime import date

    from sqlmodel import select

    from registry.clock import FrozenClock
    from registry.custody import services
    from registry.db import UnitOfWork, session_factory
    from registry.identity import actor_of
    from registry.models import Facility, RmsCertificate, User
    from registry.units import Mass
    from tests.integration.test_verify import START, _checkpoint

    clock = FrozenClock(START)
    with UnitOfWork(session_factory(engine), clock) as uow:
        admin = actor_of(uow.session.exec(select(User).where(User.role == "admin")).one())
        cert = uow.session.exec(select(RmsCertificate).where(RmsCertificate.control_systems.is_not(None))
                                .order_by(RmsCertificate.id)).first()
        site = uow.session.exec(select(Facility).where(Facility.participant_id == cert.participant_id)).first()
        account = services.open_account(uow, admin, participant_id=cert.participant_id,
                                        product_group=cert.product_groups[0], control_system="mass-balance",
                                        facility_ids=[site.id], starts_on=date(2026, 5, 1), period_months=1)
        services.receive_input(uow, admin, account.id, on=date(2026, 5, 2), supplier_name="Sorter",
                               supplier_certificate=cert.number, reference="INV-V1", material_code="PC_P3.1.9",
                               mass=Mass(Decimal("5000")), claim="RMS 100% PC MB")
        services.record_output(uow, admin, account.id, on=date(2026, 5, 3), customer="Brand", reference="SO-V1",
                               material_code="PC_P3.1.9", mass=Mass(Decimal("2000")),
                               claim="RMS 100% PC MB")
        uow.commit()
        account_id = account.id
    _checkpoint(engine, config, clock)
    return account_id


def test_verify_compares_custody_accounts_with_the_log(engine, db_url, tmp_path):
    from sqlalchemy import text

    from tests.integration.test_verify import run_verify

    config = build_registry(engine, db_url, tmp_path)
    account = _custody_on_top(engine, config)
    report = run_verify(engine, config)
    assert report.ok, report.failure()
    with engine.begin() as connection:  # a balance edited behind the log's back
        connection.execute(text("UPDATE custody_account SET drawn_pc_kg = 0 WHERE id = :id"), {"id": account})
    report = run_verify(engine, config)
    assert report.error.kind == "state_drift" and "drawn_pc_kg" in str(report.error), report.failure()


# --- R-M6: lots of an account draw its credit -------------------------------------------------------

def _lot(account: int | None, inputs: list | None = None) -> dict:
    return {"lot": 7, "generator": 1, "facility": 1, "material_code": "PC_P3.1.9", "processed_on": "2025-02-03",
            "inputs": inputs or [], **({"custody_account": account} if account is not None else {})}


def _custody_state() -> State:
    state = _replayed(("custody.account_opened", _opened(1)),
                      ("custody.input_received", _input(1, "INV-1", kg="5000.000")))
    return state


def _rules(state: State) -> list[str]:
    return [str(f).split(": ", 1)[1].split(":")[0] for f in state.findings]


def test_a_lot_that_ignores_its_custody_account_is_a_finding():
    from registry.replay.custody_events import lot_registered

    state = _custody_state()
    lot_registered(state, 2, _lot(None))
    assert _rules(state) == ["R-M6"] and "names no custody account" in str(state.findings[0])
    state.close()
    fine = _custody_state()
    lot_registered(fine, 2, _lot(1, [{"receipt": 1, "log": {"index": 1, "leaf_hash": None}}]))
    assert fine.findings == []
    lot_registered(fine, 3, _lot(1, [{"receipt": 99, "log": {"index": 1}}]))  # not a receipt of the account
    assert _rules(fine) == ["R-M6"]
    fine.close()


def test_a_generation_that_draws_no_credit_or_too_much_is_a_finding():
    from registry.replay.custody_events import lot_drawn

    lot = {"custody_account": 1, "material_code": "PC_P3.1.9"}
    base = {"PC": Decimal("3000.000"), "PI": Decimal(0), "R": Decimal(0)}
    state = _custody_state()
    lot_drawn(state, 2, "the generation", 7, lot, {}, base)  # drew nothing: claims + ARCs above the input
    assert _rules(state) == ["R-M6"]
    state.close()
    state = _custody_state()
    drawn = {"account": 1, "on": "2025-03-01", "drawn_kg": _kg("3000.000")}
    lot_drawn(state, 2, "the generation", 7, lot, {"custody": drawn}, base)
    assert state.findings == []
    lot_drawn(state, 3, "the generation", 7, lot, {"custody": drawn}, base)  # 6 000 kg of 5 000
    assert "R-M4" in str(state.findings[0]) and "insufficient" not in str(state.findings[0])
    state.close()
    # A lot of no account draws nothing.
    state = _custody_state()
    lot_drawn(state, 2, "the generation", 8, {"custody_account": None}, {"custody": drawn}, base)
    assert _rules(state) == ["R-M6"]
    state.close()

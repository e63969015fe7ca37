"""R-M7, R-L7c: a log signed by the registry's own key that records a custody
overdraft, a receipt received twice, or a claim on expired credit fails `arcreg
verify` and `arcreg verify-log`, naming the entry and the rule. Built through
chainlog directly, as a writer that bypassed the services would."""

from __future__ import annotations

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

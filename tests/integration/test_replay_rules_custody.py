"""R-M7, R-L7c: a log signed by the registry's own key that records a custody
overdraft, a receipt received twice, or a claim on expired credit fails `arcreg
verify` and `arcreg verify-log`, naming the entry and the rule. Built through
chainlog directly, as a writer that bypassed the services would."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chainlog.errors import VerificationError

from registry.replay.custody_events import apply
from registry.replay.state import ZERO, State
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


# --- R-M3, R-M5: period rows, batches and summaries re-derived from the entries --------------------

def _average(account: int, system: str) -> dict:
    extra = {"window_periods": 3} if system == "average-content-rolling" else {"window_periods": 12}
    return {**_opened(account), "control_system": system, **extra}


def _ac_input(account: int, on: str, kg: str, pc: str, reference: str) -> dict:
    percent = int(Decimal(pc) * 100 / Decimal(kg))
    return {**_input(account, reference, on=on, kg=kg), "claim": f"RMS {percent}% PC AC",
            "certified_kg": _kg(pc), "credit_kg": PC}


def _ac_output(account: int, on: str, kg: str, percent: int, claimed: str | None = None) -> dict:
    claimed = claimed if claimed is not None else format(Decimal(kg) * percent / 100, ".3f")
    return {**_output(account, on, kg), "claim": f"RMS {percent}% PC AC", "claimed_kg": _kg(claimed),
            "drawn_kg": PC}


#: The breakdowns of a period that received ``_input`` (its default 5 000 kg).
SUPPLIED = [{"supplier": "Sorter A", "certificate": "RMS-NSF-00077", "certified_kg": _kg("5000.000")}]


def _sold(kg: str) -> list[dict]:
    """The breakdown of a period that recorded ``_output`` of ``kg``."""
    return [{"customer": "Brand Co", "claim": "RMS 100% PC MB", "mass_kg": kg, "claimed_kg": kg}]


def _summary(account: int, n: int, inputs: list | None = None, outputs: list | None = None,
             average: str | None = None, **totals: str) -> dict:
    """A ``custody.period_closed`` payload of a monthly account from 2025-01-01, its totals 0 and
    breakdowns empty unless given."""
    fields = ("opening_kg", "inputs_kg", "certified_inputs_kg", "outputs_kg", "claimed_kg", "losses_kg",
              "expired_kg", "closing_kg")
    return {"account": account, "n": n, "starts_on": f"2025-{n:02d}-01", "ends_on": f"2025-{n:02d}-28",
            **{f: "0.000" for f in fields}, **totals, "inputs_by_supplier": inputs or [], "outputs_by_customer": outputs or [],
            "average": average}


def test_a_batch_claim_above_its_average_in_a_signed_log_fails_verification(engine, db_url, tmp_path):
    """RMS 6.4.3.3, Example 6.2: a batch of 1 000 kg with 300 kg certified input supports at most a
    30% claim; a signed entry claiming 50% is an R-M3 finding."""
    config = build_registry(engine, db_url, tmp_path)
    _append_signed(engine, config, "custody.account_opened", _average(9001, "average-content-batch"))
    _append_signed(engine, config, "custody.input_received", _ac_input(9001, "2025-02-01", "1000.000", "300.000",
                                                                        "INV-B1"))
    index = _append_signed(engine, config, "custody.output_recorded", _ac_output(9001, "2025-02-02", "1000.000", 50))
    _fails_at(engine, config, tmp_path, index, "R-M3")


def test_a_lying_period_summary_in_a_signed_log_fails_verification(engine, db_url, tmp_path):
    """R-M5: period 2 received 5 000 kg; a signed summary saying 4 000 kg is a finding naming inputs_kg."""
    config = build_registry(engine, db_url, tmp_path)
    _append_signed(engine, config, "custody.account_opened", _opened(9001))
    _append_signed(engine, config, "custody.input_received", _input(9001, "INV-S1"))
    _append_signed(engine, config, "custody.period_closed", _summary(9001, 1))
    index = _append_signed(engine, config, "custody.period_closed", _summary(
        9001, 2, SUPPLIED, inputs_kg="4000.000", certified_inputs_kg="5000.000", closing_kg="5000.000"))
    _fails_at(engine, config, tmp_path, index, "R-M5")
    from tests.integration.test_verify import run_verify

    report = run_verify(engine, config)
    assert "inputs_kg" in str(report.error) and "closing_kg" not in str(report.error), report.failure()


def test_batch_outputs_are_rechecked_against_the_replayed_batch():
    ok = _replayed(("custody.account_opened", _average(1, "average-content-batch")),
                   ("custody.input_received", _ac_input(1, "2025-02-01", "1000.000", "300.000", "INV-1")),
                   ("custody.output_recorded", _ac_output(1, "2025-02-02", "600.000", 30)),
                   ("custody.output_recorded", _ac_output(1, "2025-02-03", "400.000", 30)))
    assert ok.findings == [], ok.findings
    ok.close()
    # The first output took the whole batch: another one before a new input exceeds the batch's inputs.
    over = _replayed(("custody.account_opened", _average(1, "average-content-batch")),
                     ("custody.input_received", _ac_input(1, "2025-02-01", "1000.000", "300.000", "INV-1")),
                     ("custody.output_recorded", _ac_output(1, "2025-02-02", "1000.000", 30)),
                     ("custody.output_recorded", {**_output(1, "2025-02-03", "1.000"), "claim": None,
                                                   "claimed_kg": PC, "drawn_kg": PC}))
    assert _rules(over) == ["R-M3"] and "batch's inputs were 1000.000" in str(over.findings[0]), over.findings
    over.close()
    # An input after an output begins a new batch (RMS 6.4.3.3): its own average, 50%, not the 36.7% of all
    # the inputs; above it is a finding.
    first = [("custody.account_opened", _average(1, "average-content-batch")),
             ("custody.input_received", _ac_input(1, "2025-02-01", "2000.000", "600.000", "INV-1")),
             ("custody.output_recorded", _ac_output(1, "2025-02-02", "1000.000", 30)),
             ("custody.output_recorded", _ac_output(1, "2025-02-03", "1000.000", 30)),
             ("custody.input_received", _ac_input(1, "2025-02-04", "1000.000", "500.000", "INV-2"))]
    fine = _replayed(*first, ("custody.output_recorded", _ac_output(1, "2025-02-05", "1000.000", 50)))
    assert fine.findings == [], fine.findings
    fine.close()
    above = _replayed(*first, ("custody.output_recorded", _ac_output(1, "2025-02-05", "1000.000", 51)))
    assert _rules(above) == ["R-M3"] and "exceeds the batch's average" in str(above.findings[0]), above.findings
    above.close()
    # Claims above the batch's certified input: a second 30% claim on a 30% batch of 1 000 kg already out
    # (the average allows it; together they claim 450 kg of 300 kg — and 1 500 kg of 1 000 kg are out).
    twice = _replayed(("custody.account_opened", _average(1, "average-content-batch")),
                      ("custody.input_received", _ac_input(1, "2025-02-01", "1000.000", "300.000", "INV-1")),
                      ("custody.output_recorded", _ac_output(1, "2025-02-02", "1000.000", 30)),
                      ("custody.output_recorded", _ac_output(1, "2025-02-03", "500.000", 30)))
    assert _rules(twice) == ["R-M3", "R-M3"], twice.findings
    assert "claims would reach 450.000 kg, above its 300.000 kg" in str(twice.findings[0]), twice.findings
    twice.close()


def test_rolling_average_outputs_are_rechecked_against_the_replayed_window():
    """RMS 6.4.3.4: 200 kg certified of 1 000 kg is a 20% average; a 30% claim exceeds it, and
    20% claims beyond the window's 200 kg of certified input exceed the inputs."""
    opened = ("custody.account_opened", _average(1, "average-content-rolling"))
    received = ("custody.input_received", _ac_input(1, "2025-01-10", "1000.000", "200.000", "INV-1"))
    state = _replayed(opened, received, ("custody.output_recorded", _ac_output(1, "2025-01-20", "500.000", 30)))
    assert _rules(state) == ["R-M3"] and "rolling average over periods 1–1" in str(state.findings[0])
    assert "multi-site" not in str(state.findings[0])  # one site: its own average
    state.close()
    state = _replayed(opened, received, ("custody.output_recorded", _ac_output(1, "2025-01-20", "500.000", 20)),
                      ("custody.output_recorded", _ac_output(1, "2025-02-20", "500.000", 20)))
    assert state.findings == [], state.findings
    state.close()
    state = _replayed(opened, received, ("custody.output_recorded", _ac_output(1, "2025-01-20", "1000.000", 20)),
                      ("custody.output_recorded", _ac_output(1, "2025-02-20", "1.000", 20)))
    assert _rules(state) == ["R-M3"] and "above the 200.000 kg" in str(state.findings[0]), state.findings
    state.close()


def test_an_output_whose_claimed_kg_is_not_its_claim_is_a_finding():
    """R-M3: the claimed kilograms are what the claim designates on the mass: 30% of 1 000 kg is
    300 kg, not 0 (a claim logged with no kilograms would escape the bound on claims)."""
    state = _replayed(("custody.account_opened", _average(1, "average-content-batch")),
                      ("custody.input_received", _ac_input(1, "2025-02-01", "1000.000", "300.000", "INV-1")),
                      ("custody.output_recorded", _ac_output(1, "2025-02-02", "1000.000", 30, "0.000")))
    assert _rules(state) == ["R-M3"] and "designates" in str(state.findings[0]), state.findings
    state.close()
    # An output with no claim claims nothing.
    state = _replayed(("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
                      ("custody.output_recorded", {**_output(1, "2025-02-02", "100.000"), "claim": None}))
    assert _rules(state) == ["R-M3"] and "no claim" in str(state.findings[0]), state.findings
    state.close()
    # A mass-balance account's output carrying an AC claim is refused live: a finding too.
    state = _replayed(("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
                      ("custody.output_recorded", {**_output(1, "2025-02-02", "100.000"), "claim": "RMS 100% PC AC"}))
    assert _rules(state) == ["R-M3"], state.findings
    state.close()


def test_period_summaries_are_compared_with_the_entries_before_them():
    """R-M5: every total of a ``custody.period_closed`` summary; the opening is the previous closing."""
    entries = [("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
               ("custody.output_recorded", _output(1, "2025-02-03", "2000.000"))]
    true = {"inputs_kg": "5000.000", "certified_inputs_kg": "5000.000", "outputs_kg": "2000.000",
            "claimed_kg": "2000.000", "closing_kg": "3000.000", "inputs": SUPPLIED, "outputs": _sold("2000.000")}
    state = _replayed(*entries, ("custody.period_closed", _summary(1, 1)),
                      ("custody.period_closed", _summary(1, 2, **true)),
                      ("custody.period_closed", _summary(1, 3, opening_kg="3000.000", closing_kg="3000.000")))
    assert state.findings == [], state.findings
    state.close()
    for field, lie in (("inputs_kg", "4000.000"), ("certified_inputs_kg", "5000.001"), ("outputs_kg", "0.000"),
                       ("claimed_kg", "1000.000"), ("losses_kg", "1.000"), ("expired_kg", "1.000"),
                       ("closing_kg", "5000.000"), ("opening_kg", "1.000")):
        state = _replayed(*entries, ("custody.period_closed", _summary(1, 1)),
                          ("custody.period_closed", _summary(1, 2, **{**true, field: lie})))
        assert _rules(state) == ["R-M5"] and f"says {field} " in str(state.findings[0]), (field, state.findings)
        state.close()
    # Periods close in order.
    state = _replayed(*entries, ("custody.period_closed", _summary(1, 2, **{**true, "opening_kg": "0.000"})))
    assert _rules(state) == ["R-M5"] and "period 1 closes first" in str(state.findings[0]), state.findings
    state.close()
    # A lie carried forward is reported once: the next opening is the logged closing.
    state = _replayed(*entries, ("custody.period_closed", _summary(1, 1)),
                      ("custody.period_closed", _summary(1, 2, **{**true, "closing_kg": "9000.000"})),
                      ("custody.period_closed", _summary(1, 3, opening_kg="9000.000", closing_kg="9000.000")))
    assert len(state.findings) == 1, state.findings
    state.close()


def test_lot_draws_count_in_the_period_row_of_the_lots_facility():
    """R-M6 (``lots.draw``): an ARC generation adds to drawn_kg and arc_kg, a claimed sale to drawn_kg and
    claimed_kg; the summary's claimed_kg excludes ARC draws, its closing balance includes them."""
    from registry.replay.custody_events import lot_drawn
    from registry.replay.custody_periods import sorted_rows

    lot = {"custody_account": 1, "material_code": "PC_P3.1.9", "facility": 1}
    state = _custody_state()
    lot_drawn(state, 2, "the generation", 7, lot, {"custody": {"account": 1, "on": "2025-02-03",
                                                               "drawn_kg": _kg("3000.000")}},
              {"PC": Decimal("3000.000"), "PI": Decimal(0), "R": Decimal(0)}, arcs=True)
    lot_drawn(state, 3, "the claimed sale", 7, lot, {"custody": {"account": 1, "on": "2025-02-04",
                                                                 "drawn_kg": _kg("500.000")}},
              {"PC": Decimal("500.000"), "PI": Decimal(0), "R": Decimal(0)})
    [((account, n, facility), row)] = list(sorted_rows(state))
    assert (account, n, facility) == (1, 2, 1)
    assert (row["arc_kg"], row["drawn_kg"], row["claimed_kg"]) == (Decimal("3000"), Decimal("3500"), Decimal("500"))
    apply(state, 4, "custody.period_closed", _summary(1, 1))
    apply(state, 5, "custody.period_closed", _summary(1, 2, SUPPLIED, inputs_kg="5000.000", certified_inputs_kg="5000.000",
                                                      claimed_kg="500.000", closing_kg="1500.000"))
    assert state.findings == [], state.findings
    state.close()


def test_a_lot_at_an_account_s_second_facility_draws_in_that_facility_s_row():
    """R-M6 (``lots.draw``): the draw goes to the row of the lot's own facility, not the account's first."""
    from registry.replay.custody_events import lot_drawn
    from registry.replay.custody_periods import sorted_rows

    state = _replayed(("custody.account_opened", {**_opened(1), "facilities": [1, 2]}),
                      ("custody.input_received", _input(1, "INV-1", kg="5000.000")))
    lot_drawn(state, 2, "the generation", 7, {"custody_account": 1, "material_code": "PC_P3.1.9", "facility": 2},
              {"custody": {"account": 1, "on": "2025-02-03", "drawn_kg": _kg("3000.000")}},
              {"PC": Decimal("3000.000"), "PI": Decimal(0), "R": Decimal(0)}, arcs=True)
    drawn = {key: row["drawn_kg"] for key, row in sorted_rows(state) if row["drawn_kg"]}
    assert drawn == {(1, 2, 2): Decimal("3000.000")}, drawn
    state.close()


def test_a_lot_draw_beyond_the_account_s_credit_is_a_finding_naming_its_plan():
    """R-M4, R-M6 (``credit.plan``): of an account's 5 t of credit a custody lot's generation draws 3 t;
    a second of 3 t cannot be planned first in, first out on the 2 t left: a finding at its entry,
    besides the overdraft."""
    from registry.replay.custody_events import lot_drawn

    state = _custody_state()
    for i in (2, 3):
        lot_drawn(state, i, "the generation", 7, {"custody_account": 1, "material_code": "PC_P3.1.9", "facility": 1},
                  {"custody": {"account": 1, "on": "2025-02-03", "drawn_kg": _kg("3000.000")}},
                  {"PC": Decimal("3000.000"), "PI": Decimal(0), "R": Decimal(0)}, arcs=True)
    assert [f.index for f in state.findings] == [3, 3] and _rules(state) == ["R-M4, R-M6", "R-M4"], state.findings
    assert "the account has 2000.000 kg" in str(state.findings[0])
    state.close()


def test_a_lot_draw_whose_kilograms_are_not_by_status_is_refused_at_its_entry():
    """R-U3: the kilograms a custody lot's entry draws are an object of decimal strings by status."""
    from registry.replay.custody_events import lot_drawn

    state = _custody_state()
    with pytest.raises(VerificationError) as refused:
        lot_drawn(state, 2, "the generation", 7, {"custody_account": 1, "material_code": "PC_P3.1.9", "facility": 1},
                  {"custody": {"account": 1, "on": "2025-02-03", "drawn_kg": "3000.000"}},
                  {"PC": Decimal("3000.000"), "PI": Decimal(0), "R": Decimal(0)}, arcs=True)
    assert refused.value.index == 2 and "drawn_kg must be an object" in str(refused.value)
    state.close()


def test_expired_credit_is_charged_to_the_first_facility_in_the_period_of_its_day():
    """``book._expire``: the expiry of 2026-02-01 (period 14 of a monthly account from 2025-01-01)."""
    from registry.replay.custody_periods import sorted_rows

    state = _replayed(("custody.account_opened", {**_opened(1), "facilities": [3, 1]}),
                      ("custody.input_received", {**_input(1, "INV-1"), "facility": 1}),
                      ("custody.credit_expired", {"account": 1, "on": "2026-02-01", "expired_kg": _kg("5000.000")}))
    assert state.findings == [], state.findings
    rows = {key: row["expired_kg"] for key, row in sorted_rows(state)}
    assert rows == {(1, 2, 1): Decimal(0), (1, 14, 3): Decimal("5000")}
    state.close()


def test_a_segregated_claim_above_the_incoming_one_is_a_finding():
    """R-M3, segregation (RMS 6.4.2.2): an output passes on the claim of the oldest receipt whose credit
    is not used up, or a lower one — first 50% material, then (its credit drawn) 100% material."""
    def received(kg: str, percent: int, reference: str) -> tuple:
        certified = format(Decimal(kg) * percent / 100, ".3f")
        return ("custody.input_received", {**_input(1, reference, kg=kg), "claim": f"RMS {percent}% PC AC",
                                           "certified_kg": _kg(certified), "credit_kg": _kg(certified)})

    def sold(on: str, kg: str, percent: int) -> tuple:
        claimed = format(Decimal(kg) * percent / 100, ".3f")
        return ("custody.output_recorded", {**_output(1, on, kg), "claim": f"RMS {percent}% PC AC",
                                            "claimed_kg": _kg(claimed), "drawn_kg": _kg(claimed)})

    entries = [("custody.account_opened", {**_opened(1), "control_system": "segregation"}),
               received("1000.000", 50, "INV-1"), received("1000.000", 100, "INV-2")]
    above = _replayed(*entries, sold("2025-02-02", "100.000", 100))
    assert _rules(above) == ["R-M3"] and "arrived as RMS 50% PC AC" in str(above.findings[0]), above.findings
    above.close()
    fine = _replayed(*entries, sold("2025-02-02", "1000.000", 50), sold("2025-02-03", "100.000", 100))
    assert fine.findings == [], fine.findings
    fine.close()


def test_a_segregated_output_once_every_receipt_is_used_up_is_an_overdraft_finding():
    """R-M3, R-M4: with every receipt's credit drawn, a segregated output has no incoming claim to pass
    on: it is an overdraft, a finding at its entry, and replay goes on to the next."""
    ac = {"claim": "RMS 100% PC AC"}
    entries = [("custody.account_opened", {**_opened(1), "control_system": "segregation"}),
               ("custody.input_received", {**_input(1, "INV-1", kg="1000.000"), **ac}),
               ("custody.output_recorded", {**_output(1, "2025-02-02", "1000.000"), **ac}),
               ("custody.output_recorded", {**_output(1, "2025-02-03", "1.000"), "output": 2, **ac}),
               ("custody.input_received", {**_input(1, "INV-2", on="2025-02-04"), **ac})]
    state = _replayed(*entries)
    assert [f.index for f in state.findings] == [3] and _rules(state) == ["R-M4"], state.findings
    assert "overdrawn by 1.000 kg PC" in str(state.findings[0])
    state.close()


def test_an_input_whose_certified_or_credit_kg_is_not_its_claim_is_a_finding():
    """R-M2 (``services.receive_input``): certified kilograms are what the claim designates on the mass,
    credit that after the conversion factor; an average-content account keeps no credit; a mass-balance
    claim never enters a higher system (R-M3). A certified mass logged larger would raise the averages."""
    factor = {**_opened(1), "conversion_factor": "0.8"}
    cases = [
        (_opened(1), {**_input(1, "INV-1"), "certified_kg": _kg("6000.000"), "credit_kg": _kg("6000.000")}, "R-M2"),
        (_opened(1), {**_input(1, "INV-1"), "claim": None}, "R-M2"),
        (factor, _input(1, "INV-1"), "R-M2"),  # the credit is 80% of the certified mass
        (_average(1, "average-content-batch"), {**_ac_input(1, "2025-02-01", "1000.000", "300.000", "INV-1"),
                                                 "credit_kg": _kg("300.000")}, "R-M2"),
        (_average(1, "average-content-batch"), _input(1, "INV-1"), "R-M3"),  # an MB claim into average content
    ]
    for opened, received, rule in cases:
        state = _replayed(("custody.account_opened", opened), ("custody.input_received", received))
        assert _rules(state) == [rule], (received, state.findings)
        state.close()
    fine = _replayed(("custody.account_opened", factor), ("custody.input_received", {
        **_input(1, "INV-1"), "credit_kg": _kg("4000.000")}))
    assert fine.findings == [], fine.findings
    fine.close()


# --- R-M5, R-M8: a summary's breakdowns and average, what certifiers download for audits -------------

def _received(account: int, reference: str, supplier: str, certificate: str | None, kg: str, percent: int | None,
              on: str = "2025-02-01") -> tuple:
    """An input of ``kg`` to mass-balance account ``account``: ``percent``% PC MB, uncertified when None."""
    claimed = None if percent is None else format(Decimal(kg) * percent / 100, ".3f")
    return ("custody.input_received", {
        **_input(account, reference, on=on, kg=kg), "supplier_name": supplier, "supplier_certificate": certificate,
        "claim": None if percent is None else f"RMS {percent}% PC MB",
        "certified_kg": PC if claimed is None else _kg(claimed), "credit_kg": PC if claimed is None else _kg(claimed)})


def _shipped(account: int, customer: str, kg: str, claimed: bool, on: str = "2025-02-10") -> tuple:
    """An output of ``kg`` of mass-balance account ``account``: RMS 100% PC MB, or no claim."""
    return ("custody.output_recorded", {
        **_output(account, on, kg), "customer": customer, "claim": "RMS 100% PC MB" if claimed else None,
        "claimed_kg": _kg(kg) if claimed else PC, "drawn_kg": _kg(kg) if claimed else PC})


#: A mass-balance account (1), a rolling average over 3 periods (2) and a batch account (3).
BREAKDOWN_LOG = [
    ("custody.account_opened", _opened(1)),
    _received(1, "INV-1", "Sorter A", "RMS-NSF-00077", "5000.000", 100),
    _received(1, "INV-2", "Sorter B", "RMS-NSF-00078", "2000.000", 100),
    _received(1, "INV-3", "Sorter A", "RMS-NSF-00079", "1000.000", 60),
    _received(1, "INV-4", "Local Co", None, "300.000", None),
    _received(1, "INV-5", "Local Co", None, "200.000", None),
    _received(1, "INV-6", "Sorter A", "RMS-NSF-00077", "1000.000", 100, on="2025-03-01"),  # period 3
    _shipped(1, "Brand Co", "1000.000", True), _shipped(1, "Brand Co", "500.000", False),
    _shipped(1, "Acme", "200.000", True),
    ("custody.account_opened", _average(2, "average-content-rolling")),
    ("custody.input_received", _ac_input(2, "2025-01-10", "1000.000", "200.000", "INV-R1")),
    ("custody.input_received", _ac_input(2, "2025-02-10", "1000.000", "400.000", "INV-R2")),
    ("custody.account_opened", _average(3, "average-content-batch")),
    ("custody.input_received", _ac_input(3, "2025-02-01", "1000.000", "300.000", "INV-B1")),
    ("custody.input_received", {**_ac_input(3, "2025-02-02", "1000.000", "500.000", "INV-B2"),
                                "supplier_name": "Sorter B", "supplier_certificate": "RMS-NSF-00078"}),
    ("custody.output_recorded", _ac_output(3, "2025-02-03", "1000.000", 30)),
]


def _true_summaries() -> list[dict]:
    """What ``periods._summary`` logs for BREAKDOWN_LOG's periods 1 and 2: certified suppliers in
    (name, certificate) order, then uncertified ones by name; customers in (customer, claim) order,
    a claim before no claim (``str`` of the pair, as the live close sorts)."""
    return [
        _summary(1, 1), _summary(1, 2, [
            {"supplier": "Sorter A", "certificate": "RMS-NSF-00077", "certified_kg": _kg("5000.000")},
            {"supplier": "Sorter A", "certificate": "RMS-NSF-00079", "certified_kg": _kg("600.000")},
            {"supplier": "Sorter B", "certificate": "RMS-NSF-00078", "certified_kg": _kg("2000.000")},
            {"supplier": "Local Co", "certificate": None, "uncertified_kg": "500.000"}], [
            {"customer": "Acme", "claim": "RMS 100% PC MB", "mass_kg": "200.000", "claimed_kg": "200.000"},
            {"customer": "Brand Co", "claim": "RMS 100% PC MB", "mass_kg": "1000.000", "claimed_kg": "1000.000"},
            {"customer": "Brand Co", "claim": None, "mass_kg": "500.000", "claimed_kg": "0.000"}],
            inputs_kg="8500.000", certified_inputs_kg="7600.000", outputs_kg="1700.000", claimed_kg="1200.000",
            closing_kg="6400.000"),
        _summary(2, 1, [{"supplier": "Sorter A", "certificate": "RMS-NSF-00077", "certified_kg": _kg("200.000")}],
                 average="0.200", inputs_kg="1000.000", certified_inputs_kg="200.000"),
        # the window of period 2 holds periods 1 and 2: 600 kg certified of 2 000 kg
        _summary(2, 2, [{"supplier": "Sorter A", "certificate": "RMS-NSF-00077", "certified_kg": _kg("400.000")}],
                 average="0.300", inputs_kg="1000.000", certified_inputs_kg="400.000"),
        _summary(3, 1), _summary(3, 2, [
            {"supplier": "Sorter A", "certificate": "RMS-NSF-00077", "certified_kg": _kg("300.000")},
            {"supplier": "Sorter B", "certificate": "RMS-NSF-00078", "certified_kg": _kg("500.000")}], [
            {"customer": "Brand Co", "claim": "RMS 30% PC AC", "mass_kg": "1000.000", "claimed_kg": "300.000"}],
            average="0.400", inputs_kg="2000.000", certified_inputs_kg="800.000", outputs_kg="1000.000",
            claimed_kg="300.000"),
    ]


def _closed(summaries: list[dict]) -> State:
    return _replayed(*BREAKDOWN_LOG, *(("custody.period_closed", summary) for summary in summaries))


def test_a_truthful_summarys_breakdowns_and_average_replay_with_no_finding():
    """R-M5, R-L7c: several suppliers (one with two certificates, an uncertified one with two receipts),
    several customers and claims (one with none), a rolling-average and a batch account's averages.
    The kilograms compare by value; a closed period's lines are dropped from the scratch database."""
    state = _closed(_true_summaries())
    assert state.findings == [], state.findings
    assert [key for key, _ in state.custody_parts.prefix_items("000000000001:000002:")] == []
    assert [key[:20] for key, _ in state.custody_parts.prefix_items("000000000001:")] == ["000000000001:000003:"]
    state.close()
    summaries = _true_summaries()
    summaries[1]["inputs_by_supplier"][3]["uncertified_kg"] = "500"
    summaries[3]["average"] = "0.3"
    state = _closed(summaries)
    assert state.findings == [], state.findings
    state.close()


def _lie(n: int, field: str, change) -> list[str]:
    """The findings when summary ``n`` of ``_true_summaries`` has ``field`` changed by ``change``."""
    summaries = _true_summaries()
    if callable(change):
        change(summaries[n][field])
    else:
        summaries[n][field] = change
    state = _closed(summaries)
    findings = [str(f) for f in state.findings]
    state.close()
    return findings


def _names(findings: list[str], field: str) -> bool:
    return len(findings) == 1 and "R-M5" in findings[0] and f"summary says {field} " in findings[0]


def test_a_summary_lying_about_its_inputs_by_supplier_is_a_finding():
    """R-M5: a certified kg by status, a line left out or added, a certificate, the order of the lines."""
    field = "inputs_by_supplier"
    for change in (lambda lines: lines[0]["certified_kg"].update(PC="4999.000"),
                   lambda lines: lines[2]["certified_kg"].update(PI="1.000"),
                   lambda lines: lines.pop(),
                   lambda lines: lines[3].update(uncertified_kg="300.000"),
                   lambda lines: lines.append({"supplier": "Ghost", "certificate": None, "uncertified_kg": "1.000"}),
                   lambda lines: lines[1].update(certificate="RMS-NSF-00077"),
                   lambda lines: lines.reverse(), []):
        findings = _lie(1, field, change)
        assert _names(findings, field), findings
    assert "line 3" in _lie(1, field, lambda lines: lines.pop())[0]
    # a batch account's suppliers too
    assert _names(_lie(5, field, lambda lines: lines.pop(0)), field)


def test_a_summary_lying_about_its_outputs_by_customer_is_a_finding():
    """R-M5: a mass, a claimed kg, a claim, a customer, a line left out, the order of the lines."""
    field = "outputs_by_customer"
    for change in (lambda lines: lines[0].update(mass_kg="100.000"),
                   lambda lines: lines[1].update(claimed_kg="900.000"),
                   lambda lines: lines[2].update(claim="RMS 100% PC MB"),
                   lambda lines: lines[0].update(customer="Brand Co"),
                   lambda lines: lines.pop(1),
                   lambda lines: lines.reverse(), None):
        findings = _lie(1, field, change)
        assert _names(findings, field), findings
    assert _names(_lie(5, field, lambda lines: lines[0].update(claimed_kg="400.000")), field)


def test_a_summary_lying_about_its_average_is_a_finding():
    """R-M5: the rolling window's average (over its periods, not the period alone), the batch
    account's period average, and none for mass balance."""
    for n, lie in ((3, "0.400"), (3, None), (2, "0.300"), (5, "0.500"), (5, None), (1, "0.894"),
                   (3, "not a number")):
        findings = _lie(n, "average", lie)
        assert _names(findings, "average"), (n, lie, findings)


# --- what replay refuses outright, and the R-M4/R-M6 checks no other test reached --------------------

@pytest.mark.parametrize("entries, index, words", [
    ([("custody.account_opened", _opened(1)), ("custody.account_opened", _opened(1))], 1, "opened twice"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", _input(2, "INV-1"))], 1,
     "no custody account 2"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", {**_input(1, "INV-1"), "credit_kg": "5"})],
     1, "credit_kg must be an object of PC, PI, R"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", {**_input(1, "INV-1"),
                                                                          "credit_kg": {**PC, "PC": 5000}})],
     1, "credit_kg.PC must be a decimal string"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", {**_input(1, "INV-1"), "mass_kg": 5000})],
     1, "mass_kg must be a decimal string"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", {**_input(1, "INV-1"),
                                                                          "certified_kg": "5"})],
     1, "certified_kg must be an object of PC, PI, R"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
      ("custody.credit_expired", {"account": 1, "on": "2026-02-01", "expired_kg": "5"})],
     2, "expired_kg must be an object of PC, PI, R"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
      ("custody.output_recorded", {**_output(1, "2025-02-02", "1000.000"), "drawn_kg": "5"})],
     2, "drawn_kg must be an object of PC, PI, R"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
      ("custody.output_recorded", {**_output(1, "2025-02-02", "1000.000"), "claimed_kg": "5"})],
     2, "claimed_kg must be an object of PC, PI, R"),
    ([("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
      ("custody.output_recorded", {**_output(1, "2025-02-02", "1000.000"), "mass_kg": 1000})],
     2, "mass_kg must be a decimal string"),
    ([("custody.account_opened", _opened(1)), ("custody.input_reversed", {"account": 1})], 1,
     "unknown custody event 'custody.input_reversed'"),
])
def test_an_entry_replay_cannot_apply_is_refused_at_its_index(entries, index, words):
    """A second opening, an entry on an account never opened, kilograms not by status or not as
    decimal strings (R-U3), an unknown custody event: the log records something its earlier entries make impossible."""
    with pytest.raises(VerificationError) as caught:
        _replayed(*entries).close()
    assert (caught.value.kind, caught.value.index) == ("replay_inconsistent", index)
    assert words in str(caught.value), str(caught.value)


@pytest.mark.parametrize("expired_kg, finding", [("4000.000", False), ("5000.000", True), ("3999.999", True)])
def test_an_expiry_of_other_than_the_receipts_unused_credit_is_a_finding(expired_kg, finding):
    """R-M4: on its day, the credit that expires is what the receipts due then left undrawn —
    5 t received, 1 t drawn: 4 t, neither more (hiding credit) nor less (keeping it alive)."""
    state = _replayed(("custody.account_opened", _opened(1)),
                      ("custody.input_received", _input(1, "INV-1", on="2024-03-10")),
                      ("custody.output_recorded", _output(1, "2025-03-09", "1000.000")),
                      ("custody.credit_expired", {"account": 1, "on": "2025-03-10", "expired_kg": _kg(expired_kg)}))
    assert [(f.index, str(f).split(": ", 1)[1][:4]) for f in state.findings] == ([(3, "R-M4")] if finding else [])
    state.close()


@pytest.mark.parametrize("material, rules", [("PC_P3.1.8", ["R-M6"]), ("PC_P3.1.9", [])])
def test_an_output_fixes_the_account_s_product_for_its_lots(material, rules):
    """R-M6: an account's first output fixes its product, as a lot's draw does: after an output of
    P3.1.9, a lot of P3.1.8 naming the account is a finding; a lot of P3.1.9 is not (control)."""
    from registry.replay.custody_events import lot_registered

    state = _replayed(("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
                      ("custody.output_recorded", _output(1, "2025-02-02", "1000.000")))
    lot_registered(state, 3, {**_lot(1), "material_code": material})
    assert _rules(state) == rules, state.findings
    state.close()


@pytest.mark.parametrize("material, rules", [("PC_P3.1.8", ["R-M1"]), ("P3.1.9", ["R-K1"]),
                                             (None, ["R-K1"]), ("PC_P3.1.9", [])])
def test_an_output_of_another_product_group_than_the_account_s_is_a_finding(material, rules):
    """R-M1 (RMS 6.4.4.5; ``services.record_output``): an account's credit goes to one product group,
    fixed by its first output: after an output of P3.1.9, an output of P3.1.8 is a finding at its entry,
    as is one whose material is no material code; another output of P3.1.9 is not (control). The
    account keeps its group: a later lot of P3.1.9 naming it is no finding."""
    from registry.replay.custody_events import lot_registered

    state = _replayed(("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
                      ("custody.output_recorded", _output(1, "2025-02-02", "1000.000")),
                      ("custody.output_recorded", {**_output(1, "2025-02-03", "1000.000"), "output": 2,
                                                   "material_code": material}))
    assert _rules(state) == rules and all(f.index == 3 for f in state.findings), state.findings
    lot_registered(state, 4, _lot(1))
    assert _rules(state) == rules, state.findings
    state.close()


@pytest.mark.parametrize("changes", [{"custody_account": 5}, {"generator": 2}, {"facility": 2},
                                     {"material_code": "PC_P3.1.8"}])
def test_a_lot_naming_an_account_that_is_not_its_credit_account_is_a_finding(changes):
    """R-M6: the account a lot names is its generator's, at its facility, for its product (once the
    account has a product); another participant's, another facility's, another product's or none."""
    from registry.replay.custody_events import lot_drawn, lot_registered

    state = _custody_state()
    lot_drawn(state, 2, "the generation", 6, {"custody_account": 1, "material_code": "PC_P3.1.9"},
              {"custody": {"account": 1, "on": "2025-03-01", "drawn_kg": _kg("1.000")}},
              {"PC": Decimal("1.000"), "PI": Decimal(0), "R": Decimal(0)})  # the account's product: P3.1.9
    assert state.findings == []
    lot_registered(state, 3, {**_lot(1), **changes})
    assert _rules(state) == ["R-M6"] and "which is not its generator's credit account" in str(state.findings[0])
    assert state.findings[0].index == 3
    state.close()


@pytest.mark.parametrize("processed_on, finding", [("2025-01-31", True), ("2025-02-01", False)])
def test_a_lot_citing_a_receipt_received_after_its_processing_is_a_finding(processed_on, finding):
    """R-M6: a lot's inputs were received on or before it was processed."""
    from registry.replay.custody_events import lot_registered

    state = _custody_state()  # INV-1 received on 2025-02-01
    lot_registered(state, 2, {**_lot(1, [{"receipt": 1, "log": {"index": 1, "leaf_hash": None}}]),
                              "processed_on": processed_on})
    assert _rules(state) == (["R-M6"] if finding else [])
    if finding:
        assert "after processing on 2025-01-31" in str(state.findings[0]) and state.findings[0].index == 2
    state.close()


@pytest.mark.parametrize("drawn", ["2999.999", "3000.001"])
def test_a_generation_drawing_other_than_its_base_mass_is_a_finding(drawn):
    """R-M6: ARCs on 3 t of a custody lot draw exactly 3 t of its account's credit, first in, first out."""
    from registry.replay.custody_events import lot_drawn

    state = _custody_state()
    lot_drawn(state, 2, "the generation", 7, {"custody_account": 1, "material_code": "PC_P3.1.9"},
              {"custody": {"account": 1, "on": "2025-03-01", "drawn_kg": _kg(drawn)}},
              {"PC": Decimal("3000.000"), "PI": Decimal(0), "R": Decimal(0)})
    assert _rules(state) == ["R-M6"] and "first in, first out it draws" in str(state.findings[0])
    state.close()


LEAF = "ab" * 32


def _with_leaf() -> State:
    """Two accounts of the generator; INV-1 received into account 1 at entry 2, with its leaf hash."""
    state = State()
    apply(state, 0, "custody.account_opened", _opened(1))
    apply(state, 1, "custody.account_opened", {**_opened(2), "facilities": [2]})
    apply(state, 2, "custody.input_received", _input(1, "INV-1"), LEAF)
    apply(state, 3, "custody.input_received", {**_input(2, "INV-2"), "receipt": 2, "facility": 2}, "cd" * 32)
    return state


@pytest.mark.parametrize("item, finding", [
    ({"receipt": 1, "log": {"index": 2, "leaf_hash": LEAF}}, False),
    ({"receipt": 1, "log": {"index": 2, "leaf_hash": "00" * 32}}, True),  # its index, another entry's hash
    ({"receipt": 1, "log": {"index": 3, "leaf_hash": LEAF}}, True),  # its hash, another index
    ({"receipt": 1, "log": None}, True),  # no link at all
    ({"receipt": 1}, True),
    ({"receipt": 2, "log": {"index": 3, "leaf_hash": "cd" * 32}}, True),  # a receipt of the other account
    ("INV-1", True),  # not an object
    ({"receipt": 99, "log": {"index": 2, "leaf_hash": LEAF}}, True),  # no such receipt
])
def test_a_custody_lot_cites_each_input_as_a_receipt_of_its_account_by_its_entry(item, finding):
    """R-M6, R-L2b: a custody lot's input is a receipt of the lot's own account, cited by the index and
    leaf hash of the entry that received it; any other citation is a finding at the lot, and replay goes on."""
    from registry.replay.custody_events import lot_registered

    state = _with_leaf()
    lot_registered(state, 4, _lot(1, [{"receipt": 1, "log": {"index": 2, "leaf_hash": LEAF}}, item]))
    assert _rules(state) == (["R-M6"] if finding else [])
    if finding:
        assert str(state.findings[0]) == ("entry 4: R-M6: lot 7 input 1 does not cite a receipt of custody "
                                          "account 1 by its entry")
    state.close()


def test_a_receipt_replayed_without_its_leaf_hash_is_cited_by_index_alone():
    """A log replayed without leaf hashes (an export read line by line keeps them; a bare replay may not)
    checks the citation's index only: the hash has nothing to be compared with."""
    from registry.replay.custody_events import lot_registered

    state = _custody_state()  # INV-1 received at entry 1, no leaf hash known
    lot_registered(state, 2, _lot(1, [{"receipt": 1, "log": {"index": 1, "leaf_hash": LEAF}}]))
    assert state.findings == []
    state.close()


def test_a_lot_registered_with_no_material_code_is_named_in_the_finding():
    from registry.replay.custody_events import lot_registered

    state = _custody_state()
    lot_registered(state, 2, {**_lot(1), "facility": 5})
    assert str(state.findings[0]) == ("entry 2: R-M6: lot 7 names custody account 1, which is not its generator's "
                                      "credit account for facility 5 and product P3.1.9")
    state.close()


def test_an_overdrawing_lot_names_its_account():
    from registry.replay.custody_events import lot_drawn

    state = _custody_state()
    lot_drawn(state, 2, "the generation", 7, {"custody_account": 1, "material_code": "PC_P3.1.9"},
              {"custody": {"account": 1, "on": "2025-03-01", "drawn_kg": _kg("6000.000")}},
              {"PC": Decimal("6000.000"), "PI": Decimal(0), "R": Decimal(0)})
    assert "entry 2: R-M4: account 1: the balance went negative on 2025-03-01 (overdrawn by 1000.000 kg PC)" in [
        str(f) for f in state.findings]
    state.close()


def test_a_lot_of_another_product_than_the_account_s_need_not_name_it():
    """R-M6, R-M1: an account whose product group is fixed (here by a lot of P3.1.9) does not cover a lot of
    another product at its facility: that lot names no account and draws none, without a finding."""
    from registry.replay.custody_events import lot_drawn, lot_registered

    state = _custody_state()
    lot_drawn(state, 2, "the generation", 7, {"custody_account": 1, "material_code": "PC_P3.1.9"},
              {"custody": {"account": 1, "on": "2025-03-01", "drawn_kg": _kg("1000.000")}},
              {"PC": Decimal("1000.000"), "PI": Decimal(0), "R": Decimal(0)})
    lot_registered(state, 3, {**_lot(None), "lot": 8, "material_code": "PC_P3.2.1"})
    assert state.findings == []
    lot_registered(state, 4, {**_lot(None), "lot": 9})  # of the account's product: it had to name it
    assert _rules(state) == ["R-M6"] and state.findings[0].index == 4
    state.close()


def test_an_input_whose_claim_does_not_parse_is_a_finding_naming_r_m2():
    """R-M2: an input's claim is an RMS claim (``parse_claim``); one that is not is a finding at the entry."""
    state = _replayed(("custody.account_opened", _opened(1)),
                      ("custody.input_received", {**_input(1, "INV-1"), "claim": "RMS 12.5% PC MB"}))
    assert [f.index for f in state.findings] == [1]
    assert str(state.findings[0]).startswith("entry 1: R-M2: account 1: claim 'RMS 12.5% PC MB': claims are "
                                             "expressed as a percentage"), state.findings
    state.close()


def test_a_summary_groups_suppliers_and_customers_whose_names_hold_a_colon():
    """R-M5: the summary's lines are grouped by supplier and certificate, customer and claim, whatever the
    names hold (the replay keys its lines ``account:n:part:group``)."""
    name, customer = "Sorter: North", "Brand: EU"
    state = _replayed(("custody.account_opened", _opened(1)),
                      ("custody.input_received", {**_input(1, "INV-1"), "supplier_name": name}),
                      ("custody.input_received", {**_input(1, "INV-2", kg="1000.000"), "supplier_name": "a:b:c:d",
                                                  "claim": None, "certified_kg": PC, "credit_kg": PC}),
                      ("custody.output_recorded", {**_output(1, "2025-02-03", "2000.000"), "customer": customer}),
                      ("custody.period_closed", _summary(1, 1)),
                      ("custody.period_closed", _summary(
                          1, 2, inputs_kg="6000.000", certified_inputs_kg="5000.000", outputs_kg="2000.000",
                          claimed_kg="2000.000", closing_kg="3000.000",
                          inputs=[{**SUPPLIED[0], "supplier": name},
                                  {"supplier": "a:b:c:d", "certificate": None, "uncertified_kg": "1000.000"}],
                          outputs=[{**_sold("2000.000")[0], "customer": customer}])))
    assert state.findings == [], state.findings
    state.close()


def test_a_multi_site_rolling_output_is_checked_at_its_own_site():
    """RMS 6.4.3.4 vi: at a multi-site rolling account a site whose own average is below 20% of the overall
    one claims at most its own average. Site 1: 40% (400 of 1 000 kg); site 2: 4% (40 of 1 000 kg), below
    20% of the overall 22%. A 10% claim at site 1 is within the overall average; at site 2, above its own."""
    opened = ("custody.account_opened", {**_average(1, "average-content-rolling"), "facilities": [1, 2]})
    received = [("custody.input_received", _ac_input(1, "2025-01-10", "1000.000", "400.000", "INV-1")),
                ("custody.input_received", {**_ac_input(1, "2025-01-11", "1000.000", "40.000", "INV-2"),
                                            "facility": 2})]
    for site, finding in ((1, False), (2, True)):
        output = {**_ac_output(1, "2025-01-20", "100.000", 10), "facility": site}
        state = _replayed(opened, *received, ("custody.output_recorded", output))
        assert _rules(state) == (["R-M3"] if finding else []), state.findings
        if finding:
            assert "site's own rolling average" in str(state.findings[0])
        state.close()


def test_a_contributing_site_claims_up_to_the_multi_site_average():
    """RMS 6.4.3.4 vi: a contributing site of a multi-site rolling account claims up to the overall
    average (30%: 200 + 400 of 2 000 kg), above its own 20%; an output logged without its facility (before
    facilities were logged) is the account's first facility's."""
    opened = ("custody.account_opened", {**_average(1, "average-content-rolling"), "facilities": [1, 2]})
    received = [("custody.input_received", _ac_input(1, "2025-01-10", "1000.000", "200.000", "INV-1")),
                ("custody.input_received", {**_ac_input(1, "2025-01-11", "1000.000", "400.000", "INV-2"),
                                            "facility": 2})]
    output = _ac_output(1, "2025-01-20", "100.000", 25)
    unsited = {k: v for k, v in output.items() if k != "facility"}
    for claimed in (output, unsited):
        state = _replayed(opened, *received, ("custody.output_recorded", claimed))
        assert state.findings == [], state.findings
        state.close()
    state = _replayed(opened, *received, ("custody.output_recorded", {**unsited, "claim": "RMS 31% PC AC",
                                                                       "claimed_kg": _kg("31.000")}))
    assert _rules(state) == ["R-M3"] and "multi-site rolling average" in str(state.findings[0]), state.findings
    state.close()


def test_a_single_site_rolling_output_logged_without_its_facility_is_the_account_s():
    opened = ("custody.account_opened", _average(1, "average-content-rolling"))
    received = ("custody.input_received", _ac_input(1, "2025-01-10", "1000.000", "200.000", "INV-1"))
    output = {k: v for k, v in _ac_output(1, "2025-01-20", "100.000", 20).items() if k != "facility"}
    state = _replayed(opened, received, ("custody.output_recorded", output))
    assert state.findings == [], state.findings
    state.close()


def test_an_output_whose_claim_does_not_parse_is_a_finding_naming_r_m3():
    state = _replayed(("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
                      ("custody.output_recorded", {**_output(1, "2025-02-03", "100.000"), "claim": "RMS 12.5% PC MB"}))
    assert [f.index for f in state.findings] == [2]
    assert str(state.findings[0]).startswith("entry 2: R-M3: account 1: claim 'RMS 12.5% PC MB': claims are "
                                             "expressed as a percentage"), state.findings
    state.close()


def test_rolling_claims_may_use_the_reconciliation_period_s_input():
    """RMS 6.4.3.4 v: claims over the window (periods 2–4 of a three-period window) never exceed the
    certified input of the window plus one reconciliation period (period 1): 300 kg claimed in period 4
    against 200 + 200 kg certified in periods 1 and 2."""
    opened = ("custody.account_opened", _average(1, "average-content-rolling"))
    received = [("custody.input_received", _ac_input(1, "2025-01-10", "1000.000", "200.000", "INV-1")),
                ("custody.input_received", _ac_input(1, "2025-02-10", "1000.000", "200.000", "INV-2"))]
    for kg, finding in (("1500.000", False), ("2005.000", True)):  # 300 kg; 401 kg
        state = _replayed(opened, *received, ("custody.output_recorded", _ac_output(1, "2025-04-20", kg, 20)))
        assert _rules(state) == (["R-M3"] if finding else []), state.findings
        if finding:
            assert "above the 400.000 kg of certified input" in str(state.findings[0])
        state.close()


def test_a_summary_missing_or_adding_a_line_is_named_at_that_line():
    """R-M5: a breakdown that differs from the replayed one is reported at its first differing line."""
    entries = [("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
               ("custody.output_recorded", _output(1, "2025-02-03", "2000.000"))]
    true = {"inputs_kg": "5000.000", "certified_inputs_kg": "5000.000", "outputs_kg": "2000.000",
            "claimed_kg": "2000.000", "closing_kg": "3000.000", "inputs": SUPPLIED}
    sold = _sold("2000.000")
    for outputs, line in (([], f"line 0: 'no line', the entries before it give {sold[0]!r}"),
                          (sold + sold, f"line 1: {sold[0]!r}, the entries before it give 'no line'")):
        state = _replayed(*entries, ("custody.period_closed", _summary(1, 1)),
                          ("custody.period_closed", _summary(1, 2, outputs=outputs, **true)))
        assert [str(f) for f in state.findings] == [
            f"entry 4: R-M5: account 1: period 2's summary says outputs_by_customer {line}"], state.findings
        state.close()


def test_summary_names_are_compared_as_text_and_kilograms_as_numbers():
    """R-M5: in a summary's breakdowns only the kilograms are numbers (``"5000.0"`` is 5 000 kg); a supplier
    named ``100`` is not the supplier ``100.0``, and an average that is no decimal is a difference."""
    entries = [("custody.account_opened", _opened(1)),
               ("custody.input_received", {**_input(1, "INV-1"), "supplier_name": "100"}),
               ("custody.period_closed", _summary(1, 1))]
    true = {"inputs_kg": "5000.000", "certified_inputs_kg": "5000.000", "closing_kg": "5000.000"}
    line = {**SUPPLIED[0], "supplier": "100", "certified_kg": {**_kg("5000.0")}}
    state = _replayed(*entries, ("custody.period_closed", _summary(1, 2, inputs=[line], **true)))
    assert state.findings == [], state.findings
    state.close()
    for inputs, average, field in (([{**line, "supplier": "100.0"}], None, "inputs_by_supplier"),
                                   ([line], "junk", "average")):
        state = _replayed(*entries, ("custody.period_closed", _summary(1, 2, inputs=inputs, average=average, **true)))
        assert _rules(state) == ["R-M5"] and f"says {field} " in str(state.findings[0]), state.findings
        state.close()


def test_expiries_in_one_period_add_up_in_its_row():
    """R-M4, R-L7b: each expiry adds its kilograms to the period row that verify compares with the table."""
    from registry.replay.custody_periods import sorted_rows

    state = _replayed(("custody.account_opened", _opened(1)),
                      ("custody.input_received", _input(1, "INV-1", on="2025-01-10", kg="1000.000")),
                      ("custody.input_received", {**_input(1, "INV-2", on="2025-01-20", kg="2000.000"), "receipt": 2}),
                      ("custody.credit_expired", {"account": 1, "on": "2026-01-10", "expired_kg": _kg("1000.000")}),
                      ("custody.credit_expired", {"account": 1, "on": "2026-01-20", "expired_kg": _kg("2000.000")}))
    assert state.findings == [], state.findings
    rows = dict(sorted_rows(state))
    assert rows[(1, 13, 1)]["expired_kg"] == Decimal("3000.000")
    state.close()


@pytest.mark.parametrize("arcs, column", [(True, "arc_kg"), (False, "claimed_kg")])
def test_lot_draws_in_one_period_add_up_in_its_row(arcs, column):
    """R-M6, R-L7b: each generation (ARCs) or claimed sale of a custody lot adds its draw to the period row."""
    from registry.replay.custody_events import lot_drawn
    from registry.replay.custody_periods import sorted_rows

    state = _custody_state()
    lot = {"custody_account": 1, "material_code": "PC_P3.1.9", "facility": 1}
    for on, kg in (("2025-03-01", "1000.000"), ("2025-03-02", "500.000")):
        lot_drawn(state, 2, "the draw", 7, lot, {"custody": {"account": 1, "on": on, "drawn_kg": _kg(kg)}},
                  {"PC": Decimal(kg), "PI": Decimal(0), "R": Decimal(0)}, arcs=arcs)
    assert state.findings == [], state.findings
    row = dict(sorted_rows(state))[(1, 3, 1)]
    assert (row[column], row["drawn_kg"]) == (Decimal("1500.000"), Decimal("1500.000"))
    state.close()


def test_a_fresh_account_s_batch_is_closed_and_empty_as_its_row_is():
    """R-L7b: the replayed batch of an account with no entry yet is what a new ``custody_account`` row holds
    (``batch_open`` false, every ``batch_*_kg`` 0), which verify compares it with."""
    from registry.replay.custody_events import books

    state = _replayed(("custody.account_opened", {**_average(1, "average-content-batch")}))
    assert books(state)[1]["batch"] == {"open": False, "input_kg": ZERO, "certified_kg": ZERO, "output_kg": ZERO,
                                        "claimed_kg": ZERO}
    state.close()


def test_an_account_opened_without_a_conversion_factor_credits_one_to_one():
    """Accounts opened before conversion factors were logged credit their certified input as it is."""
    opened = {k: v for k, v in _opened(1).items() if k != "conversion_factor"}
    state = _replayed(("custody.account_opened", opened), ("custody.input_received", _input(1, "INV-1")))
    assert state.findings == [], state.findings
    state.close()


def test_outputs_to_one_customer_with_one_claim_add_up_in_the_summary():
    entries = [("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1")),
               ("custody.output_recorded", _output(1, "2025-02-03", "2000.000")),
               ("custody.output_recorded", _output(1, "2025-02-04", "1000.000"))]
    true = {"inputs_kg": "5000.000", "certified_inputs_kg": "5000.000", "outputs_kg": "3000.000",
            "claimed_kg": "3000.000", "closing_kg": "2000.000", "inputs": SUPPLIED, "outputs": _sold("3000.000")}
    state = _replayed(*entries, ("custody.period_closed", _summary(1, 1)),
                      ("custody.period_closed", _summary(1, 2, **true)))
    assert state.findings == [], state.findings
    state.close()


def test_a_batch_s_outputs_add_up_until_the_next_input():
    """RMS 6.4.3.3, R-L7b: every output of a batch adds to its output and claimed kilograms, which the
    next output's checks and verify's ``batch_*`` columns read. Two 400 kg outputs at 30% of a 1 000 kg
    batch with 300 kg certified leave 200 kg and 60 kg claimable; a third 400 kg output exceeds both."""
    from registry.replay.custody_events import books

    batch = [("custody.account_opened", _average(1, "average-content-batch")),
             ("custody.input_received", _ac_input(1, "2025-02-01", "1000.000", "300.000", "INV-1")),
             ("custody.output_recorded", _ac_output(1, "2025-02-02", "400.000", 30)),
             ("custody.output_recorded", _ac_output(1, "2025-02-03", "400.000", 30))]
    state = _replayed(*batch)
    assert state.findings == [], state.findings
    assert books(state)[1]["batch"] == {"open": False, "input_kg": Decimal("1000.000"),
                                        "certified_kg": Decimal("300.000"), "output_kg": Decimal("800.000"),
                                        "claimed_kg": Decimal("240.000")}
    state.close()
    third = _replayed(*batch, ("custody.output_recorded", _ac_output(1, "2025-02-04", "400.000", 30)))
    assert _rules(third) == ["R-M3", "R-M3"], third.findings
    assert "claims would reach 360.000 kg, above its 300.000 kg" in str(third.findings[0]), third.findings
    assert "800.000 kg of it are already out" in str(third.findings[1]), third.findings
    third.close()


def test_an_output_at_an_account_s_second_facility_counts_in_that_facility_s_row():
    """R-L7b: verify compares each (account, period, facility) row; an output at site 2 is site 2's."""
    from registry.replay.custody_periods import sorted_rows

    state = _replayed(("custody.account_opened", {**_opened(1), "facilities": [1, 2]}),
                      ("custody.input_received", _input(1, "INV-1")),
                      ("custody.output_recorded", {**_output(1, "2025-02-03", "2000.000"), "facility": 2}))
    assert state.findings == [], state.findings
    rows = dict(sorted_rows(state))
    assert (rows[(1, 2, 1)]["output_kg"], rows[(1, 2, 2)]["output_kg"]) == (ZERO, Decimal("2000.000")), rows
    assert rows[(1, 2, 2)]["claimed_kg"] == rows[(1, 2, 2)]["drawn_kg"] == Decimal("2000.000"), rows
    state.close()


def test_a_rolling_summary_s_average_spans_exactly_its_window():
    """R-M5, RMS 6.4.3.4: period n's average is over periods n-2..n of a 3-period window. Period 1: 40%
    (400 of 1 000 kg), period 2: 10%, period 3: none, period 4: 10%. Period 3's window (1-3) gives 25%,
    not period 2-3's 10%; period 4's (2-4) gives 10%, not periods 1-4's 20%."""
    def received(on: str, pc: str, reference: str) -> tuple:
        return ("custody.input_received", _ac_input(1, on, "1000.000", pc, reference))

    def closed(n: int, pc: str | None, average: str) -> tuple:
        inputs = [] if pc is None else [{"supplier": "Sorter A", "certificate": "RMS-NSF-00077",
                                         "certified_kg": _kg(pc)}]
        totals = {} if pc is None else {"inputs_kg": "1000.000", "certified_inputs_kg": pc}
        return ("custody.period_closed", _summary(1, n, inputs, average=average, **totals))

    log = [("custody.account_opened", _average(1, "average-content-rolling")),
           received("2025-01-10", "400.000", "INV-1"), closed(1, "400.000", "0.400"),
           received("2025-02-10", "100.000", "INV-2"), closed(2, "100.000", "0.250"),
           closed(3, None, "0.250"), received("2025-04-10", "100.000", "INV-3"), closed(4, "100.000", "0.100")]
    state = _replayed(*log)
    assert state.findings == [], state.findings
    state.close()
    for n, lie in ((3, "0.100"), (4, "0.200")):
        k = log.index(next(e for e in log if e[0] == "custody.period_closed" and e[1]["n"] == n))
        state = _replayed(*log[:k], ("custody.period_closed", {**log[k][1], "average": lie}), *log[k + 1:])
        assert len(state.findings) == 1 and f"period {n}'s summary says average '{lie}'" in str(state.findings[0])
        state.close()


def test_a_summary_without_its_closing_is_a_finding_and_the_next_opens_with_the_entries_closing():
    """R-M5: a summary logging no closing (or no decimal) is a finding at that summary alone; the next
    period opens with the closing the entries give, not with nothing."""
    log = [("custody.account_opened", _opened(1)), ("custody.input_received", _input(1, "INV-1", on="2025-01-10"))]
    first = _summary(1, 1, SUPPLIED, inputs_kg="5000.000", certified_inputs_kg="5000.000", closing_kg="5000.000")
    second = ("custody.period_closed", _summary(1, 2, opening_kg="5000.000", closing_kg="5000.000"))
    for closing in (None, "lots"):
        state = _replayed(*log, ("custody.period_closed", {**first, "closing_kg": closing}), second)
        assert len(state.findings) == 1 and state.findings[0].index == 2, state.findings
        assert f"period 1's summary says closing_kg {closing!r}" in str(state.findings[0]), state.findings
        state.close()


def test_a_multi_site_summary_adds_up_every_site_s_row():
    """R-M5: a period's totals are the sums over the account's sites (site 1 received 5 000 kg, site 2
    2 000 kg)."""
    state = _replayed(("custody.account_opened", {**_opened(1), "facilities": [1, 2]}),
                      ("custody.input_received", _input(1, "INV-1", on="2025-01-10")),
                      ("custody.input_received", {**_input(1, "INV-2", on="2025-01-11", kg="2000.000"),
                                                  "receipt": 2, "facility": 2}),
                      ("custody.period_closed", _summary(
                          1, 1, [{**SUPPLIED[0], "certified_kg": _kg("7000.000")}], inputs_kg="7000.000",
                          certified_inputs_kg="7000.000", closing_kg="7000.000")))
    assert state.findings == [], state.findings
    state.close()


def test_expired_credit_leaves_a_period_s_closing():
    """R-M4, R-M5: the closing is the opening plus credit, less what was drawn and what expired. A yearly
    account: 5 000 kg received in 2025 expire in 2026, which closes at 0."""
    yearly = {**_opened(1), "period_months": 12}
    state = _replayed(("custody.account_opened", yearly), ("custody.input_received", _input(1, "INV-1", on="2025-01-10")),
                      ("custody.period_closed", _summary(1, 1, SUPPLIED, inputs_kg="5000.000",
                                                         certified_inputs_kg="5000.000", closing_kg="5000.000")),
                      ("custody.credit_expired", {"account": 1, "on": "2026-01-10", "expired_kg": _kg("5000.000")}),
                      ("custody.period_closed", _summary(1, 2, opening_kg="5000.000", expired_kg="5000.000",
                                                         closing_kg="0.000")))
    assert state.findings == [], state.findings
    state.close()


def test_a_lot_ignoring_its_custody_account_in_a_signed_log_fails_at_its_entry(engine, db_url, tmp_path):
    """R-M6, R-L7c: a signed ``lot.registered`` at a facility where its generator keeps a credit account
    for its product, naming no account, fails verification at that entry."""
    from tests.integration.test_verify_replay import _entries

    config = build_registry(engine, db_url, tmp_path)
    account = _custody_on_top(engine, config)
    entries = _entries(engine)
    opened = next(e["payload"] for e in entries if e["type"] == "custody.account_opened"
                  and e["payload"]["account"] == account)
    lots = [e["payload"] for e in entries if e["type"] == "lot.registered"]
    model = next(p for p in lots if p["facility"] in opened["facilities"] and p["generator"] == opened["participant"]
                 and p["material_code"].startswith("PC_"))
    payload = {**model, "lot": max(p["lot"] for p in lots) + 1, "reference": "LOT-OUTSIDE-THE-ACCOUNT",
               "processed_on": "2026-05-04"}
    payload.pop("custody_account", None)
    index = _append_signed(engine, config, "lot.registered", payload)
    _fails_at(engine, config, tmp_path, index, "R-M6")

"""Lots and their dispositions through the HTTP API, on SQLite and PostgreSQL (R-B1–R-B8):
what a lot's ``lot.registered`` entry and a disposition's ``lot.disposition`` entry hold,
field by field (R-B6: the log keeps the lot's canonical content), and the bounds of each
check, each side tried: the processing date (not after today), a disposition's date
(between processing and today), a reference registered once per generator, a claim's
status against a split lot's. Today is 2026-03-02 (tests/conftest.py NOW)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from registry import lots
from registry.db import UnitOfWork, session_factory
from registry.errors import InvalidInput
from registry.identity import actor_of, authenticate
from registry.units import parse_mass
from tests.api.driver import DIGEST, snapshot, t
from tests.api.test_determinations import _entries
from tests.api.test_errors_and_health import assert_problem


def _refused(driver, engine, path: str, body: dict, token: str, status: int, code: str, field: str,
             detail: str, rule: str | None = None) -> None:
    before = snapshot(engine)
    problem = assert_problem(driver.post(path, body, token), status, code)
    assert (problem["detail"], problem.get("rule")) == (detail, rule), problem
    assert field in problem["errors"], problem
    assert snapshot(engine) == before, "a refused request changed the database or the log"


def _sale(on: str, mass: dict | None, claim: str | None = None, kind: str = "sale") -> dict:
    body = {"kind": kind, "on": on, "counterparty": "  Brand Co ", "claim": claim}
    if mass is not None:
        body["mass"] = mass
    return body


def _one_tonne(gen, **overrides) -> dict:
    """A 1 t lot documented as 1 t from 1 t (factor 100)."""
    return {"facility_id": gen.facility_id, "reference": "LOT-1", "material_code": "PC_P3.1.9", "mass": t(1),
            "non_plastic_fraction": "0", "processed_on": "2026-02-01", "rms_certificate": gen.certificate,
            "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": t(1)}], "transformation": "physical",
                           "description": "d", "factor": "100", "justification": "j",
                           "outputs": [{"material_code": "PC_P3.1.9", "mass": t(1)}]}, **overrides}


def test_a_split_lot_on_a_line_is_logged_with_every_field(driver, engine):
    gen = driver.generator()
    driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line A", "capacity": t(10)}, gen.token)
    line = driver.ok(f"/facilities/{gen.facility_id}/lines", {"name": "Line B", "capacity": t(100)}, gen.token)
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(10), pc_mass=t(6), pi_mass=t(4),
                     line_id=line["id"], reference="SPLIT-1", processed_on="2026-03-02")
    [entry] = _entries(engine, "lot.registered")
    assert entry["payload"] == {
        "lot": lot["id"], "generator": gen.id, "facility": gen.facility_id, "line": line["id"],
        "reference": "SPLIT-1", "material_code": "PI_P3.1.5", "recycled_status": "PI", "mass_kg": "10000.000",
        "pc_kg": "6000.000", "non_plastic_fraction": "0.01", "lhv_mj_per_kg": None, "processed_on": "2026-03-02",
        "rms_certificate": gen.certificate,
        "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass_kg": "12000000.000"}],
                       "transformation": "physical", "description": "sort, wash, extrude", "factor": "83.333",
                       "justification": "measured yield Q4 2025",
                       "outputs": [{"material_code": "PI_P3.1.5", "mass_kg": "10000.000"}]},
        "inputs": [], "evidence": [DIGEST]}
    assert entry["index"] == lot["log"]["index"]
    assert (lot["line_id"], lot["pc_kg"], lot["pi_kg"]) == (line["id"], "6000.000", "4000.000")


def test_a_peq_lot_logs_its_heating_value(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PC_P2.1.1", t(2), lhv_mj_per_kg="42.5")
    [entry] = _entries(engine, "lot.registered")
    assert entry["payload"]["lhv_mj_per_kg"] == "42.5" and entry["payload"]["pc_kg"] is None
    assert entry["payload"]["conversion"]["transformation"] == "chemical"
    assert lot["lhv_mj_per_kg"] == "42.5"


def test_a_lot_is_processed_today_at_the_latest(driver, engine):
    gen = driver.generator()
    body = _one_tonne(gen, reference="TOMORROW", processed_on="2026-03-03")
    _refused(driver, engine, "/lots", body, gen.token, 400, "date_in_future", "processed_on",
             "processed_on is in the future")
    body["processed_on"] = "2026-03-02"
    assert driver.ok("/lots", body, gen.token)["processed_on"] == "2026-03-02"


def test_a_reference_is_registered_once_per_generator(driver, engine):
    gen = driver.generator()
    driver.lot(gen.token, gen.facility_id, gen.certificate, reference="LOT-A")
    body = _one_tonne(gen, reference="LOT-A")
    _refused(driver, engine, "/lots", body, gen.token, 409, "lot_reference_taken", "reference",
             "lot reference LOT-A is already registered", "R-B1")
    other = driver.generator("Other Recycling")  # another generator's lot may have the same reference
    body.update(facility_id=other.facility_id, rms_certificate=other.certificate)
    assert driver.ok("/lots", body, other.token)["reference"] == "LOT-A"


def test_a_disposition_is_dated_between_processing_and_today(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(4), processed_on="2026-02-01")
    for on in ("2026-01-31", "2026-03-03"):
        _refused(driver, engine, f"/lots/{lot['id']}/dispositions", _sale(on, t(1)), gen.token, 400, "invalid_date",
                 "on", "a disposition is dated between processing and today")
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-01", t(1)), gen.token)
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-03-02", t(1), kind="consumption"), gen.token)
    first, second = _entries(engine, "lot.disposition")
    assert first["payload"] == {"lot": lot["id"], "disposition": first["payload"]["disposition"], "kind": "sale",
                                "on": "2026-02-01", "counterparty": "Brand Co", "mass_kg": "1000",
                                "requested": first["payload"]["requested"], "claim": None, "claimed_kg": "0.000",
                                "claimed_pc_kg": "0.000"}
    assert (second["payload"]["kind"], second["payload"]["on"]) == ("consumption", "2026-03-02")
    assert second["payload"]["disposition"] == first["payload"]["disposition"] + 1


def test_a_disposition_beyond_the_lot_is_refused_and_no_mass_takes_the_rest(driver, engine):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(4))
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t(3)), gen.token)
    _refused(driver, engine, f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t("1.001")), gen.token, 422,
             "lot_over_allocated", "mass", "requested 1001.000 kg but only 1000.000 kg of the lot are left to "
             "dispose of", "R-B3")
    sold = driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", None), gen.token)  # the rest
    assert sold["sold_kg"] == "4000.000"
    _refused(driver, engine, f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", None), gen.token, 422,
             "lot_over_allocated", "mass", "requested 0.000 kg but only 0.000 kg of the lot are left to dispose of",
             "R-B3")


def test_a_split_lot_s_sale_may_carry_a_post_consumer_claim_for_its_post_consumer_part(driver, engine):
    """R-B3, RMS 5.1.2.3: a PI-coded lot documented as 6 t PC + 4 t PI carries a PC claim (its best
    status is PC); an undocumented PI lot does not."""
    gen = driver.generator()
    split = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(10), pc_mass=t(6), pi_mass=t(4))
    sold = driver.ok(f"/lots/{split['id']}/dispositions", _sale("2026-02-15", t(2), "RMS 50% PC MB"), gen.token)
    assert sold["claimed_kg"] == "1000.000"
    [entry] = _entries(engine, "lot.disposition")
    assert (entry["payload"]["claimed_kg"], entry["payload"]["claimed_pc_kg"]) == ("1000.000", "1000.000")
    plain = driver.lot(gen.token, gen.facility_id, gen.certificate, "PI_P3.1.5", t(10))
    _refused(driver, engine, f"/lots/{plain['id']}/dispositions", _sale("2026-02-15", t(2), "RMS 50% PC MB"),
             gen.token, 422, "claim_exceeds_status", "claim", "a PI lot cannot carry a PC claim", "R-B3")


# --- The domain's own checks: what a caller without the HTTP schema (the CLI, the demo) is refused ---


def _as(engine, clock, token: str, action, *args, **kwargs):
    with UnitOfWork(session_factory(engine), clock) as uow:
        result = action(uow, actor_of(authenticate(uow, token)), *args, **kwargs)
        uow.commit()
        return result


def _domain_lot(gen, **conversion) -> dict:
    ton = parse_mass({"value": "1", "unit": "t"})
    return dict(facility_id=gen.facility_id, reference="DOMAIN-1", material_code="PC_P3.1.9", mass=ton,
                processed_on=date(2026, 2, 1), rms_certificate=gen.certificate, non_plastic_fraction=Decimal(0),
                conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": ton}], "transformation": "physical",
                            "description": "d", "factor": Decimal(100), "justification": "j",
                            "outputs": [{"material_code": "PC_P3.1.9", "mass": ton}], **conversion})


@pytest.mark.parametrize(("conversion", "code", "field", "detail"), [
    ({"transformation": "alchemy"}, "invalid_choice", "conversion.transformation",
     "transformation must be one of physical, chemical"),
    ({"factor": Decimal(0)}, "out_of_range", "conversion.factor", "the conversion factor is a percentage in (0, 100]"),
    ({"factor": Decimal("100.001")}, "out_of_range", "conversion.factor",
     "the conversion factor is a percentage in (0, 100]"),
])
def test_the_domain_refuses_a_conversion_it_cannot_document(driver, engine, clock, conversion, code, field, detail):
    gen = driver.generator()
    before = snapshot(engine)
    with pytest.raises(InvalidInput) as refused:
        _as(engine, clock, gen.token, lots.register_lot, **_domain_lot(gen, **conversion))
    assert (refused.value.code, refused.value.field, refused.value.detail) == (code, field, detail)
    assert snapshot(engine) == before
    lot = _as(engine, clock, gen.token, lots.register_lot, **_domain_lot(gen))  # 100% documents 1 t from 1 t
    assert lot.conversion["factor"] == "100"


@pytest.mark.parametrize("factor, input_t, logged", [("0.5", "200", "0.5"), ("1", "100", "1"), ("1E+2", "1", "100")])
def test_the_domain_documents_any_conversion_factor_above_zero(driver, engine, clock, factor, input_t, logged):
    """RMS 5.4.2: the factor is a percentage in (0, 100]; a small one (1 t out of 100 t in) is documented
    as given, as a plain decimal string (R-U3) however the caller wrote it."""
    gen = driver.generator()
    inputs = [{"material_code": "PC_P5.1.6", "mass": parse_mass({"value": input_t, "unit": "t"})}]
    lot = _as(engine, clock, gen.token, lots.register_lot,
              **_domain_lot(gen, factor=Decimal(factor), inputs=inputs))
    assert lot.conversion["factor"] == logged


def test_the_domain_refuses_a_disposition_of_another_kind(driver, engine, clock):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(4))
    before = snapshot(engine)
    with pytest.raises(InvalidInput) as refused:
        _as(engine, clock, gen.token, lots.add_disposition, lot["id"], kind="gift", on=date(2026, 2, 15),
            counterparty="Brand Co")
    assert (refused.value.code, refused.value.field, refused.value.detail) == (
        "invalid_choice", "kind", "kind must be one of sale, consumption")
    assert snapshot(engine) == before


def _one_tonne_input(**overrides) -> dict:
    return {"supplier_certificate": "RMS-NSF-00001", "reference": "X", "material_code": "PC_P5.1.6", "mass": t(1),
            **overrides}


@pytest.mark.parametrize(("case", "status", "code", "rule", "field", "detail"), [
    ({"rms_certificate": "RMS-NSF-99999"}, 400, "certificate_not_found", None, "rms_certificate",
     "no RMS certificate RMS-NSF-99999"),
    ({"rms_certificate": "{other}"}, 422, "certificate_invalid", "R-B1", "rms_certificate",
     "certificate {other} belongs to another participant, and does not list this one as a member of its group on "
     "2026-02-01"),
    ({"processed_on": "2024-12-31"}, 422, "certificate_invalid", "R-B1", "rms_certificate",
     "certificate {own} was not valid on 2024-12-31"),
    ({"receipts": [{"receipt_id": 1}]}, 400, "custody_account_required", "R-M6", "receipts",
     "receipts are cited by lots of a custody account: name it in custody_account_id"),
    ({"inputs": [_one_tonne_input(received_on="2026-02-02")]}, 400, "input_after_processing", "R-B8",
     "inputs.0.received_on", "an input received on 2026-02-02 cannot be processed on 2026-02-01"),
    ({"inputs": [_one_tonne_input(supplier_certificate="NOPE")]}, 400, "invalid_certificate_number", "R-C1",
     "inputs.0.supplier_certificate", "inputs.0.supplier_certificate 'NOPE' is not an RMS certification number…"),
    ({"inputs": [_one_tonne_input(material_code="ZZ")]}, 400, "unknown_material_code", "R-K1",
     "inputs.0.material_code", "inputs.0.material_code 'ZZ' is not an RMS material ID code…"),
    ({"conversion.inputs": [{"material_code": "ZZ", "mass": t(1)}]}, 400, "unknown_material_code", "R-K1",
     "conversion.inputs.0.material_code", "conversion.inputs.0.material_code 'ZZ' is not an RMS material ID code…"),
    ({"conversion.outputs": [{"material_code": "ZZ", "mass": t(1)}]}, 400, "unknown_material_code", "R-K1",
     "conversion.outputs.0.material_code",
     "conversion.outputs.0.material_code 'ZZ' is not an RMS material ID code…"),
])
def test_each_lot_refusal_names_its_field_rule_and_reason(driver, engine, case, status, code, rule, field, detail):
    """R-X1, R-X2: the problem names the field, the rule and the reason (``…``: the words go on), and
    nothing is written. An input received the day it is processed is accepted."""
    gen = driver.generator()
    other = driver.generator("Other Recycling")
    body = _one_tonne(gen)
    for key, value in case.items():
        if key.startswith("conversion."):
            body["conversion"][key.split(".")[1]] = value
        else:
            body[key] = value.format(other=other.certificate) if isinstance(value, str) else value
    before = snapshot(engine)
    problem = assert_problem(driver.post("/lots", body, gen.token), status, code)
    detail = detail.format(other=other.certificate, own=gen.certificate)
    if detail.endswith("…"):
        assert problem["detail"].startswith(detail[:-1]), problem
    else:
        assert problem["detail"] == detail, problem
    assert (problem.get("rule"), list(problem["errors"])) == (rule, [field]), problem
    assert snapshot(engine) == before


def test_an_input_received_the_day_it_is_processed_is_cited(driver, engine):
    gen = driver.generator()
    supplier = driver.generator("Supplier Recycling")
    lot = driver.ok("/lots", _one_tonne(gen, inputs=[_one_tonne_input(supplier_certificate=supplier.certificate,
                                                                       received_on="2026-02-01")]), gen.token)
    assert lot["inputs"] == [{"supplier_certificate": supplier.certificate, "reference": "X",
                              "material_code": "PC_P5.1.6", "mass_kg": "1000.000", "received_on": "2026-02-01"}]


def test_the_domain_reads_an_input_s_date_of_receipt_given_as_text(driver, engine, clock):
    """A domain caller (the demo, the CLI) may give ``received_on`` as an ISO date: it is read as one."""
    gen = driver.generator()
    ton = parse_mass({"value": "1", "unit": "t"})
    late = {"supplier_certificate": gen.certificate, "reference": "X", "material_code": "PC_P5.1.6", "mass": ton,
            "received_on": "2026-02-02"}
    with pytest.raises(InvalidInput) as refused:
        _as(engine, clock, gen.token, lots.register_lot, **_domain_lot(gen), inputs=[late])
    assert (refused.value.code, refused.value.field) == ("input_after_processing", "inputs.0.received_on")


def test_the_last_gram_of_a_lot_is_disposed_of_when_no_mass_is_given(driver, engine):
    """R-B3: no mass takes whatever is left, however little (here half a kilogram), and then nothing."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(4))
    driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", t("3.9995")), gen.token)
    sold = driver.ok(f"/lots/{lot['id']}/dispositions", _sale("2026-02-15", None), gen.token)
    assert sold["sold_kg"] == "4000.000"
    [_, rest] = _entries(engine, "lot.disposition")
    assert rest["payload"]["mass_kg"] == "0.500"

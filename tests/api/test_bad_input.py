"""R-X1, R-X2, R-X4 on every write endpoint: each class of bad input gets
problem+json naming the field and a stable code, and changes nothing — the
database and the log are compared row for row before and after."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pytest

from tests.api.driver import snapshot, t
from tests.api.test_errors_and_health import assert_problem


@dataclass
class World:
    """A generator with a sold lot, and another participant with its own."""

    driver: object
    gen: object
    other: object
    lot: dict
    other_lot: dict


@pytest.fixture
def world(driver):
    gen = driver.generator("Acme Recycling")
    other = driver.generator("Other Plastics")
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate)
    driver.sell(gen.token, lot["id"], t(5000))
    other_lot = driver.lot(other.token, other.facility_id, other.certificate)
    driver.sell(other.token, other_lot["id"], t(10000))
    return World(driver, gen, other, lot, other_lot)


@dataclass
class Endpoint:
    path: str
    token: str  # admin | certifier | member
    body: callable
    mass: tuple | None = None  # where a Mass sits in the body
    date: str | None = None  # a date field
    ref: str | None = None  # a field naming another object by id
    foreign: callable = None  # (world) -> body or path naming someone else's object
    # R-X4 (docs/decisions.md): the one answer, (status, code), to a ``ref`` or ``foreign`` object the
    # caller may not read or that does not exist -- the same for both, so it reveals nothing.
    hidden: tuple[int, str] | None = None
    missing_path: str | None = None  # the path naming an object that does not exist
    extra: dict = field(default_factory=dict)


def _lot_body(w):
    return {"facility_id": w.gen.facility_id, "reference": "LOT-NEW", "material_code": "PC_P3.1.9",
            "mass": t(5), "non_plastic_fraction": "0.01", "processed_on": "2026-02-01",
            "rms_certificate": w.gen.certificate,
            "conversion": {"inputs": [{"material_code": "PC_P5.1.6", "mass": t(6)}],
                           "transformation": "physical", "description": "extrusion", "factor": "83.333",
                           "justification": "yield study", "outputs": [{"material_code": "PC_P3.1.9",
                                                                         "mass": t(5)}]},
            "evidence": []}


ENDPOINTS = {
    "participants": Endpoint("/participants", "admin",
                             lambda w: {"name": "New Co", "country": "US", "gpp_signed_on": "2025-01-01"},
                             date="gpp_signed_on"),
    "member": Endpoint("/participants/{gen}/users", "admin", lambda w: {"email": "new@acme.example"}),
    "users": Endpoint("/users", "admin",
                      lambda w: {"email": "cb@nsf.example", "role": "certifier", "body_code": "NSF"}),
    "certificates": Endpoint("/rms-certificates", "certifier",
                             lambda w: {"participant_id": w.gen.id, "number": "RMS-NSF-77777",
                                        "issued_on": "2026-01-01", "expires_on": "2027-01-01",
                                        "activities": ["reprocessing"], "facility_scope": "single-site",
                                        "product_groups": ["PP"], "control_systems": ["mass-balance"]},
                             date="issued_on", ref="participant_id", hidden=(404, "participant_not_found")),
    "facilities": Endpoint("/facilities", "member",
                           lambda w: {"participant_id": w.gen.id, "name": "Plant 2", "address": "2 Mill Rd",
                                      "country": "US", "capacity": t(100)},
                           mass=("capacity",), ref="participant_id",
                           # a member may never register for another participant: 403 whatever the id
                           foreign=lambda w, b: {**b, "participant_id": w.other.id}, hidden=(403, "not_owner")),
    "lines": Endpoint("/facilities/{facility}/lines", "member",
                      lambda w: {"name": "Line A", "capacity": t(10)}, mass=("capacity",),
                      foreign=lambda w, b: ("/facilities/{other_facility}/lines", b),
                      hidden=(404, "facility_not_found"), missing_path="/facilities/987654/lines"),
    "determinations": Endpoint("/determinations", "certifier",
                               lambda w: {"facility_id": w.gen.facility_id, "certification_year": 2026,
                                          "mandate_share": "0",
                                          "class_b": [{"test": "financial", "passed": True,
                                                       "rationale": "no ARCs, no project"}],
                                          "newness": {"basis": "capacity", "invested_on": "2025-01-01",
                                                      "before": t(100), "after": t(120)}},
                               mass=("newness", "after"), ref="facility_id", hidden=(404, "facility_not_found")),
    "lots": Endpoint("/lots", "member", _lot_body, mass=("mass",), date="processed_on", ref="facility_id",
                     foreign=lambda w, b: {**b, "facility_id": w.other.facility_id},
                     hidden=(404, "facility_not_found")),
    "dispositions": Endpoint("/lots/{lot}/dispositions", "member",
                             lambda w: {"kind": "sale", "on": "2026-02-20", "counterparty": "Buyer",
                                        "mass": t(1)},
                             mass=("mass",), date="on",
                             foreign=lambda w, b: ("/lots/{other_lot}/dispositions", b),
                             hidden=(404, "lot_not_found"), missing_path="/lots/987654/dispositions"),
    "generations": Endpoint("/generations", "member", lambda w: {"lot_id": w.lot["id"], "mass": t(1)},
                            mass=("mass",), ref="lot_id",
                            foreign=lambda w, b: {**b, "lot_id": w.other_lot["id"]}, hidden=(404, "lot_not_found")),
    # Last: these two would stop the generator from generating.
    "revoke": Endpoint("/rms-certificates/{cert}/revoke", "certifier",
                       lambda w: {"on": "2026-03-01", "reason": "fraud"}, date="on"),
    "suspend": Endpoint("/participants/{gen}/suspend", "admin", lambda w: {"reason": "audit finding"}),
}


def _path(world: World, template: str) -> str:
    return template.format(gen=world.gen.id, cert=world.gen.certificate, facility=world.gen.facility_id,
                           lot=world.lot["id"], other_facility=world.other.facility_id,
                           other_lot=world.other_lot["id"])


def _token(world: World, role: str) -> str:
    return {"admin": world.driver.admin, "certifier": world.gen.certifier, "member": world.gen.token}[role]


def _send(world, name, body=None, raw=None, path=None):
    endpoint = ENDPOINTS[name]
    url = "/api/v1" + _path(world, path or endpoint.path)
    headers = {"Authorization": f"Bearer {_token(world, endpoint.token)}"}
    if raw is not None:
        return world.driver.client.post(url, data=raw, content_type="application/json", headers=headers)
    return world.driver.client.post(url, json=body, headers=headers)


def _set(body: dict, path: tuple, value) -> dict:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def _refused_without_change(world, engine, name, status, code=None, field=None, **send):
    before = snapshot(engine)
    response = _send(world, name, **send)
    body = assert_problem(response, status, code) if code else None
    if code is None:
        assert response.status_code == status, response.get_data(as_text=True)
        body = response.get_json()
    if field is not None:
        assert field in body.get("errors", {}), body
    assert snapshot(engine) == before, "a refused request changed the database or the log"
    return body


def test_every_endpoint_accepts_its_valid_body(world):
    """The baseline: without the mutation each body is accepted, so the
    refusals below are caused by the mutation alone."""
    for name, endpoint in ENDPOINTS.items():
        response = _send(world, name, endpoint.body(world))
        assert response.status_code in (200, 201), (name, response.get_data(as_text=True))


NAMES = list(ENDPOINTS)


@pytest.mark.parametrize("name", NAMES)
def test_malformed_json(world, engine, name):
    _refused_without_change(world, engine, name, 400, "malformed_json", raw=b'{"name": ')


@pytest.mark.parametrize("name", NAMES)
def test_unknown_field(world, engine, name):
    body = {**ENDPOINTS[name].body(world), "surprise": 1}
    _refused_without_change(world, engine, name, 400, "invalid_input", "surprise", body=body)


@pytest.mark.parametrize("name", NAMES)
def test_missing_field(world, engine, name):
    body = ENDPOINTS[name].body(world)
    first = next(iter(body))
    del body[first]
    _refused_without_change(world, engine, name, 400, "invalid_input", first, body=body)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_type(world, engine, name):
    body = ENDPOINTS[name].body(world)
    first = next(iter(body))
    body[first] = [{"not": "this"}]
    _refused_without_change(world, engine, name, 400, None, first, body=body)


MASS_NAMES = [n for n, e in ENDPOINTS.items() if e.mass]


@pytest.mark.parametrize("name", MASS_NAMES)
@pytest.mark.parametrize(("value", "code"), [("-1", "must_be_positive"), ("0", "must_be_positive"),
                                             ("1.0001", "too_many_decimals"), ("lots", "invalid_number"),
                                             (True, "invalid_number")])
def test_bad_quantity(world, engine, name, value, code):
    endpoint = ENDPOINTS[name]
    body = _set(endpoint.body(world), endpoint.mass, {"value": value, "unit": "kg"})
    _refused_without_change(world, engine, name, 400, code, endpoint.mass[0], body=body)


@pytest.mark.parametrize("name", MASS_NAMES)
def test_unknown_unit(world, engine, name):
    endpoint = ENDPOINTS[name]
    body = _set(endpoint.body(world), endpoint.mass, {"value": "1", "unit": "stone"})
    _refused_without_change(world, engine, name, 400, "invalid_unit", endpoint.mass[0], body=body)


DATE_NAMES = [n for n, e in ENDPOINTS.items() if e.date]


@pytest.mark.parametrize("name", DATE_NAMES)
@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "yesterday", 20260101])
def test_impossible_date(world, engine, name, value):
    endpoint = ENDPOINTS[name]
    body = {**endpoint.body(world), endpoint.date: value}
    _refused_without_change(world, engine, name, 400, "invalid_input", endpoint.date, body=body)


def _hidden(world, engine, name, body, path=None) -> dict:
    """The request is refused with the endpoint's one R-X4 answer, and nothing changes."""
    status, code = ENDPOINTS[name].hidden
    before = snapshot(engine)
    problem = assert_problem(_send(world, name, body=body, path=path), status, code)
    assert snapshot(engine) == before
    return problem


def _same_answer(a: dict, b: dict) -> None:
    """R-X4: nothing but the id the caller sent tells the two answers apart (not the
    status, code, rule, title or fields named)."""
    keys = ("status", "code", "rule", "title", "type")
    assert {k: a.get(k) for k in keys} == {k: b.get(k) for k in keys}, (a, b)
    assert set(a.get("errors") or {}) == set(b.get("errors") or {}), (a, b)


REF_NAMES = [n for n, e in ENDPOINTS.items() if e.ref]


@pytest.mark.parametrize("name", REF_NAMES)
def test_unknown_id(world, engine, name):
    endpoint = ENDPOINTS[name]
    _hidden(world, engine, name, {**endpoint.body(world), endpoint.ref: 987654})


FOREIGN_NAMES = [n for n, e in ENDPOINTS.items() if e.foreign]


@pytest.mark.parametrize("name", FOREIGN_NAMES)
def test_someone_elses_object(world, engine, name):
    """R-P4, R-X4: a member cannot act on another participant's objects, and the
    refusal is exactly that of an object that does not exist."""
    endpoint = ENDPOINTS[name]
    changed = endpoint.foreign(world, endpoint.body(world))
    path, body = changed if isinstance(changed, tuple) else (None, changed)
    foreign = _hidden(world, engine, name, body, path)
    if endpoint.missing_path:
        missing = _hidden(world, engine, name, body, endpoint.missing_path)
    else:
        missing = _hidden(world, engine, name, {**body, endpoint.ref: 987654})
    _same_answer(foreign, missing)


@pytest.mark.parametrize("name", NAMES)
def test_no_token(world, engine, name):
    before = snapshot(engine)
    url = "/api/v1" + _path(world, ENDPOINTS[name].path)
    response = world.driver.client.post(url, json=ENDPOINTS[name].body(world))
    assert_problem(response, 401, "missing_token")
    assert snapshot(engine) == before


def test_unknown_material_code_lists_valid_ones(world, engine):
    body = {**_lot_body(world), "material_code": "PC_P9.9.9"}
    problem = _refused_without_change(world, engine, "lots", 400, "unknown_material_code",
                                      "material_code", body=body)
    assert "PC_P3.1.9" in problem["detail"]




# --- R-X9: never a 500 for bad input (issue 16, finding 8) -------------------------------------------------
# Each was a 500 before (on PostgreSQL for the NUL bytes and the id range; on both for the rest).

NUL_READS = ["/api/v1/blocks/abc%00def", "/api/v1/blocks/abc%00def/provenance", "/certificates?serial=a%00b",
             "/api/v1/retirements?beneficiary=a%00b", "/retirements?beneficiary=a%00b", "/certificates/a%00b",
             "/api/v1/lots?reference=%00"]


@pytest.mark.parametrize("url", NUL_READS)
def test_nul_in_a_path_or_query_is_400_anonymous(world, engine, url):
    before = snapshot(engine)
    problem = assert_problem(world.driver.client.get(url), 400, "nul_character")
    assert list(problem["errors"])[0] in ("path", "query.serial", "query.beneficiary", "query.reference")
    assert snapshot(engine) == before


@pytest.mark.parametrize("name", ["participants", "facilities", "lots"])
def test_nul_in_a_body_string(world, engine, name):
    body = ENDPOINTS[name].body(world)
    key = "reference" if name == "lots" else "name"
    _refused_without_change(world, engine, name, 400, "nul_character", "body", body={**body, key: "a\u0000b"})


@pytest.mark.parametrize("name", NAMES)
def test_json_nested_100_000_deep(world, engine, name):
    _refused_without_change(world, engine, name, 400, "json_too_deep", "body", raw="[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("name", ["participants", "lots", "generations"])
def test_json_nested_just_past_the_limit(world, engine, name):
    # Parses, but deeper than any body: refused before a schema or the log's canonical JSON recurses.
    deep = {"x": 1}
    for _ in range(40):
        deep = {"x": deep}
    _refused_without_change(world, engine, name, 400, "json_too_deep", "body", body={**ENDPOINTS[name].body(world),
                                                                                    "evidence": [deep]})


@pytest.mark.parametrize("name", NAMES)
def test_an_integer_of_more_than_4300_digits(world, engine, name):
    raw = '{"n": ' + "9" * 4301 + "}"
    _refused_without_change(world, engine, name, 400, "number_too_long", "body", raw=raw)


ID_RANGE = "1 to 2147483647 (the id columns are 32-bit integers)"


@pytest.mark.parametrize("value", [2**31, 2**62, 2**63, 10**30])
def test_a_path_id_beyond_the_column_range(world, engine, value):
    """The finding: participant id 2^62 was refused naming 2^63-1 while the column is 32-bit."""
    before = snapshot(engine)
    response = world.driver.client.post(f"/api/v1/participants/{value}/users", json={"email": "x@acme.example"},
                                        headers={"Authorization": f"Bearer {world.driver.admin}"})
    problem = assert_problem(response, 400, "id_out_of_range")
    assert ID_RANGE in problem["detail"] and "9223372036854775807" not in problem["detail"]
    assert problem["errors"] == {"path.participant_id": [problem["detail"]]}
    for url in (f"/api/v1/lots/{value}", f"/api/v1/participants/{value}", f"/retirements/{value}"):
        assert_problem(world.driver.client.get(url, headers={"Authorization": f"Bearer {world.driver.admin}"}),
                       400, "id_out_of_range")
    assert snapshot(engine) == before


@pytest.mark.parametrize("name", REF_NAMES)
@pytest.mark.parametrize("value", [2**31, 2**62])
def test_a_body_id_beyond_the_column_range(world, engine, name, value):
    endpoint = ENDPOINTS[name]
    problem = _refused_without_change(world, engine, name, 400, "id_out_of_range", endpoint.ref,
                                      body={**endpoint.body(world), endpoint.ref: value})
    assert ID_RANGE in problem["errors"][endpoint.ref][0]


def test_the_largest_id_is_an_ordinary_unknown_id(world, engine):
    response = world.driver.client.get(f"/api/v1/participants/{2**31 - 1}",
                                       headers={"Authorization": f"Bearer {world.driver.admin}"})
    assert_problem(response, 404, "participant_not_found")


def test_an_exhausted_serial_space_is_422(world, engine):
    """R-G2 serials have 12 digits of 0.001 certificate per generator and year; when
    they run out, a generation is refused by rule, never a 500."""
    from sqlalchemy import text

    endpoint = ENDPOINTS["generations"]
    assert _send(world, "generations", endpoint.body(world)).status_code == 201  # the year's counter exists
    with engine.begin() as connection:  # a registry that has issued almost 10^9 certificates this year
        connection.execute(text("UPDATE serial_counter SET next_unit = :n WHERE generator_id = :g"),
                           {"n": 10**12 - 10, "g": world.gen.id})
    problem = _refused_without_change(world, engine, "generations", 422, "serial_space_exhausted", "mass",
                                      body=endpoint.body(world))
    assert problem["rule"] == "R-G2" and "10 serial units" in problem["detail"]


# Concurrent duplicates of a unique field: one 201, the others 409 with the
# code of the sequential duplicate. On PostgreSQL the race is made certain,
# not hoped for: a test connection holds a lock that lets the requests read
# (each finds no duplicate) but not insert, until all of them wait on it.
DUPLICATES = {"users": ("app_user", "email_taken", "email"), "member": ("app_user", "email_taken", "email"),
              "certificates": ("rms_certificate", "certificate_exists", "number")}
RACERS = 3


@pytest.mark.parametrize("name", list(DUPLICATES))
def test_concurrent_duplicates_are_409(world, engine, backend, name):
    from sqlalchemy import text

    from tests.threads import Problems, Worker, finish, wait_until

    table, code, field_name = DUPLICATES[name]
    body = ENDPOINTS[name].body(world)
    app = world.driver.client.application
    answers: list = []
    problems = Problems()

    def post():
        client = app.test_client()
        response = client.post("/api/v1" + _path(world, ENDPOINTS[name].path), json=body,
                               headers={"Authorization": f"Bearer {_token(world, ENDPOINTS[name].token)}"})
        answers.append((response.status_code, response.get_json(force=True)))

    workers = [Worker(post, name=f"racer-{i}") for i in range(RACERS)]
    if backend == "postgresql":
        with engine.connect() as locker:
            locker.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            for worker in workers:
                worker.start()
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")

            def all_waiting() -> bool:
                with engine.connect() as probe:
                    return probe.execute(waiting).scalar() >= RACERS

            wait_until(all_waiting, timeout=30, what=f"{RACERS} requests waiting to insert", workers=workers,
                       problems=problems)
            locker.commit()  # releases the lock: the inserts race
    else:
        for worker in workers:
            worker.start()
    finish(workers, timeout=60, problems=problems)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (RACERS - 1), answers
    for status, problem in answers:
        if status == 409:
            assert problem["code"] == code and field_name in problem["errors"], problem
    with engine.connect() as connection:
        column = "email" if table == "app_user" else "number"
        assert connection.execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :v"),
                                  {"v": body[column]}).scalar() == 1

"""Deep lineages (R-X6, R-L6): the provenance proof comes in pages joined by
``next``, every page against one checkpoint, and the joined pages verify
offline with ``arcreg verify-proof``; expensive reads are rate limited per
client address (429 problem+json)."""

from __future__ import annotations

import json
import subprocess

from api import create_app
from chainlog.keys import parse_vkey
from chainlog.provenance import join_pages, verify_provenance
from registry.config import Config
from registry.provenance import PAGE_LIMIT
from tests.api.lineage import long_lineage
from tests.api.test_errors_and_health import assert_problem
from tests.serverproc import ARCREG, clean_env


def _pages(driver, serial: str, limit: int, between=None) -> list[dict]:
    pages, query = [], f"limit={limit}"
    while True:
        response = driver.get(f"/blocks/{serial}/provenance?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        pages.append(response.get_json())
        if pages[-1]["next"] is None:
            return pages
        if between is not None:
            between()
        nxt = pages[-1]["next"]
        query = f"limit={limit}&from_index={nxt['from_index']}&size={nxt['size']}"


def test_pages_join_into_the_full_lineage_and_verify_with_the_cli(driver, tmp_path):
    h = long_lineage(driver, 12)
    vkey = driver.get("/log/key").get_json()["vkey"]
    whole = driver.get(f"/blocks/{h['serial']}/provenance").get_json()
    assert whole["next"] is None and len(whole["entries"]) == 12 + 2  # lot, generation, 12 transfers

    # A write between pages: the log grows, the pages stay proven against the first page's checkpoint.
    extra = driver.participant("Brand B")["id"]
    written = []

    def write_once():
        if not written:
            written.append(driver.ok("/transfers", {"serial": h["serial"], "quantity": "0.001",
                                                    "to_participant_id": extra}, h["gen"].token))

    pages = _pages(driver, h["serial"], 5, between=write_once)
    assert written
    assert [len(p["entries"]) for p in pages] == [5, 5, 4]
    assert len({p["checkpoint"] for p in pages}) == 1
    joined = join_pages(list(reversed(pages)))
    assert [e["index"] for e in joined["entries"]] == [e["index"] for e in whole["entries"]]
    assert [e["canonical"] for e in joined["entries"]] == [e["canonical"] for e in whole["entries"]]
    report = verify_provenance(joined, [parse_vkey(vkey)], serial=h["serial"])
    # The state as of the first page's checkpoint: active (the write between pages split it later).
    assert report.entries == 14 and report.state == "active"

    # The explorer's proof file continues the same way (default page size: the rest of the lineage).
    nxt = pages[0]["next"]
    rest = driver.client.get(f"/certificates/{h['serial']}/proof.json?from_index={nxt['from_index']}&size={nxt['size']}")
    assert rest.status_code == 200
    assert rest.get_json()["entries"] == join_pages(list(reversed(pages[1:])))["entries"]

    files = []
    for n, page in enumerate(pages):
        files.append(tmp_path / f"page{n}.json")
        files[-1].write_text(json.dumps(page))
    result = subprocess.run([ARCREG, "verify-proof", *map(str, files), "--vkey", vkey], cwd=tmp_path,
                            env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "14 entries" in result.stdout
    # A missing page breaks the lineage: exit 1, INVALID (a link or a split that does not connect).
    result = subprocess.run([ARCREG, "verify-proof", str(files[0]), str(files[2]), "--vkey", vkey], cwd=tmp_path,
                            env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.startswith("INVALID: "), result.stderr


def test_page_limits_and_continuations_are_checked(driver):
    h = long_lineage(driver, 3)
    base = f"/blocks/{h['serial']}/provenance"
    assert_problem(driver.get(f"{base}?limit=0"), 400, "invalid_input")
    assert_problem(driver.get(f"{base}?limit={PAGE_LIMIT + 1}"), 400, "invalid_input")
    first = driver.get(f"{base}?limit=2").get_json()
    nxt = first["next"]
    assert nxt is not None
    # A continuation needs the stored checkpoint it is proven against.
    assert_problem(driver.get(f"{base}?from_index={nxt['from_index']}"), 400, "invalid_range")
    assert_problem(driver.get(f"{base}?from_index={nxt['from_index']}&size={nxt['size'] + 1000}"), 400,
                   "invalid_range")


def test_provenance_reads_beyond_the_limit_are_429(engine, db_url, clock, tmp_path, driver):
    h = long_lineage(driver, 2)
    config = Config(database_url=db_url, signing_key_file=tmp_path / "key.pem", rate_limit="100000/minute",
                    read_rate_limit="3/minute")
    client = create_app(config, clock=clock, engine=engine).test_client()
    path = f"/api/v1/blocks/{h['serial']}/provenance"
    for _ in range(3):
        assert client.get(path).status_code == 200
    refused = client.get(path)
    body = assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61 and body["retry_after"] == int(refused.headers["Retry-After"])
    # A token does not buy more: expensive reads count per address.
    assert client.get(path, headers={"Authorization": f"Bearer {h['gen'].token}"}).status_code == 429
    # The explorer's lineage page and proof file share the budget.
    assert client.get(f"/certificates/{h['serial']}/proof.json").status_code == 429
    # Cheap reads and writes are not counted against it.
    assert client.get(f"/api/v1/blocks/{h['serial']}").status_code == 200
    assert client.get("/api/v1/log/checkpoint").status_code == 200
    moved = client.post("/api/v1/transfers", json={"serial": h["serial"], "quantity": "0.001",
                                                   "to_participant_id": h["buyer"]},
                        headers={"Authorization": f"Bearer {h['gen'].token}"})
    assert moved.status_code == 201, moved.get_data(as_text=True)
    # Another address has its own budget.
    assert client.get(path, environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code == 200

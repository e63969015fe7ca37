"""The explorer in headless Chromium against a real `arcreg serve`: look up a
serial, follow its lineage, verify its proof in the page (and see a tampered
proof fail), open a retirement statement and download its proof bundle, and
check every page with axe-core (SPEC §1, R-R2, R-L6)."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from tests.browser.demoserver import DEMO_YEAR, RETIRED
from tests.browser.signin import sign_in
from tests.serverproc import ARCREG, call, clean_env

# The served demo pins its clock, but the server, its daily jobs and Chromium run on the real one.
pytestmark = [pytest.mark.slow, pytest.mark.wallclock]

PARENT = f"PC_P_PP_ARC-{DEMO_YEAR}-1-000000000001-000000100000"
CUSTODY = f"PC_P_PP_ARC-{DEMO_YEAR}-1-000000150001-000000250000"  # drawn on Great Lakes' custody account
VERDICT = "#verify-result[data-state=pass], #verify-result[data-state=fail], #verify-result[data-state=unsupported]"


def _verify(page) -> tuple[str, str]:
    page.click("#verify-button")
    result = page.wait_for_selector(VERDICT)
    return result.get_attribute("data-state"), result.inner_text()


def test_look_up_a_serial_follow_its_lineage_and_verify(page, server):
    base = server.base
    page.goto(f"{base}/")
    page.fill("#serial", f"PC_P_PP_ARC-{DEMO_YEAR}-1-000000000007")  # one unit inside the retired block's range
    page.click("form.lookup button[type=submit]")
    page.wait_for_url(f"{base}/certificates/{RETIRED}")
    assert RETIRED in page.inner_text("h1")
    steps = page.locator("ol.timeline > li h3").all_inner_texts()
    assert steps == ["Base material lot registered", "Certificates generated", "Transferred", "Transferred",
                     "Retired"]
    # Follow the lineage one step up: the block the second transfer split.
    page.locator("ol.timeline > li").nth(3).get_by_role("link", name=PARENT).first.click()
    page.wait_for_url(f"{base}/certificates/{PARENT}")
    assert "Split" in page.inner_text("main")
    assert page.locator("ol.timeline > li").count() == 4
    page.go_back()
    page.wait_for_url(f"{base}/certificates/{RETIRED}")
    state, text = _verify(page)
    assert state == "pass", text
    assert "Ed25519 by WebCrypto" in text and "Entry #24 (block.retired) is included" in text


def test_a_tampered_bundle_fails_verification_in_the_page(page, server):
    base = server.base

    def tamper(route):
        proof = route.fetch().json()
        canonical = proof["entries"][1]["canonical"]
        at = canonical.index('"quantity":"') + len('"quantity":"')
        digit = canonical[at]
        proof["entries"][1]["canonical"] = canonical[:at] + ("2" if digit != "2" else "3") + canonical[at + 1:]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(proof))

    page.route("**/proof.json", tamper)
    page.goto(f"{base}/certificates/{RETIRED}")
    state, text = _verify(page)
    assert state == "fail", text
    assert "is not included in the signed checkpoint" in text


def test_a_bad_checkpoint_signature_fails_verification_in_the_page(page, server):
    """One bit of the registry's Ed25519 signature flipped: the WebCrypto check must refuse it."""
    base = server.base

    def tamper(route):
        proof = route.fetch().json()
        text, _, block = proof["checkpoint"].rpartition("\n\n")
        name, blob = block.strip().split("\n")[0][2:].split(" ")
        raw = bytearray(base64.b64decode(blob))
        raw[-1] ^= 0x01
        proof["checkpoint"] = f"{text}\n\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
        route.fulfill(status=200, content_type="application/json", body=json.dumps(proof))

    page.route("**/proof.json", tamper)
    page.goto(f"{base}/retirements/1")
    state, text = _verify(page)
    assert state == "fail", text
    assert "signature does not verify" in text


def test_open_a_retirement_statement_and_download_its_proof(page, server, tmp_path):
    base = server.base
    page.goto(f"{base}/retirements")
    page.get_by_role("link", name="#1").click()
    page.wait_for_url(f"{base}/retirements/1")
    # R-R8: the headline is generated from the data, never the beneficiary's text.
    assert page.inner_text("h1") == f"40 PC PP ARCs retired for Northwind Packaging, reporting year {DEMO_YEAR}"
    main = page.inner_text("main")
    for expected in ("Beneficiary", "Serial range", RETIRED, "Base material lot", f"GL-{DEMO_YEAR}-PP-001",
                     "Retirement date", "Chain-log proof", "Log entry"):
        assert expected in main, expected
    assert page.get_by_role("button", name="Print this statement").is_visible()  # shown by the script
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the proof bundle (JSON)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "retirement-1-proof.json"
    vkey = call("GET", f"{base}/api/v1/log/key")[1]["vkey"]
    run = subprocess.run([ARCREG, "verify-proof", str(path), "--vkey", vkey], env=clean_env(),
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    state, text = _verify(page)
    assert state == "pass", text


def test_pages_read_without_javascript(browser, server):
    base = server.base
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{base}/certificates?serial={RETIRED}")
        assert "Retired" in page.inner_text("ol.timeline")
        assert page.locator("noscript").count() == 1
        page.goto(f"{base}/retirements?year={DEMO_YEAR}&arc_type=PP")
        assert "Northwind Packaging" in page.inner_text("table")
    finally:
        context.close()


def _axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in violations if v["impact"] in ("serious", "critical")]


PAGES = ["/", "/certificates", f"/certificates/{RETIRED}", "/retirements", "/retirements/1", "/participants"]


def test_no_serious_accessibility_violations(page, server):
    """axe-core in the page (contrast, labels, landmarks, names) at desktop and phone width.
    The workspace's own pages are checked in test_workspace_browser.py."""
    base = server.base
    problems = {}
    sign_in(page, base, server.logins["administrator"], then="/admin")
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in [*PAGES, "/admin"]:
            page.goto(f"{base}{path}")
            if path == f"/certificates/{RETIRED}":
                _verify(page)  # the result panel too
            problems[(width, path)] = _axe_problems(page)
    assert {k: v for k, v in problems.items() if v} == {}


def test_admin_signs_in_and_activates_a_participant(page, server):
    base = server.base
    page.goto(f"{base}/admin")
    page.wait_for_url(f"{base}/workspace/sign-in?next=/admin")
    page.fill("#email", server.logins["administrator"].email)
    page.fill("#password", "not the password")
    page.click("form.login button")
    assert "The email address or the password is not right." in page.inner_text("main")
    sign_in(page, base, server.logins["administrator"], then="/admin")
    main = page.inner_text("main")
    assert "Integrity" in main and "auditor.example/witness" in main
    page.get_by_role("button", name="Activate Harbor Films").click()
    assert "is now active" in page.inner_text("main")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/workspace/sign-in?notice=signed_out")
    page.goto(f"{base}/admin")
    page.wait_for_url(f"{base}/workspace/sign-in?next=/admin")


# A browser without WebCrypto Ed25519: the page falls back to the vendored @noble/ed25519.
NO_WEBCRYPTO_ED25519 = """
const importKey = crypto.subtle.importKey.bind(crypto.subtle);
crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
  (algorithm === "Ed25519" || (algorithm && algorithm.name === "Ed25519"))
    ? Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError"))
    : importKey(format, key, algorithm, ...rest);
"""


def test_verification_falls_back_to_the_vendored_library(page, server):
    base = server.base
    page.add_init_script(NO_WEBCRYPTO_ED25519)
    page.goto(f"{base}/retirements/1")
    state, text = _verify(page)
    assert state == "pass", text
    assert "Ed25519 by @noble/ed25519" in text
    # …and the fallback refuses a bad signature as WebCrypto does.
    test_a_bad_checkpoint_signature_fails_verification_in_the_page(page, server)


def test_a_custody_certificate_shows_and_verifies_its_supplier_receipts(page, server):
    """R-M6, issue 17: the chain from supplier receipt to certificate, on the page and in the proof."""
    base = server.base
    page.goto(f"{base}/certificates/{CUSTODY}")
    inputs = page.locator("li[data-input]").all_inner_texts()
    assert len(inputs) == 2 and all("received from Midwest Sorting" in i and "RMS-NSF-00418" in i for i in inputs)
    state, text = _verify(page)
    assert state == "pass", text
    assert "Input receipt MWS-4471 from Midwest Sorting" in text and "Input receipt MWS-4472" in text

    def without_receipts(route):
        proof = route.fetch().json()
        proof.pop("upstream")
        route.fulfill(status=200, content_type="application/json", body=json.dumps(proof))

    page.route("**/proof.json", without_receipts)
    page.reload()
    state, text = _verify(page)
    assert state == "fail" and "the bundle does not hold it" in text, text

"""Honest claims (R-R8; RMS 8.8–8.9, §9, Example 8.3), on SQLite and PostgreSQL.

The audit's reproduction: a product claim retiring PP ARCs with the statement
"This bottle is made with 100% post-consumer recycled PE. RMS certified label."
was published as written, as if the registry said it. Now the registry's own
words — the headline and the notice that ARCs are credits, not content — are
generated from the data, the beneficiary's text is labelled as its own, a
product claim may record its label approval reference and claimed status
(never above the certificates'), and a claim date more than one year after
the retirement is refused.
"""

from __future__ import annotations

import pytest

from registry import statements
from tests.api.driver import t
from tests.api.test_retirements import _body, _holding, _product, _refused, _retire
from tests.pages.htmlcheck import text_of

MISLEADING = "This bottle is made with 100% post-consumer recycled PE. RMS certified label."


def test_the_statement_is_the_beneficiarys_words_and_the_headline_is_the_datas(driver, client):
    gen = driver.generator()
    block = _holding(driver, gen, "PC_P3.1.9")  # PP
    done = _retire(driver, gen.token, block["serial"], "4", claim_type="product", statement=MISLEADING,
                   basis_mass=t(16), product=_product(("PP", t(16)), name="Bottle 1L"),
                   claimed_status="PC", label_approval_ref="LA-2026-0042")
    assert done["headline"] == ("4 PC PP ARCs retired for Brand Co, reporting year 2026, "
                                "equivalent to 25% of 16 t of Bottle 1L")
    assert done["notice"] == statements.CREDITS_NOT_CONTENT
    assert (done["statement"], done["claimed_status"], done["label_approval_ref"]) == (
        MISLEADING, "PC", "LA-2026-0042")
    record = driver.get(f"/retirements/{done['id']}").get_json()
    assert record["headline"] == done["headline"] and record["label_approval_ref"] == "LA-2026-0042"

    page = client.get(f"/retirements/{done['id']}").get_data(as_text=True)
    text = text_of(page)
    heading = text[text.index("Retirement statement #"):]
    # The page's headline is the generated one, never the free text.
    assert heading.split("Retired on")[0].strip().endswith(done["headline"])
    assert statements.CREDITS_NOT_CONTENT in text
    assert f"In Brand Co's own words (not checked by the registry): {MISLEADING}" in text
    assert "Recycled status claimed PC" in text and "Label approval reference LA-2026-0042" in text


def test_general_claim_headline_has_no_basis_sentence(driver):
    gen = driver.generator()
    block = _holding(driver, gen)
    done = _retire(driver, gen.token, block["serial"], "2.5", beneficiary="Northwind Packaging")
    assert done["headline"] == "2.5 PC PP ARCs retired for Northwind Packaging, reporting year 2026"


def test_a_claimed_status_above_the_certificates_is_refused(driver, engine):
    """RMS 5.1.2.3: PI certificates cannot back a PC claim; PC may back a PI claim."""
    gen = driver.generator()
    pi = _holding(driver, gen, "PI_P3.1.9")
    assert pi["arc_code"] == "PI_P_PP_ARC"
    product = _product(("PP", t(10)))
    _refused(driver, engine, gen.token,
             _body(pi["serial"], "1", claim_type="product", product=product, claimed_status="PC"),
             422, "claimed_status_too_high")
    assert _retire(driver, gen.token, pi["serial"], "1", claim_type="product", product=product,
                   claimed_status="PI")["claimed_status"] == "PI"
    pc = _holding(driver, gen, "PC_P3.1.9")
    assert _retire(driver, gen.token, pc["serial"], "1", claim_type="product", beneficiary="Other",
                   product=product, claimed_status="PI")["claimed_status"] == "PI"


@pytest.mark.parametrize("field,value,status,code", [
    ("claimed_status", "PC", 400, "product_claim_only"),  # a general claim states no product status
    ("label_approval_ref", "LA-1", 400, "product_claim_only"),
    ("claimed_status", "XX", 400, "invalid_recycled_status"),
])
def test_product_claim_details_on_a_general_claim_or_bad_are_refused(driver, engine, field, value, status, code):
    gen = driver.generator()
    serial = _holding(driver, gen)["serial"]
    problem = _refused(driver, engine, gen.token, _body(serial, "1", **{field: value}), status, code)
    assert field in problem.get("errors", {}) or problem.get("field") == field or field in problem["detail"]


def test_a_label_reference_with_invisible_characters_is_refused(driver, engine):
    gen = driver.generator()
    serial = _holding(driver, gen)["serial"]
    _refused(driver, engine, gen.token,
             _body(serial, "1", claim_type="product", product=_product(("PP", t(10))),
                   label_approval_ref="LA\u200b-1"), 400, "name_not_allowed")


def test_a_claim_date_more_than_one_year_after_retirement_is_refused(driver, engine):
    """R-R8: retired on 2026-03-02 (the pinned clock), the last claim date is 2027-03-02."""
    gen = driver.generator()
    serial = _holding(driver, gen)["serial"]
    for late in ("2027-03-03", "2099-01-01"):
        _refused(driver, engine, gen.token, _body(serial, "1", claim_date=late), 422, "claim_date_too_late")
    assert _retire(driver, gen.token, serial, "1", claim_date="2027-03-02")["claim_date"] == "2027-03-02"


def test_statement_and_certificate_pages_name_the_facility_and_certificate_status(driver, client):
    """R-R8, issue 20 item 6: a buyer sees which facility processed the lot and how its RMS certificate
    stood on the processing day and stands today."""
    gen = driver.generator()
    block = _holding(driver, gen)
    done = _retire(driver, gen.token, block["serial"], "1")
    for path in (f"/retirements/{done['id']}", f"/certificates/{done['block']['serial']}"):
        text = text_of(client.get(path).get_data(as_text=True))
        assert "Processing facility" in text and f"RMS certificate {gen.certificate}" in text
        assert "(processing) Valid" in text and "Certificate today Valid" in text

"""Honest claims (R-R8; RMS 8.8–8.9, §9, Example 8.3).

A retirement statement is read by buyers, consumers and auditors who never
saw the registry's data. What it says in the registry's voice is therefore
generated from the data — the headline and the notice that ARCs are
credits, not content — and whatever the beneficiary wrote is shown apart,
labelled as its own words. A product claim may also record the label
approval reference (RMS 8.8.1, 9.1.1) and the recycled status it claims,
which may never be higher than the retired certificates' status
(RMS 5.1.2.3).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from registry.calendar import one_year_after
from registry.classification import RecycledStatus, may_downgrade, parse_status
from registry.errors import InvalidInput, RuleViolation
from registry.names import check_name

# R-R8: shown on every statement, in the API's `notice` and on the page.
CREDITS_NOT_CONTENT = (
    "ARCs are credits for recycled material that a certified reprocessor processed; "
    "they are not a measure of the recycled content physically in any product."
)

LABEL_REFERENCE_MAX = 100


def status_of(arc_code: str) -> RecycledStatus:
    """The recycled status an ARC ID code carries (``PC_P_PP_ARC`` → PC, R-K3)."""
    return RecycledStatus(arc_code.split("_", 1)[0])


def _number(value: Decimal) -> str:
    """A quantity or a mass for a sentence: thousands separated, no
    trailing zeros after the decimal point (40000.000 → "40,000")."""
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text


def headline(*, quantity: Decimal, arc_code: str, arc_type: str, beneficiary: str, reporting_year: int,
             claim_share: Decimal | None = None, basis_kg: Decimal | None = None,
             product_name: str | None = None) -> str:
    """R-R8: the statement's headline, generated from the data only:
    "N PC PP ARCs retired for Beneficiary, reporting year Y", and with a
    basis mass ", equivalent to S% of M t of <product>"."""
    text = (f"{_number(quantity)} {status_of(arc_code).value} {arc_type} ARCs retired for {beneficiary}, "
            f"reporting year {reporting_year}")
    if claim_share is not None and basis_kg is not None:
        share = _number((claim_share * 100).quantize(Decimal("0.01")))
        of = f" of {product_name}" if product_name else ""
        text += f", equivalent to {share}% of {_number(basis_kg / 1000)} t{of}"
    return text


def headline_of(retirement: Any) -> str:
    """The headline of a stored retirement record."""
    product = retirement.product or {}
    return headline(quantity=retirement.quantity, arc_code=retirement.arc_code, arc_type=retirement.arc_type,
                    beneficiary=retirement.beneficiary, reporting_year=retirement.reporting_year,
                    claim_share=retirement.claim_share, basis_kg=retirement.basis_kg,
                    product_name=product.get("name"))


def check_claim_date_within_year(claim_date: date | None, retired_on: date) -> None:
    """R-R8: a claim date more than one year after the retirement date is
    refused (calendar arithmetic, as R-G1's one-year rule: retired on
    2024-02-29 → last claim date 2025-02-28)."""
    if claim_date is not None and claim_date > one_year_after(retired_on):
        raise RuleViolation(
            f"the claim date {claim_date} is more than one year after the retirement date {retired_on}; "
            f"the last claim date is {one_year_after(retired_on)}",
            field="claim_date", code="claim_date_too_late", rule="R-R8")


def product_claim_details(*, claim_type: str, claimed_status: str | None,
                          label_approval_ref: str | None) -> tuple[RecycledStatus | None, str | None]:
    """R-R8: the recycled status a product claim states and its label
    approval reference (RMS 8.8.1, 9.1.1), parsed; both belong to product
    claims only."""
    status = None if claimed_status is None else parse_status(claimed_status, field="claimed_status")
    reference = None
    if label_approval_ref is not None:
        reference = check_name("label_approval_ref", label_approval_ref.strip())
        if not 1 <= len(reference) <= LABEL_REFERENCE_MAX:
            raise InvalidInput(f"label_approval_ref is 1 to {LABEL_REFERENCE_MAX} characters",
                               field="label_approval_ref", code="invalid_label_reference", rule="R-R8")
    if claim_type != "product":
        for field, value in (("claimed_status", status), ("label_approval_ref", reference)):
            if value is not None:
                raise InvalidInput(f"{field} belongs to a product claim; use claim_type 'product'",
                                   field=field, code="product_claim_only", rule="R-R8")
    return status, reference


def check_claimed_status(status: RecycledStatus | None, arc_code: str) -> None:
    """R-R8: the claimed status is the certificates' own or a lesser one
    (RMS 5.1.2.3: PC certificates may back a PI claim, never the reverse)."""
    if status is not None and not may_downgrade(status_of(arc_code), status):
        raise RuleViolation(
            f"{status_of(arc_code).value} certificates cannot back a {status.value} claim: "
            "a claim may state the certificates' recycled status or a lesser one (RMS 5.1.2.3)",
            field="claimed_status", code="claimed_status_too_high", rule="R-R8")

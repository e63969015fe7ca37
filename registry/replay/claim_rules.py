"""Replay re-checks a retirement's claim dates and product-claim details
(R-L7c, R-R3, R-R4, R-R8) with the services' own functions, at the entry's
retirement date: a claim dated before the retirement or more than a year
after it, a claimed status above the certificates', a product claim naming
no product or a general claim naming one, product-claim details on a general
claim, or a location or claim period R-R6 refuses are findings
at that entry. Amendments are re-checked by `registry.replay.amendments`."""

from __future__ import annotations

from datetime import date

from registry import claim_details, claims, statements


def check(kind: str, p: dict) -> None:
    """Called for every entry after it has been applied (inside ``State.note``)."""
    if kind != "block.retired":
        return
    claim = p["claim"]
    retired_on = date.fromisoformat(p["retired_on"])
    claim_date = date.fromisoformat(claim["claim_date"]) if claim.get("claim_date") else None
    claims.check_product_named(claim["type"], claim.get("product") is not None)  # R-R3
    claims.check_claim_date(claim_date, retired_on)  # R-R4
    statements.check_claim_date_within_year(claim_date, retired_on)  # R-R8
    status, _ = statements.product_claim_details(
        claim_type=claim["type"], claimed_status=claim.get("claimed_status"),
        label_approval_ref=claim.get("label_approval_ref"))
    statements.check_claimed_status(status, p["retired"]["arc_code"])  # R-R8
    claim_details.parse_location(claim.get("location"), "claim.location")  # R-R6
    claim_details.parse_period(claim.get("period"), "claim.period")

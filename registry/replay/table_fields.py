"""What the log says about every stored field a page, a proof, a statement
or a rule reads (R-L7b), beyond what the replay's rule checks need.

The rule replay (`registry_events`, `block_events`, `name_rules`) keeps what
its checks use. This module runs after it, on the same entry, and adds to
the same replayed records the fields that only the comparison with the live
tables needs (`registry.table_compare`): a retirement's claim (type,
statement, product, reporting year, dates, the retired range), a lot's
reference, documentation and first entry, certificate events' reasons,
facility addresses, line names, determinations' records, a split block's
parent. It refuses an entry only for a quantity that is no decimal string
(R-U3: a retirement's basis and share; the rules are the rule replay's); a
field a payload lacks is recorded as absent (None), which the comparison
then names.

JSON-valued fields (a lot's conversion, inputs and evidence; a
determination's record and reasons; a product claim; a certificate's
facilities and lists) are kept as canonical JSON text (`canonical`): compact
in the scratch store, compared as text with the live column rendered the
same way.
"""

from __future__ import annotations

import json
from typing import Any

from registry.names import identity_key
from registry.replay.state import State, dec


def canonical(value: Any) -> str:
    """One text per JSON value: sorted keys, no spaces, UTF-8 (as
    `registry.participant_details.contacts_digest` renders contacts)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _decimal_or_none(i: int, value: Any, what: str):
    return None if value is None else dec(i, value, what)


def apply(s: State, i: int, kind: str, p: dict, leaf: str | None, time: str | None) -> None:
    """Record the table fields of entry ``i`` (already applied by the rule replay)."""
    handler = _HANDLERS.get(kind)
    if handler is None and kind.startswith("certificate.") and kind not in (
            "certificate.recorded", "certificate.renewed"):
        handler = _certificate_event
    if handler is not None:
        handler(s, i, kind, p, leaf, time)


def _participant(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    pid = p.get("participant")
    row = s.participants[pid]
    if kind == "participant.registered" or "gpp_signed_on" in p:  # RMS 4.2.1: the commitment's date
        row["gpp_signed_on"] = p.get("gpp_signed_on")
    if kind == "participant.generator_removed":  # R-E4: the day the registration ended
        row["generator_removed_on"] = p.get("generator_removed_on")
    elif kind == "participant.removed":  # before migration 0011: the entry's day (as 0011 upgraded it)
        row["generator_removed_on"] = time[:10] if isinstance(time, str) else None
    elif kind == "participant.registered":
        row["generator_removed_on"] = None
    s.participants[pid] = row


def _certificate(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    number = p.get("certificate")
    cert = s.certificates[number]
    # the facility scope is the rule replay's already (`certificate_state.recorded`)
    cert.update(product_groups=canonical(p.get("product_groups")), control_systems=canonical(p.get("control_systems")),
                notes=[])
    s.certificates[number] = cert


def _certificate_amended(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    """R-C6: the amended lists (the rule replay keeps the versions, activities and sites)."""
    number = p.get("certificate")
    cert = s.certificates[number]
    cert.update(product_groups=canonical(p.get("product_groups")), control_systems=canonical(p.get("control_systems")))
    s.certificates[number] = cert


def _certificate_event(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    """R-C3: each suspension, reinstatement or revocation with its reason and
    the time it was logged (the register shows when it was recorded)."""
    number = p.get("certificate")
    cert = s.certificates[number]
    cert.setdefault("notes", []).append((p.get("reason"), time))
    s.certificates[number] = cert


def _facility(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    if kind == "facility.registered":
        row = s.facilities[p.get("facility")]
        row["address"] = p.get("address")
        s.facilities[p.get("facility")] = row
    else:
        line = s.lines[p.get("line")]
        line["name"] = p.get("name")
        s.lines[p.get("line")] = line


def _determination(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    if kind != "determination.recorded":
        return  # a withdrawal changes the status only (the rule replay keeps it)
    did = p.get("determination")
    row = s.determinations[did]
    row.update(basis=p.get("basis"), reasons=canonical(p.get("reasons")), record=canonical(p.get("record")),
               superseded_by=None)
    s.determinations[did] = row
    if p.get("supersedes") is not None:  # R-A7: the old one names its successor
        previous = s.determinations[p["supersedes"]]
        previous["superseded_by"] = did
        s.determinations[p["supersedes"]] = previous


def _lot(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    if kind == "lot.registered":
        row = s.lots[p.get("lot")]
        # the certificate is the rule replay's already (`registry_events`: R-G1 re-checks it)
        row.update(reference=p.get("reference"), conversion=canonical(p.get("conversion")),
                   inputs=canonical(p.get("inputs")), evidence=canonical(p.get("evidence")))
        s.lots[p.get("lot")] = row
        return
    row = s.dispositions[p.get("disposition")]
    row.update(kind=p.get("kind"), on=p.get("on"), counterparty=p.get("counterparty"), claim=p.get("claim"),
               index=i)
    s.dispositions[p.get("disposition")] = row


def _split(s: State, p: dict, moved_key: str) -> None:
    """R-T2: a split's two children name their parent (the lineage pages and proofs follow it)."""
    if p.get("remainder") is None:
        return
    for child in (p[moved_key], p["remainder"]):
        s.block_parents[child["serial"]] = p.get("parent")


def _transferred(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    _split(s, p, "moved")


def _retired(s: State, i: int, kind: str, p: dict, leaf, time) -> None:
    """R-R1, R-R2: the public retirement record and the statement read all of it."""
    _split(s, p, "retired")
    retired = p["retired"]
    claim = p.get("claim") or {}
    product = claim.get("product")
    row = s.retirements[retired["serial"]]
    row.update(
        arc_code=retired.get("arc_code"), arc_type=retired.get("arc_type"),
        generation_year=retired.get("generation_year"), generator=retired.get("generator"),
        lot_reference=retired.get("lot_reference"), first=retired.get("first"), last=retired.get("last"),
        beneficiary_key=identity_key(p["beneficiary"]) if isinstance(p.get("beneficiary"), str) else None,
        product_key=identity_key(product["name"]) if isinstance(product, dict) and isinstance(
            product.get("name"), str) else None,
        claim_type=claim.get("type"), reporting_year=claim.get("reporting_year"),
        claim_date=claim.get("claim_date"), statement=claim.get("statement"),
        basis_kg=_decimal_or_none(i, claim.get("basis_kg"), "basis_kg"),
        claim_share=_decimal_or_none(i, claim.get("claim_share"), "claim_share"),
        product=None if product is None else canonical(product),
        claimed_status=claim.get("claimed_status"), label_approval_ref=claim.get("label_approval_ref"),  # R-R8
        retired_on=p.get("retired_on"), leaf=leaf, **_claim_place(claim),
        bulk_id=i - p["bulk"]["item"] if isinstance(p.get("bulk"), dict) and isinstance(  # R-T7
            p["bulk"].get("item"), int) else None)
    s.retirements[retired["serial"]] = row


def _claim_place(claim: dict) -> dict:
    """R-R6: the claim's location and period as the retirement row holds them
    (amendments change them later: `registry.replay.amendments`)."""
    location = claim.get("location") if isinstance(claim.get("location"), dict) else {}
    period = claim.get("period") if isinstance(claim.get("period"), dict) else {}
    return {"location_country": location.get("country"), "location_subdivision": location.get("subdivision"),
            "period_from": period.get("from"), "period_to": period.get("to")}


_HANDLERS = {
    "participant.registered": _participant,
    "participant.activated": _participant,
    "participant.suspended": _participant,
    "participant.updated": _participant,
    "participant.removed": _participant,
    "participant.generator_removed": _participant,
    "certificate.recorded": _certificate,
    "certificate.amended": _certificate_amended,
    "facility.registered": _facility,
    "facility.line_registered": _facility,
    "determination.recorded": _determination,
    "determination.withdrawn": _determination,
    "lot.registered": _lot,
    "lot.disposition": _lot,
    "block.transferred": _transferred,
    "block.offered": _transferred,  # R-T6: a split like a transfer's
    "block.retired": _retired,
}

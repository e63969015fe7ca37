"""Replay re-checks the name and product-claim rules (R-L7c, R-R5, R-R3).

A correctly signed log can still record what the services refuse: a name with
an invisible character or a word mixing scripts, or product claims that add
up to more than the product holds. Replay applies the same rules
(`registry.names`) to every entry that carries such a name, and keeps, per
(beneficiary key, product key, reporting year, ARC type), the certificates
claimed and the composition mass first stated, so an entry exceeding the cap
(or restating the composition) fails at its index, naming the rule.
"""

from __future__ import annotations

import json
from decimal import Decimal

from registry.errors import InvalidInput
from registry.names import check_name, identity_key
from registry.replay.state import ZERO, State, dec, fail

_KG_PER_CERTIFICATE = Decimal(1000)  # R-G2: one certificate is one tonne


def _name(i: int, kind: str, field: str, value) -> None:
    if not isinstance(value, str):
        raise fail(i, f"{kind}: {field} is not a string")
    try:
        check_name(field, value)
    except InvalidInput as refused:
        raise fail(i, f"{kind}: {refused.detail} ({refused.rule})") from None


def check(s: State, i: int, kind: str, p: dict) -> None:
    """Called for every entry after it has been applied to the state."""
    if kind.startswith("participant.") and "name" in p:
        _name(i, kind, "name", p["name"])  # R-R5: participant names
    elif kind == "lot.registered":
        _name(i, kind, "reference", p["reference"])  # R-R5: lot references
    elif kind == "block.retired":
        _retired(s, i, kind, p)


def _retired(s: State, i: int, kind: str, p: dict) -> None:
    _name(i, kind, "beneficiary", p["beneficiary"])
    claim = p["claim"]
    product = claim.get("product")
    if claim.get("type") != "product" or product is None:
        return
    _name(i, kind, "product.name", product["name"])
    retired = p["retired"]
    arc_type, quantity = retired["arc_type"], dec(i, retired["quantity"], "retired quantity")
    stated: dict[str, Decimal] = {}
    for item in product["composition"]:
        stated[item["arc_type"]] = stated.get(item["arc_type"], ZERO) + dec(i, item["mass"]["value"], "mass")
    if arc_type not in stated:  # R-R3
        raise fail(i, f"{kind}: a product claim with {arc_type} certificates on a product of "
                      f"{', '.join(sorted(stated))} (R-R3)")
    year = claim["reporting_year"]
    identity = [identity_key(p["beneficiary"]), identity_key(product["name"]), year]
    for type_, kg in stated.items():  # R-R5: the composition is the product's mass for the year
        record = s.product_claims.get(json.dumps([*identity, type_]))
        if record is not None and record["declared_kg"] != kg:
            raise fail(i, f"{kind}: product {product['name']!r} of {p['beneficiary']!r}, {year}: {type_} stated "
                          f"as {kg} kg, earlier {record['declared_kg']} kg (R-R5)")
    key = json.dumps([*identity, arc_type])
    record = s.product_claims.get(key) or {"declared_kg": stated[arc_type], "claimed": ZERO}
    record["claimed"] += quantity
    if record["claimed"] * _KG_PER_CERTIFICATE > record["declared_kg"]:
        raise fail(i, f"{kind}: {record['claimed']} {arc_type} certificates claimed for product "
                      f"{product['name']!r} of {p['beneficiary']!r} in {year}, more than its "
                      f"{record['declared_kg']} kg (R-R5)")
    s.product_claims[key] = record
    for type_, kg in stated.items():  # a type stated now but not retired yet keeps its first mass
        other = json.dumps([*identity, type_])
        if other not in s.product_claims:
            s.product_claims[other] = {"declared_kg": kg, "claimed": ZERO}

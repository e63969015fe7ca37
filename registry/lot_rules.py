"""Rules a base material lot must meet to be registered, on the lot as its
``lot.registered`` entry records it (registry.lots.lot_payload), so the
service and replay (R-L7c) check the same thing:

* R-B7 conversion documentation adds up (RMS 5.4.2, P6.2.1);
* R-G6 PEQ is for chemical recycling, with a plausible heating value (P6.1.3);
* R-G5 certified sites only (RMS 1.3.1, 7.1.3, 8.1.5);
* R-B8 cited inputs whose supplier certificate is in the register were
  bought under a certificate valid on the input's date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from registry.certification import NORTH_AMERICA, CertificateEvent, status_on
from registry.errors import RuleViolation
from registry.names import identity_key

# R-G6: hydrocarbon intermediates of chemical recycling (pyrolysis oils, waxes, gases) have a lower heating
# value above zero and at most ~50 MJ/kg (methane, the highest, is 50.0).
LHV_MAX_MJ_PER_KG = Decimal("50")


def require_conversion_adds_up(material_code: str, mass_kg: Decimal, conversion: dict) -> None:
    """R-B7: the lot's code is among the documented outputs, the lot is at most
    that output, and the documented output is at most the input times the
    conversion factor -- to the precision the factor is stated in (a factor
    of 83.333% documents 500 t from 600 t). ``conversion`` is the logged form
    (masses in kg as decimal strings)."""
    outputs = conversion["outputs"]
    of_code = sum((Decimal(o["mass_kg"]) for o in outputs if o["material_code"] == material_code), Decimal(0))
    if of_code == 0:
        _inconsistent(f"the conversion documents no output of {material_code}, the lot's material",
                      "conversion.outputs")
    if mass_kg > of_code:
        _inconsistent(f"the lot's {mass_kg} kg exceed the {of_code} kg of {material_code} the conversion documents",
                      "mass")
    inputs = sum((Decimal(i["mass_kg"]) for i in conversion["inputs"]), Decimal(0))
    output = sum((Decimal(o["mass_kg"]) for o in outputs), Decimal(0))
    factor = Decimal(conversion["factor"])
    stated = Decimal(1).scaleb(factor.as_tuple().exponent)  # the factor's last stated digit
    ratio = (output * 100 / inputs).quantize(stated, rounding=ROUND_HALF_UP) if inputs > 0 else None
    if ratio is None or ratio > factor:
        _inconsistent(f"{output} kg of output from {inputs} kg of input is more than the conversion factor of "
                      f"{factor}% allows", "conversion.factor")


def require_peq_is_chemical(level1: str, transformation: str, lhv_mj_per_kg: Decimal | None) -> None:
    """R-G6 (P6.1.3): a P2 intermediate, which generates PEQ, comes from a
    chemical transformation, and its LHV is plausible for a hydrocarbon."""
    if level1 != "P2":
        return
    if transformation != "chemical":
        raise RuleViolation("PEQ certificates are for chemical recycling: a P2 intermediate's conversion is "
                            "'chemical' (P6.1.3)", field="conversion.transformation", code="peq_not_chemical",
                            rule="R-G6")
    if lhv_mj_per_kg is None or not Decimal(0) < lhv_mj_per_kg <= LHV_MAX_MJ_PER_KG:
        raise RuleViolation(f"a hydrocarbon intermediate's lower heating value lies above 0 and at most "
                            f"{LHV_MAX_MJ_PER_KG} MJ/kg, not {lhv_mj_per_kg}", field="lhv_mj_per_kg",
                            code="lhv_implausible", rule="R-G6")


def require_certified_site(country: str, name: str, sites: list[dict]) -> None:
    """R-G5: the facility is in North America and among the sites the
    certificate lists (by country and name identity, R-R5) -- for a group
    certificate, the sites listed for the lot's member (R-C6). A certificate
    listing no site covers none (strict since migration 0018, which listed
    the sites already used under certificates recorded without a list;
    docs/decisions.md)."""
    if country not in NORTH_AMERICA:
        raise RuleViolation(f"the facility is in {country}: RMS certification covers sites in North America "
                            "(US, CA, MX) only (RMS 1.3.1)", field="facility_id", code="facility_not_certified",
                            rule="R-G5")
    key = identity_key(name)
    if not any(s["country"] == country and identity_key(s["name"]) == key for s in sites):
        listed = "; ".join(f"{s['name']} ({s['country']})" for s in sites) or "no site"
        raise RuleViolation(f"the certificate covers {listed}, not this facility (RMS 7.1.3); a site added between "
                            "audits is an amendment of the certificate (RMS 7.4.3)", field="facility_id",
                            code="facility_not_certified", rule="R-G5")


def _inconsistent(detail: str, field: str) -> None:
    raise RuleViolation(f"conversion documentation does not add up: {detail} (RMS 5.4.2)", field=field,
                        code="conversion_inconsistent", rule="R-B7")


#: A certificate in the register, by number: (its validity periods, events), or None when not in it.
CertificateLookup = Callable[[str], "tuple[list[tuple[date, date]], list[CertificateEvent]] | None"]


def input_day(item: dict, processed_on: date) -> date:
    """R-B8: an input's date is the day it was received, when the lot states
    it, else the lot's processing day (an input is at the latest processed then)."""
    return date.fromisoformat(item["received_on"]) if item.get("received_on") else processed_on


def require_inputs_certified(inputs: list[dict], processed_on: date, lookup: CertificateLookup) -> None:
    """R-B8: a cited input (R-B6) whose supplier certificate is in the register
    must cite it valid on the input's date (as the register now stands). A
    number not in the register is accepted and shown as "not in this register"."""
    for i, item in enumerate(inputs):
        found = lookup(item["supplier_certificate"])
        if found is None:
            continue
        day = input_day(item, processed_on)
        standing = status_on(day, *found)
        if standing != "valid":
            raise RuleViolation(
                f"supplier certificate {item['supplier_certificate']} was {standing.replace('_', ' ')} on {day}: "
                "an input cited from the register must have been certified when it was received",
                field=f"inputs.{i}.supplier_certificate", code="supplier_certificate_invalid", rule="R-B8")

"""The pure rules of custody accounts (R-M1–R-M5; RMS 6.4–6.5): plain values
in, values or a refusal out. The services and replay both call them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from registry.claims import RmsClaim
from registry.classification import RecycledStatus
from registry.errors import InvalidInput, RuleViolation
from registry.units import exact_arithmetic, round_half_up

ZERO = Decimal("0.000")
STATUSES = ("PC", "PI", "R")

SEGREGATION = "segregation"
BATCH = "average-content-batch"
ROLLING = "average-content-rolling"
MASS_BALANCE = "mass-balance"
#: RMS 6.4.1.1, most to least robust (multi-site mass balance is mass balance over several sites).
SYSTEMS = (SEGREGATION, BATCH, ROLLING, MASS_BALANCE)
#: R-M1 (RMS 6.4.3.4 vi, 6.4.4.8): only these may span several of the participant's facilities.
MULTI_SITE = (ROLLING, MASS_BALANCE)
#: Systems whose claims draw on first-in-first-out credit (R-M4); average content uses averages.
CREDIT_SYSTEMS = (SEGREGATION, MASS_BALANCE)
#: The certificate's scope names (registry.certification.CONTROL_SYSTEMS) of each account system.
CERTIFICATE_SYSTEM = {SEGREGATION: "segregation", BATCH: "average-content", ROLLING: "average-content",
                      MASS_BALANCE: "mass-balance"}
CREDIT_MONTHS = 12  # RMS 6.4.4.6
MAX_PERIOD_MONTHS = 12  # RMS 6.4.3.4 iii, 6.4.4.3
MULTI_SITE_THRESHOLD = Decimal("0.2")  # RMS 6.4.3.4 vi c
AUDIT_MONTHS = 18  # RMS 6.4.4.4: an audit reads the data within the previous 18 months
FRACTION = Decimal("0.001")


def zeros() -> dict[str, Decimal]:
    return dict.fromkeys(STATUSES, ZERO)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, the day clamped to the month's length (29 Feb + 12 months = 28 Feb)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def audit_window_start(today: date) -> date:
    """R-M8 (RMS 6.4.4.4): the first day of the previous 18 months — the same day of the month
    18 months before ``today``, clamped (2026-12-06 → 2025-06-06; 2026-08-31 → 2025-02-28). A
    closed period whose last day is on or after it holds data within the window."""
    return add_months(today, -AUDIT_MONTHS)


def credit_expires_on(received_on: date) -> date:
    """R-M4 (RMS 6.4.4.6): credit not consumed within 12 months of its receipt
    expires; on this date it is no longer usable (received 2024-03-10 →
    expires on 2025-03-10)."""
    return add_months(received_on, CREDIT_MONTHS)


# --- Accounts and periods (R-M1, R-M5) ------------------------------------------------------------

def check_account(control_system: str, facility_ids: list[int], starts_on: date, period_months: int,
                  window_periods: int | None, conversion_factor: Decimal | None) -> tuple[int, Decimal]:
    """R-M1: validates an account's set-up; returns (window periods, conversion factor)."""
    if control_system not in SYSTEMS:
        raise InvalidInput(f"control_system must be one of {', '.join(SYSTEMS)}", field="control_system",
                           code="invalid_control_system", rule="R-M1")
    if not isinstance(period_months, int) or period_months < 1 or period_months > MAX_PERIOD_MONTHS:
        raise InvalidInput("a reconciliation period is 1 to 12 months (RMS 6.4.3.4 iii, 6.4.4.3)",
                           field="period_months", code="period_too_long", rule="R-M1")
    if starts_on.day > 28:
        raise InvalidInput("an account's periods start on day 1 to 28 of a month, so every period has the "
                           "same day of the month", field="starts_on", code="invalid_date", rule="R-M1")
    if not facility_ids:
        raise InvalidInput("an account covers at least one facility", field="facility_ids",
                           code="facility_required", rule="R-M1")
    if len(set(facility_ids)) != len(facility_ids):
        raise InvalidInput("a facility is listed twice", field="facility_ids", code="duplicate_facility",
                           rule="R-M1")
    if len(facility_ids) > 1 and control_system not in MULTI_SITE:
        raise RuleViolation(f"{control_system} is kept per site: only rolling average and mass balance may "
                            "span several facilities (RMS 6.4.3.4 vi, 6.4.4.8)", field="facility_ids",
                            code="multi_site_not_allowed", rule="R-M1")
    default_window = max(1, MAX_PERIOD_MONTHS // period_months)
    window = default_window if window_periods is None else window_periods
    if control_system != ROLLING and window_periods is not None:
        raise InvalidInput("window_periods applies to rolling averages only", field="window_periods",
                           code="not_rolling_average", rule="R-M1")
    if not 1 <= window or window * period_months > MAX_PERIOD_MONTHS:
        raise InvalidInput("a rolling average covers at most 12 months (RMS 6.4.3.4 iii): window_periods × "
                           "period_months ≤ 12", field="window_periods", code="period_too_long", rule="R-M1")
    factor = Decimal(1) if conversion_factor is None else conversion_factor
    if control_system != MASS_BALANCE and conversion_factor is not None:
        raise InvalidInput("conversion_factor applies to mass balance only", field="conversion_factor",
                           code="not_mass_balance", rule="R-M3")
    if not Decimal(0) < factor <= 1:
        raise InvalidInput("the conversion factor is certified output per certified input, in (0, 1]",
                           field="conversion_factor", code="out_of_range", rule="R-M3")
    return window, factor


def period_of(starts_on: date, period_months: int, day: date) -> int:
    """The number (from 1) of the reconciliation period ``day`` falls in."""
    months = (day.year - starts_on.year) * 12 + day.month - starts_on.month - (day.day < starts_on.day)
    return months // period_months + 1


def period_bounds(starts_on: date, period_months: int, n: int) -> tuple[date, date]:
    """First and last day of period ``n``."""
    first = add_months(starts_on, (n - 1) * period_months)
    following = add_months(starts_on, n * period_months)
    return first, date.fromordinal(following.toordinal() - 1)


def product_class(material_code: str) -> str:
    """The product class of a material code, status dropped: ``PC_P3.1.9`` → ``P3.1.9`` (R-M1)."""
    return material_code.split("_", 1)[1] if "_" in material_code else material_code


def require_product_group(output_class: str | None, material_code: str) -> str:
    """R-M1 (RMS 6.4.4.5): an account's credit is allocated to one product group, fixed by its first
    output or lot draw; an output or lot of another group is refused. Returns the material's class."""
    klass = product_class(material_code)
    if output_class is not None and output_class != klass:
        raise RuleViolation(f"the account's outputs are {output_class}: its credit is not allocated to another "
                            f"product group ({klass}; RMS 6.4.4.5)", field="material_code",
                            code="product_group_mismatch", rule="R-M1")
    return klass


def covers_lot(account_facilities: list[int], output_class: str | None, control_system: str, facility_id: int,
               material_code: str) -> bool:
    """R-M6: a credit account (R-M4) at the lot's facility whose product is the lot's, or not fixed yet."""
    return (control_system in CREDIT_SYSTEMS and facility_id in account_facilities
            and output_class in (None, product_class(material_code)))


# --- Claims (R-M2, R-M3) -----------------------------------------------------------------------

def by_status(claim: RmsClaim, mass_kg: Decimal) -> dict[str, Decimal]:
    """The certified (or claimed) mass a claim designates, by status (RMS 6.5.4–6.5.5): the
    post-consumer part to PC, the rest to the claim's status (R when none is designated)."""
    out = zeros()
    with exact_arithmetic():
        total = round_half_up(mass_kg * claim.total_percent / 100)
        pc = min(total, round_half_up(mass_kg * claim.pc_percent / 100))
    out["PC"] = pc
    rest = total - pc
    if rest:
        out["PI" if claim.status is RecycledStatus.PI else "R"] += rest
    return out


def apply_factor(certified: Mapping[str, Decimal], factor: Decimal) -> dict[str, Decimal]:
    """R-M3: mass-balance credit is certified input after the account's conversion factor."""
    with exact_arithmetic():
        return {s: round_half_up(certified[s] * factor) for s in STATUSES}


def require_input_fits(control_system: str, claim: RmsClaim, *, field: str = "claim") -> None:
    """R-M3 (RMS 6.4.1.3, 6.5.8.2): material once claimed under mass balance never
    carries an average-content claim, nor returns to segregation."""
    if claim.control_system == "MB" and control_system != MASS_BALANCE:
        raise RuleViolation(f"material that arrived with a mass-balance claim ({claim.text}) cannot enter a "
                            f"{control_system} account: a lesser control system never becomes a higher one "
                            "(RMS 6.4.1.3, 6.5.8.2)", field=field, code="claim_upgrade", rule="R-M3")


def require_output_fits(control_system: str, claim: RmsClaim, *, field: str = "claim") -> None:
    """R-M3 (RMS 6.4.1.2-6.4.1.3, 6.5.8.2): the control system dictates the claim.
    Mass balance claims MB (an AC claim would be an upgrade); average content
    claims AC; segregation passes on AC or MB claims."""
    if control_system == MASS_BALANCE and claim.control_system != "MB":
        raise RuleViolation(f"a mass-balance account's outputs carry MB claims, not {claim.text}: material "
                            "claimed under mass balance never carries an average-content claim (RMS 6.5.8.2)",
                            field=field, code="claim_upgrade", rule="R-M3")
    if control_system in (BATCH, ROLLING) and claim.control_system != "AC":
        raise RuleViolation(f"an average-content account's outputs carry AC claims, not {claim.text} "
                            "(RMS 6.4.1.2)", field=field, code="claim_system_mismatch", rule="R-M3")


def require_not_above(claim: RmsClaim, incoming: RmsClaim | None, *, field: str = "claim") -> None:
    """R-M3, segregation (RMS 6.4.2.2): the outgoing claim equals or is lower than the
    incoming one: percentage, status and control system."""
    from registry.classification import may_downgrade

    if incoming is None:
        raise RuleViolation("no certified segregated material is left to pass a claim on",
                            field=field, code="insufficient_credit", rule="R-M4")
    if (claim.total_percent > incoming.total_percent or claim.pc_percent > incoming.pc_percent
            or not may_downgrade(incoming.status, claim.status)
            or (incoming.control_system == "MB" and claim.control_system == "AC")):
        raise RuleViolation(f"segregated material that arrived as {incoming.text} cannot leave as {claim.text}: "
                            "claims are passed on or downgraded, never raised (RMS 6.4.2.2)", field=field,
                            code="claim_upgrade", rule="R-M3")


def fraction(certified: Decimal, total: Decimal) -> Decimal | None:
    """C / T (RMS 6.5.7.1), exact; None when there is no input."""
    if total <= 0:
        return None
    with exact_arithmetic():
        return certified / total


def shown(value: Decimal | None) -> str | None:
    """A fraction as the API shows it: 3 places, half-up (0.152)."""
    return None if value is None else format(value.quantize(FRACTION, rounding=ROUND_HALF_UP), "f")


def require_within_average(claim: RmsClaim, average: Decimal | None, what: str, *, field: str = "claim") -> None:
    """R-M3: an average-content claim is at most the average it rests on (Examples 6.2, 6.4)."""
    if average is None or Decimal(claim.total_percent) / 100 > average:
        shown_average = "no certified input" if average is None else f"{shown(average * 100)}%"
        raise RuleViolation(f"a {claim.total_percent}% claim exceeds the {what} ({shown_average})", field=field,
                            code="claim_exceeds_average", rule="R-M3")


def multi_site_ceiling(sites: Mapping[int, tuple[Decimal, Decimal]], site: int) -> tuple[Decimal | None, bool]:
    """R-M5 (RMS 6.4.3.4 vi c, Examples 6.5, 6.6): the multi-site rolling average
    over every site (C and T summed), and whether ``site`` contributes to it —
    its own average is at least 20% of the overall one. A site that does not
    contribute may claim at most its own average. Returns (ceiling for the
    site, contributes)."""
    certified = sum((c for c, _ in sites.values()), Decimal(0))
    total = sum((t for _, t in sites.values()), Decimal(0))
    overall = fraction(certified, total)
    own = fraction(*sites[site]) if site in sites else None
    if overall is None:
        return None, False
    contributes = own is not None and own >= overall * MULTI_SITE_THRESHOLD
    if contributes:
        return overall, True
    return (own if own is not None and own < overall else None), False


# --- Average content (R-M3; RMS 6.4.3.3-6.4.3.4). Plain values: the services pass the live rows,
# replay (registry.replay.custody_periods) the rows it derived from the log — one place for each rule.

#: The kilogram columns of a period row (registry.custody.models.CustodyPeriod), replayed alike.
PERIOD_KG = ("input_kg", "certified_kg", "credit_kg", "output_kg", "claimed_kg", "drawn_kg", "expired_kg", "arc_kg")
#: The batch being produced (RMS 6.4.3.3): ``CustodyAccount.batch_<key>`` ("open" is ``batch_open``).
BATCH_KG = ("input_kg", "certified_kg", "output_kg", "claimed_kg")


def require_batch(claim: RmsClaim, batch: Mapping[str, Decimal], claimed_kg: Decimal) -> None:
    """R-M3, batch level (RMS 6.4.3.3, Example 6.2): the claim is at most the batch's
    certified share, and the batch's claims never exceed its certified input. ``batch``:
    input_kg, certified_kg, claimed_kg of the batch before this output."""
    if batch["input_kg"] == 0:
        require_within_average(claim, None, "batch's average content")
    require_within_average(claim, fraction(batch["certified_kg"], batch["input_kg"]), "batch's average content")
    if batch["claimed_kg"] + claimed_kg > batch["certified_kg"]:
        raise RuleViolation(f"the batch's claims would reach {batch['claimed_kg'] + claimed_kg} kg, above its "
                            f"{batch['certified_kg']} kg of certified input", field="claim",
                            code="claim_exceeds_inputs", rule="R-M3")


def require_batch_mass(batch: Mapping[str, Decimal], mass_kg: Decimal) -> None:
    """R-M3 (RMS 6.4.3.3): a batch's outputs never exceed its inputs."""
    if batch["output_kg"] + mass_kg > batch["input_kg"]:
        raise RuleViolation(f"the batch's inputs were {batch['input_kg']} kg; {batch['output_kg']} kg "
                            "of it are already out", field="mass", code="batch_exceeded", rule="R-M3")


def window_sites(rows: Iterable[Mapping], first: int, last: int) -> dict[int, tuple[Decimal, Decimal]]:
    """R-M3: per site, (certified, total) input of the period rows ``first``..``last``
    (rows: mappings with n, facility_id, certified_kg, input_kg); sites with no input left out."""
    sites: dict[int, list[Decimal]] = {}
    for row in rows:
        if first <= row["n"] <= last:
            pair = sites.setdefault(row["facility_id"], [Decimal(0), Decimal(0)])
            pair[0] += row["certified_kg"]
            pair[1] += row["input_kg"]
    return {fid: (c, t) for fid, (c, t) in sites.items() if t > 0}


def require_rolling(claim: RmsClaim, rows: Iterable[Mapping], *, n: int, window_periods: int, multi_site: bool,
                    site: int, claimed_kg: Decimal) -> None:
    """R-M3, rolling average (RMS 6.4.3.4, Examples 6.4–6.6): the claim is at most the
    average over the window ending with the output's period ``n`` — multi-site: the
    overall average for a contributing site, its own below the 20% threshold (R-M5
    ceiling, ``multi_site_ceiling``); and claims over the window never exceed the
    certified input of the window plus one reconciliation period (6.4.3.4 v). ``rows``:
    the account's period rows (n, facility_id, input_kg, certified_kg, claimed_kg) of
    periods n - window_periods .. n, before this output."""
    rows = list(rows)
    first = max(1, n - window_periods + 1)
    sites = window_sites(rows, first, n)
    if multi_site and sites:
        ceiling, contributes = multi_site_ceiling(sites, site)
        what = (f"multi-site rolling average over periods {first}–{n}" if contributes else
                "site's own rolling average (it is below 20% of the multi-site average, RMS 6.4.3.4 vi c)")
    else:
        c, t = sites.get(site, (Decimal(0), Decimal(0)))
        ceiling, what = fraction(c, t), f"rolling average over periods {first}–{n}"
    require_within_average(claim, ceiling, what)
    claimed = sum((r["claimed_kg"] for r in rows if first <= r["n"] <= n), Decimal(0)) + claimed_kg
    contributing = sum((r["certified_kg"] for r in rows if first - 1 <= r["n"] <= n), Decimal(0))
    if claimed > contributing:
        raise RuleViolation(f"claims over periods {first}–{n} would reach {claimed} kg, above the {contributing} kg "
                            "of certified input of the window plus one reconciliation period (RMS 6.4.3.4 v)",
                            field="claim", code="claim_exceeds_inputs", rule="R-M3")


# --- Volume summaries (R-M5, R-M8). Plain values: ``periods._summary`` passes the live sums, replay
# (registry.replay.custody_periods) those it derived from the log — the same grouping, order and text.

def kg_text(values: Mapping[str, Decimal]) -> dict[str, str]:
    """Kilograms by status as logged (R-U3): ``{"PC": "1.000", ...}``."""
    return {s: format(values[s], "f") for s in STATUSES}


def summary_breakdowns(by_supplier: Mapping[tuple[str, str | None], Mapping[str, Decimal]],
                       uncertified: Mapping[str, Decimal],
                       by_customer: Mapping[tuple[str, str | None], tuple[Decimal, Decimal]]
                       ) -> tuple[list[dict], list[dict]]:
    """R-M5: a period summary's ``inputs_by_supplier`` — certified receipts per (supplier name,
    certificate), their certified kg by status, then uncertified receipts per supplier name — and
    ``outputs_by_customer`` — per (customer, claim), (mass, claimed kg) — each in its logged order."""
    inputs = [{"supplier": name, "certificate": cert, "certified_kg": kg_text(kg)}
              for (name, cert), kg in sorted(by_supplier.items(), key=lambda kv: str(kv[0]))]
    inputs += [{"supplier": name, "certificate": None, "uncertified_kg": format(kg, "f")}
               for name, kg in sorted(uncertified.items())]
    outputs = [{"customer": c, "claim": claim, "mass_kg": format(m, "f"), "claimed_kg": format(k, "f")}
               for (c, claim), (m, k) in sorted(by_customer.items(), key=lambda kv: str(kv[0]))]
    return inputs, outputs


def summary_average(control_system: str, window: Mapping[int, tuple[Decimal, Decimal]], certified_kg: Decimal,
                    input_kg: Decimal) -> str | None:
    """R-M5: a period summary's ``average`` — a rolling average's over the window's sites (``window``:
    per site, (certified, total) input, ``window_sites``), a batch account's the period's certified
    share of its input, no other system's."""
    if control_system == ROLLING:
        return shown(fraction(sum((c for c, _ in window.values()), Decimal(0)),
                              sum((t for _, t in window.values()), Decimal(0))))
    if control_system == BATCH:
        return shown(fraction(certified_kg, input_kg))
    return None

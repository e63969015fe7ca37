"""Replay of custody period rows, batches and summaries (R-M3, R-M5, R-M8, R-L7b, R-L7c).

From the ``custody.*`` entries (and the custody lots' draws, R-M6) alone, per
account, period n and facility, the replay keeps the sums the live
``custody_period`` row keeps (``rules.PERIOD_KG``: what ``services``,
``book._expire`` and ``lots.draw`` add), and per account the batch being
produced as ``services`` keeps it (``CustodyAccount.batch_*``, RMS 6.4.3.3).
With them it

* re-checks at every ``custody.input_received`` that the certified and credited
  kilograms are what its claim gives (R-M2), and R-M3 at every
  ``custody.output_recorded``: the claim designates the logged kilograms, fits
  the control system, and for average content stays within the batch's or the
  rolling window's average, claims never above the certified input (the rule
  functions the services call, ``registry.custody.rules``);
* compares at ``custody.period_closed`` the logged volume summary — what certifiers
  download for audits (R-M8) — with what the entries before it add up to (R-M5): its
  totals, its ``inputs_by_supplier`` (certified kg by status per supplier name and
  certificate, then uncertified kg per supplier name), its ``outputs_by_customer``
  (mass and claimed kg per customer and claim) and its ``average`` (the rolling
  window's, or the batch account's period average), grouped, ordered and shown by the
  functions ``periods._summary`` calls (``rules.summary_breakdowns``,
  ``rules.summary_average``); a difference is a finding naming the field;
* hands `registry.custody.verify` the rows and batches to compare with the live
  tables (R-L7b), so an edited row or batch column is ``state_drift``.

The rows live in the replay's scratch database (`registry.replay.scratch`),
keyed so that text order is (account, n, facility) order; so do the lines of the
breakdowns of periods not closed yet (keyed ``account:n:part:group``), dropped when
their period closes, so memory does not grow with the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from registry.claims import parse_claim
from registry.custody import rules
from registry.custody.rules import BATCH_KG, PERIOD_KG, ZERO
from registry.errors import RegistryError
from registry.replay.state import State, fail

#: The summary's totals (registry.custody.periods._summary) and the row sums they are.
SUMMARY = {"inputs_kg": "input_kg", "certified_inputs_kg": "certified_kg", "outputs_kg": "output_kg",
           "claimed_kg": "claimed_kg", "expired_kg": "expired_kg"}


def _rows(s: State):
    rows = getattr(s, "custody_periods", None)
    if rows is None:
        rows = s.custody_periods = s.db.map("custody_periods")
    return rows


def _key(account: int, n: int, facility: int) -> str:
    return f"{account:012d}:{n:06d}:{facility:012d}"


def sorted_rows(s: State) -> Iterator[tuple[tuple[int, int, int], dict]]:
    """Every replayed period row, ((account, n, facility), sums), in that order."""
    for key, row in _rows(s).sorted_items():
        account, n, facility = (int(part) for part in key.split(":"))
        yield (account, n, facility), row


def _parts(s: State):
    parts = getattr(s, "custody_parts", None)
    if parts is None:
        parts = s.custody_parts = s.db.map("custody_parts")
    return parts


def _part(s: State, account: int, book: dict, day: date, part: str, group, empty) -> dict:
    """The sums of one line of the summary of ``day``'s period: ``part`` "i" (certified inputs of a
    [supplier, certificate]), "u" (uncertified inputs of a supplier) or "o" (outputs of a
    [customer, claim]); keyed ``account:n:part:group`` (the group as JSON)."""
    parts = _parts(s)
    key = f"{_prefix(account, _period(book, day))}{part}:{json.dumps(group)}"
    kg = parts.get(key)
    if kg is None:
        kg = parts[key] = empty()
    return kg


def _prefix(account: int, n: int) -> str:
    return f"{account:012d}:{n:06d}:"


def _breakdowns(s: State, account: int, n: int) -> tuple[list[dict], list[dict]]:
    """R-M5: period n's ``inputs_by_supplier`` and ``outputs_by_customer`` as ``periods._summary``
    gives them (``rules.summary_breakdowns``), from the lines kept since its first entry; the lines
    are dropped: a closed period takes no more entries."""
    by_supplier, uncertified, by_customer = {}, {}, {}
    parts = _parts(s)
    for key, kg in list(parts.prefix_items(_prefix(account, n))):
        _, _, part, group = key.split(":", 3)
        group = json.loads(group)
        if part == "i":
            by_supplier[tuple(group)] = kg
        elif part == "u":
            uncertified[group] = kg["kg"]
        else:
            by_customer[tuple(group)] = (kg["mass_kg"], kg["claimed_kg"])
    parts.drop_prefix(_prefix(account, n))
    return rules.summary_breakdowns(by_supplier, uncertified, by_customer)


def opened(book: dict, p: dict) -> None:
    """``custody.account_opened``: the account's periods and an empty batch."""
    book.update(starts_on=date.fromisoformat(p["starts_on"]), period_months=int(p["period_months"]),
                window=int(p["window_periods"]), sites=set(), closed=0, closing=ZERO,
                factor=Decimal(p.get("conversion_factor") or "1"),
                batch={"open": False, **dict.fromkeys(BATCH_KG, ZERO)})


def _period(book: dict, day: date) -> int:
    return rules.period_of(book["starts_on"], book["period_months"], day)


def _row(s: State, account: int, book: dict, day: date, facility) -> dict:
    """The row of ``day``'s period at ``facility`` (the account's first when none is logged)."""
    facility = book["facilities"][0] if not isinstance(facility, int) else facility
    book["sites"].add(facility)
    rows = _rows(s)
    key = _key(account, _period(book, day), facility)
    row = rows.get(key)
    if row is None:
        row = rows[key] = dict.fromkeys(PERIOD_KG, ZERO)
    return row


def input_received(s: State, i: int, account: int, book: dict, p: dict, day: date, mass: Decimal,
                   certified: dict[str, Decimal], added: dict[str, Decimal]) -> None:
    """``services.receive_input``: a batch begins with the first input after an output (RMS 6.4.3.3)."""
    try:
        _check_input(book, p, mass, certified, added)
    except RegistryError as error:
        s.finding(fail(i, f"{error.rule}: account {account}: {error.detail}"))
    certified_kg, added_kg = sum(certified.values(), ZERO), sum(added.values(), ZERO)
    batch = book["batch"]
    if not batch["open"]:
        batch.update(dict.fromkeys(BATCH_KG, ZERO))
    batch["open"] = True
    batch["input_kg"] += mass
    batch["certified_kg"] += certified_kg
    row = _row(s, account, book, day, p.get("facility"))
    row["input_kg"] += mass
    row["certified_kg"] += certified_kg
    row["credit_kg"] += added_kg
    if p.get("claim") is not None:  # periods._summary: certified receipts per supplier and certificate
        kg = _part(s, account, book, day, "i", [p.get("supplier_name"), p.get("supplier_certificate")],
                   rules.zeros)
        for status in rules.STATUSES:
            kg[status] += certified[status]
    else:  # uncertified ones per supplier name
        _part(s, account, book, day, "u", p.get("supplier_name"), lambda: {"kg": ZERO})["kg"] += mass


def _check_input(book: dict, p: dict, mass: Decimal, certified: dict[str, Decimal], added: dict[str, Decimal]) -> None:
    """R-M2, R-M3 (``services.receive_input``): a mass-balance claim never enters a higher system; the
    certified kilograms are what the input's claim designates on its mass (none without a claim), its
    credit that after the conversion factor (credit systems; average content keeps none) — a certified
    mass logged larger would raise the averages and the credit."""
    claim = p.get("claim")
    expected = rules.zeros()
    if claim is not None:
        parsed = parse_claim(claim, field="claim", rule="R-M2")
        rules.require_input_fits(book["system"], parsed)
        expected = rules.by_status(parsed, mass)
    credit = rules.apply_factor(expected, book["factor"]) if book["system"] in rules.CREDIT_SYSTEMS else rules.zeros()
    if certified != expected or added != credit:
        raise RegistryError(f"the input of {mass} kg with claim {claim!r} logs {certified} kg certified and "
                            f"{added} kg credit; the claim designates {expected} kg, credit {credit} kg", rule="R-M2")


def output_recorded(s: State, i: int, account: int, book: dict, p: dict, day: date, mass: Decimal,
                    claimed: dict[str, Decimal], drawn: Decimal) -> None:
    """``services.record_output``: R-M3 re-checked on the state before the output, then its sums."""
    claimed_kg = sum(claimed.values(), ZERO)
    batch = book["batch"]
    try:
        _check_output(s, account, book, p, day, mass, claimed, claimed_kg)
    except RegistryError as error:
        s.finding(fail(i, f"R-M3: account {account}: {error.detail}"))
    if book["system"] == rules.BATCH:
        try:
            rules.require_batch_mass(batch, mass)
        except RegistryError as error:
            s.finding(fail(i, f"R-M3: account {account}: {error.detail}"))
        batch["output_kg"] += mass
        batch["claimed_kg"] += claimed_kg
        batch["open"] = False
    row = _row(s, account, book, day, p.get("facility"))
    row["output_kg"] += mass
    row["claimed_kg"] += claimed_kg
    row["drawn_kg"] += drawn
    kg = _part(s, account, book, day, "o", [p.get("customer"), p.get("claim")],
               lambda: {"mass_kg": ZERO, "claimed_kg": ZERO})  # periods._summary: per customer and claim
    kg["mass_kg"] += mass
    kg["claimed_kg"] += claimed_kg


def _check_output(s: State, account: int, book: dict, p: dict, day: date, mass: Decimal,
                  claimed: dict[str, Decimal], claimed_kg: Decimal) -> None:
    """R-M3 (RMS 6.4.1-6.4.3): what ``services.record_output`` refuses, on the replayed state."""
    claim = p.get("claim")
    if claim is None:
        if claimed_kg:
            raise RegistryError(f"an output with no claim claims {claimed_kg} kg", rule="R-M3")
        return
    parsed = parse_claim(claim, field="claim", rule="R-M3")
    if rules.by_status(parsed, mass) != claimed:
        raise RegistryError(f"the claim {claim} on {mass} kg designates {rules.by_status(parsed, mass)} kg, the "
                            f"entry claims {claimed} kg", rule="R-M3")
    system = book["system"]
    rules.require_output_fits(system, parsed)
    if system == rules.BATCH:
        rules.require_batch(parsed, book["batch"], claimed_kg)
    elif system == rules.ROLLING:
        n = _period(book, day)
        first = max(1, n - book["window"] + 1)
        rows = _rows(s)
        window = [{"n": k, "facility_id": f, **rows[_key(account, k, f)]}
                  for k in range(max(1, first - 1), n + 1) for f in sorted(book["sites"])
                  if _key(account, k, f) in rows]
        site = p.get("facility") if isinstance(p.get("facility"), int) else book["facilities"][0]
        rules.require_rolling(parsed, window, n=n, window_periods=book["window"],
                              multi_site=len(book["facilities"]) > 1, site=site, claimed_kg=claimed_kg)


def credit_expired(s: State, account: int, book: dict, day: date, gone: Decimal) -> None:
    """``book._expire``: expired credit is charged to the account's first facility."""
    _row(s, account, book, day, book["facilities"][0])["expired_kg"] += gone


def lot_drew(s: State, account: int, book: dict, day: date, facility, drawn: Decimal, claimed: Decimal,
             arcs: bool) -> None:
    """``lots.draw`` (R-M6): an ARC generation adds its draw to drawn_kg and arc_kg, a claimed
    sale its draw to drawn_kg and its claimed mass to claimed_kg."""
    row = _row(s, account, book, day, facility)
    row["drawn_kg"] += drawn
    if arcs:
        row["arc_kg"] += drawn
    else:
        row["claimed_kg"] += claimed


def period_closed(s: State, i: int, account: int, book: dict, p: dict) -> None:
    """R-M5 (``periods._summary``): the logged summary's totals are what the entries before it
    add up to for period n; the opening is the previous summary's closing. A difference is a
    finding naming the field."""
    n = p.get("n")
    if n != book["closed"] + 1:
        s.finding(fail(i, f"R-M5: account {account}: period {n} closed, period {book['closed'] + 1} closes first"))
    if not isinstance(n, int):
        return
    rows = _rows(s)
    total = dict.fromkeys(PERIOD_KG, ZERO)
    for f in book["sites"]:
        row = rows.get(_key(account, n, f))
        for k in PERIOD_KG:
            total[k] += row[k] if row is not None else ZERO
    opening = book["closing"]
    expected = {field: total[column] for field, column in SUMMARY.items()}
    expected["losses_kg"] = total["certified_kg"] - total["credit_kg"] if book["system"] == rules.MASS_BALANCE \
        else ZERO
    expected["opening_kg"] = opening
    expected["closing_kg"] = opening + total["credit_kg"] - total["drawn_kg"] - total["expired_kg"]
    for field, value in expected.items():
        logged = _decimal(p.get(field))
        if logged != value:
            s.finding(fail(i, f"R-M5: account {account}: period {n}'s summary says {field} {p.get(field)!r}, "
                              f"the entries before it add up to {value}"))
    inputs, outputs = _breakdowns(s, account, n)
    for field, lines in (("inputs_by_supplier", inputs), ("outputs_by_customer", outputs)):
        logged = p.get(field)
        if _values(logged) != _values(lines):
            s.finding(fail(i, f"R-M5: account {account}: period {n}'s summary says {field} "
                              f"{_first_difference(logged, lines)}"))
    window = {}
    if book["system"] == rules.ROLLING:
        first = max(1, n - book["window"] + 1)
        window = rules.window_sites(({"n": k, "facility_id": f, **rows[_key(account, k, f)]}
                                     for k in range(first, n + 1) for f in sorted(book["sites"])
                                     if _key(account, k, f) in rows), first, n)
    average = rules.summary_average(book["system"], window, total["certified_kg"], total["input_kg"])
    if _values(p.get("average"), kg=True) != _values(average, kg=True):
        s.finding(fail(i, f"R-M5: account {account}: period {n}'s summary says average {p.get('average')!r}, "
                          f"the entries before it give {average!r}"))
    book["closed"] = n
    logged_closing = _decimal(p.get("closing_kg"))
    book["closing"] = expected["closing_kg"] if logged_closing is None else logged_closing


def _values(value, kg: bool = False):
    """A logged summary part with its kilograms (under a key ending ``_kg``, or all with ``kg``) as
    Decimals, compared by value; one that is not a finite decimal string stays apart."""
    if isinstance(value, dict):
        return {k: _values(v, kg or (isinstance(k, str) and k.endswith("_kg"))) for k, v in value.items()}
    if isinstance(value, list):
        return [_values(v, kg) for v in value]
    if kg and value is not None:
        number = _decimal(value)
        return number if number is not None and number.is_finite() else ("not a decimal", value)
    return value


def _first_difference(logged, lines: list[dict]) -> str:
    """Where a logged breakdown departs from the replayed one: its first differing line."""
    if not isinstance(logged, list):
        return f"{logged!r}, the entries before it give {lines!r}"
    for k in range(max(len(logged), len(lines))):
        mine = logged[k] if k < len(logged) else "no line"
        theirs = lines[k] if k < len(lines) else "no line"
        if _values(mine) != _values(theirs):
            return f"line {k}: {mine!r}, the entries before it give {theirs!r}"
    return repr(logged)


def _decimal(value) -> Decimal | None:
    """A logged decimal string (R-U3), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        return None

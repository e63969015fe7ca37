"""Replay of ``retirement.amended`` entries (R-R7, R-L7, R-L7c).

An amendment names a retirement the log recorded, by the participant that
retired it (active at the time, R-P3); every changed field's old value is
what the log says the claim held until then (else the entry is impossible);
and the change obeys R-R7's 30-day window, dated by the entry's own time,
with R-R4, R-R8 and R-R6 on the new values (`registry.amendments.check_amendment`,
the service's own rule). The replayed retirement then holds the new values,
and the amendment itself is kept for the table comparison (R-L7b).
"""

from __future__ import annotations

from datetime import date

from registry import amendments
from registry.replay.state import State, fail
from registry.replay.table_fields import canonical

# The replayed retirement's fields (as `table_fields._retired` records them) per claim detail.
_FIELDS = {"claim_date": ("claim_date",), "statement": ("statement",),
           "location": ("location_country", "location_subdivision"), "period": ("period_from", "period_to")}


def _recorded(row: dict, field: str):
    """A claim detail of the replayed retirement as the log records it."""
    if field == "location":
        return None if row.get("location_country") is None else {
            "country": row["location_country"], "subdivision": row.get("location_subdivision")}
    if field == "period":
        return None if row.get("period_from") is None else {"from": row["period_from"], "to": row["period_to"]}
    return row.get(field)


def _set(row: dict, field: str, value) -> None:
    if field == "location":
        row["location_country"] = value["country"] if value else None
        row["location_subdivision"] = value.get("subdivision") if value else None
    elif field == "period":
        row["period_from"] = value["from"] if value else None
        row["period_to"] = value["to"] if value else None
    else:
        row[field] = value


def amended(s: State, i: int, p: dict, leaf: str | None, time: str | None) -> None:
    serial = p["serial"]
    row = s.retirements.get(serial)
    if row is None:
        raise fail(i, f"retirement.amended: no retirement of block {serial} in the log")
    if p["owner"] != row["owner"]:
        raise fail(i, f"retirement.amended: block {serial} was retired by {row['owner']}, not {p['owner']}")
    if p["retired_on"] != row.get("retired_on"):
        raise fail(i, f"retirement.amended: block {serial} was retired on {row.get('retired_on')}, "
                      f"not {p['retired_on']}")
    changes = p["changes"]
    if not isinstance(changes, dict):
        raise fail(i, "retirement.amended: changes is not an object")
    for field, change in changes.items():
        if field in _FIELDS and change["from"] != _recorded(row, field):
            raise fail(i, f"retirement.amended: {field} of block {serial} was {_recorded(row, field)!r}, "
                          f"the entry says {change['from']!r}")
    amended_on = date.fromisoformat(time[:10]) if isinstance(time, str) else date.fromisoformat(p["amended_on"])
    if isinstance(time, str) and p["amended_on"] != time[:10]:
        raise fail(i, f"retirement.amended: dated {p['amended_on']}, logged on {time[:10]}")
    if s.participants.get(p["owner"], {}).get("status") != "active":  # R-P3
        s.finding(fail(i, f"R-P3: retirement.amended: participant {p['owner']} is not active"))
    s.note(i, lambda: amendments.check_amendment(retired_on=date.fromisoformat(p["retired_on"]),
                                                 amended_on=amended_on, changes=changes))  # R-R7
    for field, change in changes.items():
        if field in _FIELDS:
            _set(row, field, change["to"])
    s.retirements[serial] = row
    s.amendments[i] = {"serial": serial, "amended_on": p["amended_on"], "changes": canonical(changes),
                       "leaf": leaf}

"""A certificate's lineage as a timeline, read from its provenance proof (R-L6).

The timeline is drawn from exactly the entries the "verify in your browser"
button and `arcreg verify-proof` check: base material lot, generation, every
split (transfer or partial retirement), and the current state. Each step
names the block the lineage follows and, for a split, both parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

TITLES = {
    "lot.registered": "Base material lot registered",
    "block.generated": "Certificates generated",
    "block.transferred": "Transferred",
    "block.retired": "Retired",
    "block.expired": "Expired",
    "block.forfeited": "Forfeited",
    "block.cancelled": "Cancelled",
}
# The members of a split entry that describe its parts (R-T2).
PART_NAMES = ("moved", "retired", "remainder")


@dataclass
class Part:
    role: str  # moved | retired | remainder
    serial: str
    quantity: str
    owner: int | None
    followed: bool = False


@dataclass
class Step:
    index: int
    time: str
    type: str
    title: str
    payload: dict
    serial: str | None = None  # the block the lineage follows after this step
    parent: str | None = None
    parts: list[Part] = field(default_factory=list)


def timeline(proof: dict) -> list[Step]:
    """Steps oldest first; ``followed`` marks the part the lineage continues with."""
    steps = []
    for item in proof["entries"]:
        entry = json.loads(item["canonical"])
        payload = entry["payload"]
        step = Step(index=entry["index"], time=entry["time"], type=entry["type"],
                    title=TITLES.get(entry["type"], entry["type"]), payload=payload)
        if "parent" in payload:
            step.parent = payload["parent"]
            step.parts = [Part(name, payload[name]["serial"], payload[name]["quantity"], payload[name].get("owner"))
                          for name in PART_NAMES if isinstance(payload.get(name), dict)]
        elif isinstance(payload.get("serial"), str):
            step.serial = payload["serial"]
        steps.append(step)
    # Walk back from the block the proof is about, marking the part followed.
    followed = proof["serial"]
    for step in reversed(steps):
        if not step.parts:
            continue
        if any(part.serial == followed for part in step.parts):
            for part in step.parts:
                part.followed = part.serial == followed
            step.serial, followed = followed, step.parent
        else:  # the block itself was split last: its parts are its present
            step.serial = step.parent
    return steps


def owners(steps: list[Step]) -> set[int]:
    """Every participant the timeline mentions, to look their names up once."""
    ids = set()
    for step in steps:
        for key in ("generator", "owner", "from", "to"):
            if isinstance(step.payload.get(key), int):
                ids.add(step.payload[key])
        ids.update(part.owner for part in step.parts if isinstance(part.owner, int))
    return ids

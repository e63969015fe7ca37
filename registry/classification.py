"""Material classification and ARC types (R-K1..R-K3, R-B2); the quantities they
yield (R-K4, R-K5) are in ``registry.quantities``.

The material table is the Plastics Module's Table P4.1, shipped as data in
``registry/data/plastics_table_p4_1.json`` with the seed's misprints resolved
as SPEC §16 decides (P3.1.9 = PP; ``P2.3.1`` = ``P2.2.3``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import cache
from importlib.resources import files
from typing import Any

from registry.errors import InvalidInput, RuleViolation

MATERIAL_GROUP = "P"  # RMS Table 5.2: plastic is the only material group so far.


class RecycledStatus(str, Enum):
    """RMS 5.1.2.1 / 8.4.5.1: PC is the highest claim, then PI, then R."""

    PC = "PC"
    PI = "PI"
    R = "R"

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]

    def __str__(self) -> str:
        return self.value


_STATUS_RANK = {RecycledStatus.PC: 3, RecycledStatus.PI: 2, RecycledStatus.R: 1}


def parse_status(raw: Any, *, field: str = "recycled_status") -> RecycledStatus:
    try:
        return RecycledStatus(raw)
    except ValueError:
        raise InvalidInput(
            f"{field} must be one of PC, PI, R; got {raw!r}", code="invalid_recycled_status", field=field, rule="R-K1"
        ) from None


def lesser(*statuses: RecycledStatus) -> RecycledStatus:
    """The least of several statuses (RMS 5.1.2.3: a blend may take the lesser claim)."""
    if not statuses:
        raise ValueError("lesser() needs at least one status")
    return min(statuses, key=lambda s: s.rank)


def may_downgrade(claimed: RecycledStatus, to: RecycledStatus) -> bool:
    """RMS 5.1.2.3: a status may only be modified to a lesser one (or kept)."""
    return to.rank <= claimed.rank


# --- Table P4.1 ------------------------------------------------------------


@dataclass(frozen=True)
class MaterialClass:
    """One Level 3 row of Table P4.1, with its Level 1 and Level 2 parents."""

    code: str  # e.g. "P3.1.9"
    name: str
    level1_code: str
    level1_name: str
    level2_code: str
    level2_name: str


@dataclass(frozen=True)
class MaterialCode:
    """A parsed RMS material ID code such as ``PC_P3.1.9`` (R-K1)."""

    status: RecycledStatus
    material: MaterialClass

    @property
    def group(self) -> str:
        return MATERIAL_GROUP

    @property
    def code(self) -> str:
        return self.material.code

    @property
    def level1(self) -> str:
        """The Table P4.1 Level 1 class, e.g. "P2" for chemical-recycling intermediates."""
        return self.material.level1_code

    @property
    def id(self) -> str:
        """The canonical ID code (an alias such as P2.3.1 comes back as P2.2.3)."""
        return f"{self.status.value}_{self.material.code}"

    def __str__(self) -> str:
        return self.id


@cache
def _table() -> tuple[dict[str, MaterialClass], dict[str, str]]:
    raw = json.loads(files("registry").joinpath("data/plastics_table_p4_1.json").read_text("utf-8"))
    classes: dict[str, MaterialClass] = {}
    for level1 in raw["level1"]:
        for level2 in level1["level2"]:
            for row in level2["level3"]:
                classes[row["code"]] = MaterialClass(
                    code=row["code"],
                    name=row["name"],
                    level1_code=level1["code"],
                    level1_name=level1["name"],
                    level2_code=level2["code"],
                    level2_name=level2["name"],
                )
    return classes, dict(raw["aliases"])


def material_classes() -> tuple[MaterialClass, ...]:
    """Every Level 3 class of Table P4.1, in table order."""
    return tuple(_table()[0].values())


def valid_material_codes() -> tuple[str, ...]:
    """Every accepted material ID code (canonical ones, then the aliases)."""
    classes, aliases = _table()
    codes = list(classes) + list(aliases)
    return tuple(f"{status.value}_{code}" for status in RecycledStatus for code in codes)


def parse_material_code(raw: Any, *, field: str = "material_code") -> MaterialCode:
    """Parse ``{status}_{group}{level-3 code}``, e.g. ``PC_P3.1.9`` (R-K1).

    Raises InvalidInput ``unknown_material_code``; the error's ``valid``
    attribute lists every accepted code.
    """
    classes, aliases = _table()
    status_text, sep, code = raw.partition("_") if isinstance(raw, str) else ("", "", "")
    code = aliases.get(code, code)
    if sep and status_text in RecycledStatus._value2member_map_ and code in classes:
        return MaterialCode(RecycledStatus(status_text), classes[code])
    error = InvalidInput(
        f"{field} {raw!r} is not an RMS material ID code. The form is {{PC|PI|R}}_{{Level 3 code}}, "
        f"e.g. PC_P3.1.9; Level 3 codes of Table P4.1: {', '.join(list(classes) + list(aliases))}",
        code="unknown_material_code",
        field=field,
        rule="R-K1",
    )
    error.valid = valid_material_codes()
    raise error


# --- ARC types (Table P6.1) --------------------------------------------------

# P6.1.1 / Table P6.1: one ARC type per P3.1 resin code.
_RESIN_ARC_TYPES = {
    "P3.1.1": "ABS",
    "P3.1.2": "ACR",
    "P3.1.3": "PA",
    "P3.1.4": "PCAR",
    "P3.1.5": "PE",
    "P3.1.6": "PET",
    "P3.1.7": "PETG",
    "P3.1.8": "PLA",
    "P3.1.9": "PP",
    "P3.1.10": "PS",
    "P3.1.11": "PU",
    "P3.1.12": "PVC",
}
PEQ = "PEQ"
OTHER = "OTHER"
ARC_TYPES = (*_RESIN_ARC_TYPES.values(), PEQ, OTHER)


def arc_type(material: MaterialCode) -> str:
    """ARC type of a base material per Table P6.1 (R-K2).

    Raises RuleViolation ``material_not_eligible`` for P1, P4 and P5 codes:
    P6.1.2 ties ARC types to group P3 resins (and P6.1.3 adds P2 chemical
    recycling intermediates as PEQ); recovered scrap, articles and products
    are not base material.
    """
    code = material.code
    level1 = material.material.level1_code
    if code in _RESIN_ARC_TYPES:
        return _RESIN_ARC_TYPES[code]
    if level1 == "P2":
        return PEQ  # P6.1.3: intermediates count in polyethylene equivalents.
    if level1 == "P3":
        return OTHER  # P6.1.4: P3.1.13 and every P3.2 mixed batch.
    raise RuleViolation(
        f"{material.id} ({material.material.name}) cannot generate ARCs: only P3 resins and "
        "P2 intermediates are base material (Plastics Module P6.1.2)",
        code="material_not_eligible",
        rule="R-K2",
    )


def arc_code(status: RecycledStatus, type_: str) -> str:
    """ARC ID code ``{status}_P_{TYPE}_ARC`` (R-K3, RMS Example 8.2)."""
    if type_ not in ARC_TYPES:
        raise ValueError(f"unknown ARC type {type_!r}")
    return f"{RecycledStatus(status).value}_{MATERIAL_GROUP}_{type_}_ARC"


def parse_arc_type(raw: Any, *, field: str = "arc_type") -> str:
    """An ARC type named by a client (e.g. a product composition, R-R3)."""
    if raw not in ARC_TYPES:
        raise InvalidInput(
            f"{field} must be one of {', '.join(ARC_TYPES)}; got {raw!r}",
            code="unknown_arc_type",
            field=field,
            rule="R-K2",
        )
    return raw


# --- Split lots (R-B2) -----------------------------------------------------------


def lot_components(
    status: RecycledStatus,
    mass_kg: Decimal,
    pc_kg: Decimal | None = None,
    pi_kg: Decimal | None = None,
) -> dict[RecycledStatus, Decimal]:
    """Base mass per recycled status of a lot (R-B2, RMS 8.4.5.2).

    With both component masses documented, the lot splits into PC and PI
    (8.4.5.2 i) and they must add up to the lot mass; without them the whole
    lot carries its declared status, which for a PC/PI blend must be the
    lesser one (8.4.5.2 ii). One component alone is not documentation of
    the blend and is refused (InvalidInput ``incomplete_split``,
    ``split_mass_mismatch``).
    """
    if pc_kg is None and pi_kg is None:
        return {status: mass_kg}
    if pc_kg is None or pi_kg is None:
        missing = "pi_mass" if pi_kg is None else "pc_mass"
        raise InvalidInput(
            "a split lot documents both its post-consumer and post-industrial mass",
            code="incomplete_split",
            field=missing,
            rule="R-B2",
        )
    if pc_kg + pi_kg != mass_kg:
        raise InvalidInput(
            f"pc_mass {pc_kg} kg + pi_mass {pi_kg} kg must equal the lot mass {mass_kg} kg",
            code="split_mass_mismatch",
            field="pc_mass",
            rule="R-B2",
        )
    components = {RecycledStatus.PC: pc_kg, RecycledStatus.PI: pi_kg}
    return {s: m for s, m in components.items() if m > 0}

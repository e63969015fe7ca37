"""The replayed registry state (R-L7): what the log alone says the tables hold.

Maps keyed like the live tables, records as plain dicts, quantities as
`Decimal`. Replay needs no registry database (an exported log can be replayed
offline); its state is kept in a private temporary SQLite file so that memory
stays bounded however long the log (`registry.replay.scratch`).
"""

from __future__ import annotations

from decimal import Decimal
from collections.abc import Callable
from typing import Any

from chainlog.errors import VerificationError
from registry.errors import RegistryError
from registry.replay.scratch import CACHE_RECORDS, ScratchDb

ZERO = Decimal("0.000")
MAX_FINDINGS = 1000

# The block fields the log records (registry.blocks.block_payload) and the
# live column each one is compared with (registry.models.Block).
BLOCK_FIELDS = {
    "arc_code": "arc_code", "arc_type": "arc_type", "recycled_status": "recycled_status",
    "quantity": "quantity", "state": "state", "owner": "owner_id", "generator": "generator_id",
    "lot": "lot_id", "lot_reference": "lot_reference", "generation_year": "generation_year",
    "first": "first_unit", "last": "last_unit", "base_kg": "base_kg",
}
DECIMAL_FIELDS = frozenset(("quantity", "base_kg"))


def fail(index: int, message: str) -> VerificationError:
    """The log records something its own earlier entries make impossible."""
    return VerificationError(message, kind="replay_inconsistent", index=index)


def broken(index: int, error: RegistryError) -> VerificationError:
    """The log records a write that a rule of the registry refuses (R-L7c):
    name the entry, the rule and why."""
    return fail(index, f"{error.rule or error.code}: {error.detail}")


def dec(index: int, value: Any, what: str) -> Decimal:
    """A quantity as the log carries it: a decimal string (R-U3), never a float."""
    if not isinstance(value, str):
        raise fail(index, f"{what} must be a decimal string, not {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise fail(index, f"{what} is not a decimal: {value!r}") from None


def block_record(index: int, payload: Any) -> dict:
    """A block's fields from its log payload, quantities as Decimal."""
    if not isinstance(payload, dict) or any(k not in payload for k in ("serial", *BLOCK_FIELDS)):
        raise fail(index, f"a block payload needs serial and {', '.join(BLOCK_FIELDS)}")
    out = {k: payload[k] for k in ("serial", *BLOCK_FIELDS)}
    for k in DECIMAL_FIELDS:
        out[k] = dec(index, payload[k], f"block {payload['serial']} {k}")
    for k in ("first", "last", "generation_year"):
        if isinstance(out[k], bool) or not isinstance(out[k], int):
            raise fail(index, f"block {payload['serial']} {k} must be an integer")
    if out["quantity"] <= 0 or out["quantity"] * 1000 != out["last"] - out["first"] + 1:
        # R-G2: a serial unit is 0.001 certificate.
        raise fail(index, f"block {payload['serial']}: quantity {out['quantity']} does not match "
                          f"its serial range {out['first']}..{out['last']}")
    return out


class State:
    """The replayed maps, keyed like the live tables. The big ones live in a
    temporary scratch database with a bounded cache (`registry.replay.scratch`),
    so memory does not grow with the log; `close()` deletes it."""

    MAPS = ("participants", "certificates", "facilities", "lines", "determinations", "lots", "dispositions",
            "blocks", "retirements", "block_parents", "staff", "disputes", "amendments", "offers")

    def __init__(self, cache_records: int = CACHE_RECORDS) -> None:
        self.db = ScratchDb(cache_records)
        self.participants = self.db.map("participants")
        self.certificates = self.db.map("certificates")
        self.facilities = self.db.map("facilities")
        self.lines = self.db.map("lines")
        self.determinations = self.db.map("determinations")
        self.lots = self.db.map("lots")
        self.dispositions = self.db.map("dispositions")
        # serial -> the block's fields (BLOCK_FIELDS), plus "link": (index, leaf hash hex or None) of
        # its last lineage entry (R-L2b), and "determination": the one its ARCs count against
        self.blocks = self.db.map("blocks", tag="state")
        self.retirements = self.db.map("retirements")
        # R-R7 (registry.replay.amendments): a retirement.amended entry's index -> {"serial",
        # "amended_on", "changes" (canonical JSON), "leaf"}
        self.amendments = self.db.map("amendments")
        # R-L7b (registry.replay.table_fields, staff_roles): a split child's serial -> its parent's;
        # user id -> {"role", "body"}: the staff roles the log granted
        self.block_parents = self.db.map("block_parents")
        self.staff = self.db.map("staff")
        # R-C5 (registry.replay.disputes): index of a block.disputed entry -> {"serial", "outcome",
        # "decision_log_index"}; certificate number -> [(lot, processed_on)] of the lots citing it; the
        # marks the last certificate finding requires and the log has not shown yet
        self.disputes = self.db.map("disputes")
        self.certificate_lots = self.db.map("certificate_lots")
        self.pending_disputes: dict | None = None
        # R-T6 (registry.replay.offers): offer id (its block.offered entry) -> {"serial", "from", "to",
        # "state", "lapses_on", "leaf", "decided"}
        self.offers = self.db.map("offers")
        # R-T7 (registry.replay.bulk): the bulk retirement under way: [first index, next item, items]
        self.open_bulk: list | None = None
        # JSON [beneficiary key, product key, reporting year, ARC type] -> {"declared_kg", "claimed"}:
        # a product's composition mass and the certificates claimed on it that year (R-R5)
        self.product_claims = self.db.map("product_claims")
        # (generator, year) -> highest serial unit issued (R-G2: ranges never overlap); a few keys
        self.serial_high: dict[tuple[int, int], int] = {}
        # R-A9, a few keys each: (facility, line or None, year) -> the current determination's id, and
        # (facility, line or None, year) -> base mass used for ARCs from the lots processed there that year
        self.current_determinations: dict[tuple[int, int | None, int], int] = {}
        self.used: dict[tuple[int, int | None, int], Decimal] = {}
        self.entries = 0
        # R-L7c: entries that break a rule, as findings (the first MAX_FINDINGS); replay goes on after
        # one, so a registry holding entries written before a rule existed gets all of them reported.
        self.findings: list[VerificationError] = []

    def note(self, index: int, check: Callable[[], None]) -> None:
        """Run a rule check of entry ``index``; a refusal becomes a finding and replay goes on."""
        try:
            check()
        except VerificationError as error:
            self.finding(error)
        except RegistryError as error:
            self.finding(broken(index, error))

    def finding(self, error: VerificationError) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(error)

    def trim(self) -> None:
        """Between entries: bound the caches (records held in memory)."""
        self.db.trim()

    def close(self) -> None:
        self.db.close()

    def counts(self) -> dict[str, int]:
        by_state = self.blocks.tag_counts()
        return {
            "entries": self.entries, "participants": len(self.participants),
            "certificates": len(self.certificates), "facilities": len(self.facilities),
            "determinations": len(self.determinations), "lots": len(self.lots),
            "blocks": len(self.blocks), "retirements": len(self.retirements),
            **{f"blocks_{k}": v for k, v in sorted(by_state.items(), key=lambda kv: str(kv[0]))},
        }

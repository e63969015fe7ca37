"""Response schemas shared by several resources (SPEC §13.1)."""

from __future__ import annotations

import marshmallow as ma

from api.fields import LogRefSchema
from registry.use_period import use_period_end


class BlockOut(ma.Schema):
    serial = ma.fields.String()
    arc_code = ma.fields.String()
    arc_type = ma.fields.String()
    recycled_status = ma.fields.String()
    quantity = ma.fields.Decimal(as_string=True)
    state = ma.fields.String()
    owner_id = ma.fields.Integer()
    generator_id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    lot_reference = ma.fields.String()
    generation_year = ma.fields.Integer()
    use_period_end = ma.fields.Method("_use_period_end", metadata={"type": "string", "format": "date"})
    first = ma.fields.Method("_first", metadata={"type": "string", "description": "first serial unit (0.001 certificate), 12 digits"})
    last = ma.fields.Method("_last", metadata={"type": "string", "description": "last serial unit, 12 digits"})
    parent_serial = ma.fields.String(allow_none=True)
    disputed = ma.fields.Boolean(metadata={"description": "under an open dispute after a certifier's "
                                                          "back-dated finding: it cannot move (R-C5)"})
    log = ma.fields.Method("_log", metadata={"type": "object"})

    def _use_period_end(self, block) -> str:
        return use_period_end(block.generation_year).isoformat()

    def _log(self, block) -> dict:
        return {"index": block.log_index, "leaf_hash": block.leaf_hash}

    def _first(self, block) -> str:
        return f"{block.first_unit:012d}"

    def _last(self, block) -> str:
        return f"{block.last_unit:012d}"


__all__ = ["BlockOut", "LogRefSchema"]

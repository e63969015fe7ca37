"""Certificate movements as the log records them (R-N4, R-L7).

A participant's holdings are its active certificates. Every entry that
changes them is one of `MOVEMENT_TYPES`; `of_entry` says, for one entry,
which participant gained or lost how many certificates of which ARC type
and vintage (generation year), and from or to whom. The account statement
reads nothing else, so it adds up by construction and is exactly what the
log says (R-L7: the log is the truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

IN, OUT = "in", "out"

# Entries that take a whole block out of circulation: the state it ends in is the movement's kind.
_ENDED = {"block.expired": "expired", "block.forfeited": "forfeited", "block.cancelled": "cancelled",
          "block.dispute_cancelled": "cancelled"}
# R-T6: an offer takes the held certificates out of the sender's holdings; acceptance brings them into
# the recipient's, rejection, withdrawal and lapse back into the sender's.
_OFFER_RETURNED = ("block.offer_rejected", "block.offer_withdrawn", "block.offer_lapsed")
MOVEMENT_TYPES = ("block.generated", "block.transferred", "block.retired", *_ENDED,
                  "block.offered", "block.offer_accepted", *_OFFER_RETURNED)
# The payload keys naming the participants a movement entry concerns (the statement's prefilter).
PARTICIPANT_KEYS = ("owner", "from", "to")


@dataclass(frozen=True)
class Movement:
    participant_id: int
    direction: str  # IN | OUT
    kind: str  # generated | transfer_in | transfer_out | offered | offer_returned | retired | expired | forfeited
    #            | cancelled
    serial: str
    arc_type: str
    vintage: int
    quantity: Decimal  # positive
    counterparty_id: int | None = None

    @property
    def signed(self) -> Decimal:
        return self.quantity if self.direction == IN else -self.quantity


def _block(block: dict) -> tuple[str, str, int, Decimal]:
    return block["serial"], block["arc_type"], block["generation_year"], Decimal(block["quantity"])


def of_entry(kind: str, payload: dict) -> list[Movement]:
    """The movements of one entry (none for an entry that moves nothing)."""
    if kind == "block.generated":
        serial, arc_type, vintage, quantity = _block(payload)
        return [Movement(payload["owner"], IN, "generated", serial, arc_type, vintage, quantity)]
    if kind == "block.transferred":
        serial, arc_type, vintage, quantity = _block(payload["moved"])
        return [Movement(payload["from"], OUT, "transfer_out", serial, arc_type, vintage, quantity, payload["to"]),
                Movement(payload["to"], IN, "transfer_in", serial, arc_type, vintage, quantity, payload["from"])]
    if kind == "block.retired":
        serial, arc_type, vintage, quantity = _block(payload["retired"])
        return [Movement(payload["owner"], OUT, "retired", serial, arc_type, vintage, quantity)]
    if kind == "block.offered":
        serial, arc_type, vintage, quantity = _block(payload["moved"])
        return [Movement(payload["from"], OUT, "offered", serial, arc_type, vintage, quantity, payload["to"])]
    if kind == "block.offer_accepted":
        serial, arc_type, vintage, quantity = _block(payload)
        return [Movement(payload["to"], IN, "transfer_in", serial, arc_type, vintage, quantity, payload["from"])]
    if kind in _OFFER_RETURNED:
        serial, arc_type, vintage, quantity = _block(payload)
        return [Movement(payload["from"], IN, "offer_returned", serial, arc_type, vintage, quantity, payload["to"])]
    if kind in _ENDED and "offer" in payload:
        return []  # a held block that expired: it left the sender's holdings when it was offered
    if kind in _ENDED:
        serial, arc_type, vintage, quantity = _block(payload)
        return [Movement(payload["owner"], OUT, _ENDED[kind], serial, arc_type, vintage, quantity)]
    return []

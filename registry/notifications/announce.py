"""What each cause tells whom (R-N1): the events of the registry's changes,
built from the rows the services just wrote and written by ``events.emit`` in
their transaction. Each event's data names its log entry (``log_index``) so a
receiver can look the change up in the log and verify it."""

from __future__ import annotations

from registry.db import UnitOfWork
from registry.notifications import events as ev
from registry.use_period import use_period_end


def _block(block) -> dict:
    return {"serial": block.serial, "arc_code": block.arc_code, "arc_type": block.arc_type,
            "quantity": format(block.quantity, "f"), "generation_year": block.generation_year,
            "use_period_end": use_period_end(block.generation_year).isoformat(), "state": block.state}


def transferred(uow: UnitOfWork, moved, sender_id: int, recipient_id: int, log_index: int) -> None:
    data = {**_block(moved), "from_participant_id": sender_id, "to_participant_id": recipient_id,
            "log_index": log_index}
    ev.emit_all(uow, [(recipient_id, ev.TRANSFER_RECEIVED, data), (sender_id, ev.TRANSFER_SENT, data)],
                log_index=log_index)


def offer(uow: UnitOfWork, offer, block, state: str, log_index: int) -> None:
    """R-T6: an offer made (``pending``) or ended (accepted, rejected, withdrawn, lapsed), told to both parties."""
    data = {**_block(block), "offer_id": offer.id, "from_participant_id": offer.from_participant_id,
            "to_participant_id": offer.to_participant_id, "lapses_on": offer.lapses_on.isoformat(),
            "log_index": log_index}
    ev.emit_many(uow, (offer.from_participant_id, offer.to_participant_id), f"offer.{state}", data,
                 log_index=log_index)


def retired(uow: UnitOfWork, retirement, block) -> None:
    """Its data names the retirement's id: given once the row is flushed (with the event, or at the
    end of a bulk request)."""
    ev.emit_all(uow, [(retirement.owner_id, ev.RETIREMENT_MADE, lambda: {
        **_block(block), "retirement_id": retirement.id, "beneficiary": retirement.beneficiary,
        "claim_type": retirement.claim_type, "reporting_year": retirement.reporting_year,
        "retired_on": retirement.retired_on.isoformat(), "log_index": retirement.log_index})],
        log_index=retirement.log_index)


def generated(uow: UnitOfWork, block) -> None:
    ev.emit(uow, block.owner_id, ev.BLOCK_GENERATED, {**_block(block), "lot_id": block.lot_id,
                                                       "log_index": block.log_index}, log_index=block.log_index)


def ended(uow: UnitOfWork, block, entry_type: str, log_index: int) -> None:
    """A block taken out of circulation: expired, forfeited or cancelled."""
    ev.emit(uow, block.owner_id, ev.ENDED[entry_type], {**_block(block), "entry_type": entry_type,
                                                        "log_index": log_index}, log_index=log_index)


def disputed(uow: UnitOfWork, block, certificate_number: str, event_kind: str, log_index: int) -> None:
    ev.emit(uow, block.owner_id, ev.BLOCK_DISPUTED, {
        **_block(block), "certificate": certificate_number, "event_kind": event_kind, "log_index": log_index},
        log_index=log_index)


def dispute_decided(uow: UnitOfWork, block, outcome: str, log_index: int) -> None:
    ev.emit(uow, block.owner_id, ev.BLOCK_DISPUTE_DECIDED, {**_block(block), "outcome": outcome,
                                                            "log_index": log_index}, log_index=log_index)


CERTIFICATE_EVENTS = {"suspended": ev.CERTIFICATE_SUSPENDED, "reinstated": ev.CERTIFICATE_REINSTATED,
                      "revoked": ev.CERTIFICATE_REVOKED}


def certificate_event(uow: UnitOfWork, cert, kind: str, on, reason: str, log_index: int) -> None:
    if kind in CERTIFICATE_EVENTS:
        ev.emit(uow, cert.participant_id, CERTIFICATE_EVENTS[kind], {
            "certificate": cert.number, "on": on.isoformat(), "reason": reason, "log_index": log_index},
            log_index=log_index)

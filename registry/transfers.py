"""Transfers between participants (SPEC §9, R-T1–R-T4, RMS 8.7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from registry.actors import Actor, require_acts_for
from registry.blocks import block_payload, get_block, link, lock_active_block, require_active_block, split, stamp
from registry.db import UnitOfWork
from registry.disputes import require_not_disputed
from registry.errors import NotFound, RuleViolation
from registry.journal import LogRef, record
from registry.lockorder import lock_new_owner, lock_participants, prelocked
from registry.models import Block, Participant
from registry.notifications import announce
from registry.offers import rules as offer_rules
from registry.offers.models import Offer
from registry.offers.services import make_offer
from registry.participants import require_active
from registry.use_period import require_in_use_period


@dataclass(frozen=True)
class TransferResult:
    id: int  # the transfer's log index: unique, and where its proof lives
    moved: Block
    remainder: Block | None
    log: LogRef
    offer: Offer | None = None  # R-T6: the recipient reviews; ``moved`` is the held block


def lock_for_move(uow: UnitOfWork, actor: Actor, serial: str,
                  also: tuple[int, ...] = ()) -> tuple[Block, dict[int, Participant]]:
    """The active block ``serial`` under its row lock, and its owner and the
    participants ``also`` under shared locks taken before it (R-X5: the
    owner's status cannot change until this write commits).

    The owner is read first without a lock; if a racing transfer of the
    whole block committed before we held the block, the new owner is locked
    without waiting (``lock_new_owner``) — after the 403 an actor who does
    not act for it gets anyway. A bulk request (R-T7) locked them all up
    front (``lockorder.hold_prelocked``): they are taken from there."""
    held = prelocked(uow, serial)
    if held is not None:
        block, participants = held
        require_active_block(block)
        return block, participants
    owner_id = get_block(uow, serial).owner_id
    participants = lock_participants(uow, {owner_id, *also})
    block = lock_active_block(uow, serial)
    if block.owner_id not in participants:
        require_acts_for(actor, block.owner_id)
        participants[block.owner_id] = lock_new_owner(uow, block.owner_id)
    return block, participants


def check_movable(uow: UnitOfWork, actor: Actor, block: Block, quantity: Decimal,
                  participants: dict[int, Participant]) -> Participant:
    """The checks every move of a block shares (R-T3, R-P3, R-E1): returns its
    owner, one of ``participants`` (locked by ``lock_for_move``). A block is
    public, so someone else's is 403, not 404."""
    require_acts_for(actor, block.owner_id)
    require_not_disputed(block)  # R-C5: a disputed block waits for the administrator's decision
    owner = participants[block.owner_id]
    require_active(owner, "holder")
    # R-E2: correctness never waits for the expiry job.
    require_in_use_period(block.generation_year, uow.clock.today())
    if quantity > block.quantity:
        raise RuleViolation(f"block {block.serial} holds {block.quantity}, not {quantity}",
                            field="quantity", code="insufficient_quantity", rule="R-T3")
    return owner


def check_recipient(sender: Participant, recipient: Participant | None, to_participant_id: int) -> Participant:
    """R-T3: the recipient exists, is another participant than the sender, and is active."""
    if recipient is None:
        raise NotFound(f"no participant {to_participant_id}", field="to_participant_id",
                       code="participant_not_found")
    if recipient.id == sender.id:
        raise RuleViolation("sender and recipient are the same participant", field="to_participant_id",
                            code="same_participant", rule="R-T3")
    require_active(recipient, "recipient")
    return recipient


def check_transfer(uow: UnitOfWork, actor: Actor, *, serial: str, quantity: Decimal,
                   to_participant_id: int) -> Participant:
    """The checks of `transfer`, read without a lock and written nowhere: the
    workspace's preview of a CSV upload (R-W3, R-T7). Returns the recipient
    (an offer if it reviews incoming transfers, R-T6). The transfer itself
    checks again under its locks: a preview promises nothing."""
    block = get_block(uow, serial)
    require_active_block(block)
    ids = {block.owner_id, to_participant_id}
    involved = {pid: p for pid in ids if (p := uow.session.get(Participant, pid)) is not None}
    sender = check_movable(uow, actor, block, quantity, involved)
    return check_recipient(sender, involved.get(to_participant_id), to_participant_id)


def transfer(uow: UnitOfWork, actor: Actor, *, serial: str, quantity: Decimal,
             to_participant_id: int, lapses_on: date | None = None) -> TransferResult:
    """R-T2: move ``quantity`` of block ``serial`` to another participant; to a
    participant that reviews incoming transfers, offer it instead (R-T6,
    ``lapses_on``: the offer's last day, by default the latest allowed; a
    direct transfer ignores it)."""
    # R-X5: sender and recipient (sorted, shared), then the block, then the log.
    block, involved = lock_for_move(uow, actor, serial, also=(to_participant_id,))
    sender = check_movable(uow, actor, block, quantity, involved)
    recipient = check_recipient(sender, involved.get(to_participant_id), to_participant_id)
    if recipient.incoming_transfers == offer_rules.REVIEW:
        offer, held, remainder, ref = make_offer(uow, actor, block=block, sender=sender, recipient=recipient,
                                                 quantity=quantity, lapses_on=lapses_on)
        return TransferResult(id=ref.index, moved=held, remainder=remainder, log=ref, offer=offer)

    parent = link(block)
    if quantity == block.quantity:
        moved, remainder = block, None
    else:
        moved, remainder = split(uow, block, quantity)  # R-T2: the lower serials move
    moved.owner_id = recipient.id
    moved.updated_at = uow.clock.now()
    ref = record(uow, "block.transferred", actor, {
        "parent": block.serial,
        "from": sender.id,
        "to": recipient.id,
        "quantity": format(quantity, "f"),
        "moved": block_payload(moved),
        "remainder": block_payload(remainder) if remainder else None,
        "prev": parent,  # R-L2b: the parent's last entry
    })
    stamp([b for b in (moved, remainder) if b is not None], ref)
    uow.flush()  # the block rows, written once: owner, state and lineage together
    announce.transferred(uow, moved, sender.id, recipient.id, ref.index)  # R-N1: with its cause
    return TransferResult(id=ref.index, moved=moved, remainder=remainder, log=ref)

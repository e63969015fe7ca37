"""Offers (R-T6): make, accept, reject, withdraw, lapse, list.

Lock order (R-X5): an offer's every change holds its block's row lock, so
the block row is the offer's mutex: an acceptance, a withdrawal and the
lapse job racing on one offer are serialised there, and the ones that get
the lock after the first see the offer closed (409). Accept, reject and
withdraw lock both parties (shared) first; the lapse job and expiry depend
on no status and lock only blocks, then the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import select

from registry.actors import Actor
from registry.blocks import block_payload, get_block, link, split, stamp
from registry.db import UnitOfWork
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.holdings import MAX_LIMIT, Page, decode_cursor, encode_cursor
from registry.journal import LogRef, record
from registry.lockorder import lock_participants, note_rows_locked
from registry.models import Block, Participant
from registry.notifications import announce
from registry.offers import rules
from registry.offers.models import Offer
from registry.participants import require_active
from registry.use_period import require_in_use_period


@dataclass(frozen=True)
class OfferView:
    """An offer with its block as it now stands (§13.1 Offer)."""

    id: int
    state: str
    block: Block
    from_participant_id: int
    to_participant_id: int
    lapses_on: date
    log: LogRef
    decided_log_index: int | None


def view(uow: UnitOfWork, offer: Offer) -> OfferView:
    return offer_view(offer, uow.session.get(Block, offer.serial))


def offer_view(offer: Offer, block: Block) -> OfferView:
    return OfferView(offer.id, offer.state, block, offer.from_participant_id, offer.to_participant_id,
                     offer.lapses_on, LogRef(offer.id, offer.leaf_hash), offer.decided_log_index)


def make_offer(uow: UnitOfWork, actor: Actor, *, block: Block, sender: Participant, recipient: Participant,
               quantity: Decimal, lapses_on: date | None) -> tuple[Offer, Block, Block | None, LogRef]:
    """R-T6: split ``quantity`` off ``block`` (already locked and checked by
    the transfer) into a held block and offer it to ``recipient``: one
    ``block.offered`` entry, which names the parent and both children like a
    transfer (R-T2) and the lapse date."""
    today = uow.clock.today()
    lapses = rules.lapse_date(today, block.generation_year, lapses_on)
    parent = link(block)
    if quantity == block.quantity:
        held, remainder = block, None
    else:
        held, remainder = split(uow, block, quantity)  # R-T2: the lower serials are offered
    held.state = "offered"  # neither party moves it (registry.blocks.lock_active_block)
    now = uow.clock.now()
    held.updated_at = now
    ref = record(uow, "block.offered", actor, {
        "parent": block.serial,
        "from": sender.id,
        "to": recipient.id,
        "quantity": format(quantity, "f"),
        "moved": block_payload(held),
        "remainder": block_payload(remainder) if remainder else None,
        "lapses_on": lapses.isoformat(),
        "prev": parent,
    })
    stamp([b for b in (held, remainder) if b is not None], ref)
    uow.flush()
    offer = Offer(id=ref.index, serial=held.serial, from_participant_id=sender.id, to_participant_id=recipient.id,
                  state=rules.PENDING, lapses_on=lapses, leaf_hash=ref.leaf_hash, created_at=now)
    uow.session.add(offer)
    uow.flush()
    announce.offer(uow, offer, held, rules.PENDING, ref.index)  # R-N1: with its cause
    return offer, held, remainder, ref


def close(uow: UnitOfWork, actor: Actor, offer: Offer, block: Block, outcome: str) -> LogRef:
    """End a pending offer: the held block becomes active again, the
    recipient's when accepted, else the sender's (serial range unchanged).
    The caller holds the block's row lock."""
    prev = link(block)
    block.state = "active"
    block.owner_id = offer.to_participant_id if outcome == "accepted" else offer.from_participant_id
    block.updated_at = uow.clock.now()
    ref = record(uow, f"block.offer_{outcome}", actor, {
        **block_payload(block), "offer": offer.id, "from": offer.from_participant_id,
        "to": offer.to_participant_id, "prev": prev})
    stamp([block], ref)
    offer.state = outcome
    offer.decided_log_index = ref.index
    offer.decided_at = uow.clock.now()
    uow.flush()
    announce.offer(uow, offer, block, outcome, ref.index)  # R-N1: with its cause
    return ref


def _readable(uow: UnitOfWork, actor: Actor, offer_id: int) -> Offer:
    """R-X4: an offer is visible to its two parties (and administrators);
    to anyone else it does not exist."""
    offer = uow.session.get(Offer, offer_id)
    if offer is None or not (actor.acts_for(offer.from_participant_id) or actor.acts_for(offer.to_participant_id)):
        raise NotFound(f"no offer {offer_id}", code="offer_not_found", rule="R-T6")
    return offer


def decide(uow: UnitOfWork, actor: Actor, offer_id: int, *, action: str) -> OfferView:
    """``accept`` and ``reject`` (the recipient), ``withdraw`` (the sender)."""
    if action not in ("accept", "reject", "withdraw"):
        raise InvalidInput(f"no action {action!r}", field="action")
    offer = _readable(uow, actor, offer_id)
    party = offer.from_participant_id if action == "withdraw" else offer.to_participant_id
    if not actor.acts_for(party):
        who = "sender" if action == "withdraw" else "recipient"
        raise Forbidden(f"only the offer's {who} may {action} it", code=f"not_offer_{who}", rule="R-T6")
    # R-X5: both parties (shared), then the block -- the offer's mutex -- then the log.
    parties = lock_participants(uow, (offer.from_participant_id, offer.to_participant_id))
    block = get_block(uow, offer.serial, lock=True)
    note_rows_locked(uow)
    uow.session.refresh(offer)  # as the winner of any race left it
    rules.require_pending(offer.state)
    if action == "accept":
        today = uow.clock.today()
        rules.require_acceptable(today, offer.lapses_on)
        require_in_use_period(block.generation_year, today)  # R-E1 (the lapse date already keeps inside it)
        require_active(parties[offer.from_participant_id], "holder")  # R-T3: both parties active
        require_active(parties[offer.to_participant_id], "recipient")
    close(uow, actor, offer, block, rules.OUTCOMES[action])
    return view(uow, offer)


def get_offer(uow: UnitOfWork, actor: Actor, offer_id: int) -> OfferView:
    return view(uow, _readable(uow, actor, offer_id))


def list_offers(uow: UnitOfWork, actor: Actor, *, role: str, state: str | None = None,
                participant_id: int | None = None, limit: int = 100, cursor: str | None = None) -> Page:
    """The offers a participant sent (``role=sender``) or received
    (``recipient``), oldest first. Members list their own participant's;
    administrators name one with ``participant_id``."""
    if role not in ("sender", "recipient"):
        raise InvalidInput("role is sender or recipient", field="role", code="invalid_choice")
    if state is not None and state not in rules.STATES:
        raise InvalidInput(f"state is one of {', '.join(rules.STATES)}", field="state", code="invalid_choice")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit", code="out_of_range")
    party = participant_id if participant_id is not None else actor.participant_id
    if party is None or not actor.acts_for(party):
        raise Forbidden("you may list only your own participant's offers", code="not_owner", rule="R-P4")
    column = Offer.from_participant_id if role == "sender" else Offer.to_participant_id
    query = select(Offer).where(column == party)
    if state is not None:
        query = query.where(Offer.state == state)
    if cursor is not None:
        after = decode_cursor(cursor)
        if not (after.isascii() and after.isdigit()):
            raise InvalidInput("not a cursor from this API", field="cursor", code="invalid_cursor")
        query = query.where(Offer.id > int(after))
    rows = list(uow.session.exec(query.order_by(Offer.id).limit(limit + 1)))
    items = rows[:limit]
    return Page([view(uow, o) for o in items], encode_cursor(str(items[-1].id)) if len(rows) > limit else None)


def pending_offer_of(uow: UnitOfWork, serial: str) -> Offer | None:
    """The pending offer holding block ``serial``, if any (fresh from the database)."""
    return uow.session.exec(select(Offer).where(Offer.serial == serial, Offer.state == rules.PENDING)
                            .execution_options(populate_existing=True)).first()

"""Disputed blocks after a back-dated certificate finding (R-C5).

A certifier may find that a certificate was not valid from a day in the
past: a suspension or revocation recorded with an earlier effective date.
Every block generated from a lot processed under that certificate on a day
the finding makes not valid -- as the register now stands -- is then marked
``disputed``, one ``block.disputed`` entry per block, in the transaction
that records the event. Which blocks: those of the lots whose processing day
the new event turns from valid into not valid (`newly_invalid`), in state
``active`` or ``retired`` and not already under an open dispute (a block
whose earlier dispute was cleared is disputed again by a new finding).

A disputed active block does not move: transfer, split and retirement are
409 ``block_disputed`` (`require_not_disputed`), and neither expiry nor the
removal job ends it silently (SPEC §16, docs/decisions.md). An
administrator, on the certifier's word, decides (`decide`):

- ``cancel``: an active block (any holder) becomes ``cancelled``
  (``block.dispute_cancelled``, R-E5) and the lot's ARC-eligible mass is NOT
  restored; a retired block keeps its retirement (RMS 8.8.3) and the finding
  is recorded as ``upheld`` (``block.dispute_upheld``);
- ``clear``: the block is normal again (``block.dispute_cleared``).

Every field of ``block_dispute`` and ``block.disputed`` is written with its
log entry; replay (`registry.replay.disputes`) re-derives the marks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import select

from registry import certification
from registry.actors import Actor, require_role
from registry.blocks import end_block, get_block
from registry.db import UnitOfWork, for_update
from registry.errors import Conflict, Forbidden, InvalidInput
from registry.journal import LogRef, record
from registry.lockorder import note_rows_locked
from registry.notifications import announce
from registry.models import Block, BlockDispute, Lot, RmsCertificate

DISPUTING = (certification.SUSPENDED, certification.REVOKED)
MARKED_STATES = ("active", "retired")  # what a holder still holds, and what was claimed
DECISIONS = ("cancel", "clear")


def newly_invalid(day: date, periods: Iterable, before: Iterable, after: Iterable) -> bool:
    """R-C5: the certificate was valid on ``day`` before the event and is not
    valid with it (R-C3, over every validity period, R-C6). Pure, so that
    replay applies the same rule."""
    periods = certification.period_list(periods)
    return certification.is_valid_on(day, periods, before) and not certification.is_valid_on(day, periods, after)


def lots_citing(uow: UnitOfWork, cert: RmsCertificate) -> list[Lot]:
    return list(uow.session.exec(select(Lot).where(Lot.rms_certificate_id == cert.id).order_by(Lot.id)))


def affected_lots(lots: list[Lot], cert: RmsCertificate, before: list, after: list) -> dict[int, Lot]:
    return {lot.id: lot for lot in lots
            if newly_invalid(lot.processed_on, cert.periods or [(cert.issued_on, cert.expires_on)], before, after)}


def lock_blocks_to_dispute(uow: UnitOfWork, lot_ids: Iterable[int]) -> list[Block]:
    """The blocks of these lots to mark, under row locks in serial order (R-X5:
    after the participants, before the log). Read again until stable: a
    split that committed while we waited replaced a parent by children our
    first read could not see; once every such block is locked none can
    split, and new blocks of these lots need their generator's lock, which
    the caller holds exclusively."""
    ids = sorted(set(lot_ids))
    if not ids:
        return []
    seen: list[str] | None = None
    while True:
        blocks = list(uow.session.exec(for_update(
            select(Block).where(Block.lot_id.in_(ids), Block.state.in_(MARKED_STATES),
                                Block.disputed.is_(False))
            .order_by(Block.serial).execution_options(populate_existing=True))))
        note_rows_locked(uow)
        serials = [b.serial for b in blocks]
        if serials == seen:
            return blocks
        seen = serials


def mark(uow: UnitOfWork, actor: Actor, cert: RmsCertificate, event, finding: LogRef,
         blocks: list[Block], lots: dict[int, Lot]) -> list[BlockDispute]:
    """One ``block.disputed`` entry per block (R-C5), after the event's entry."""
    out = []
    now = uow.clock.now()
    for block in blocks:
        lot = lots[block.lot_id]
        ref = record(uow, "block.disputed", actor, {
            "serial": block.serial, "state": block.state, "owner": block.owner_id,
            "generator": block.generator_id, "quantity": format(block.quantity, "f"),
            "lot": lot.id, "lot_processed_on": lot.processed_on.isoformat(),
            "certificate": cert.number, "event": event.id, "event_kind": event.kind,
            "on": event.on.isoformat(), "reason": event.reason, "finding": finding.index})
        block.disputed = True
        block.updated_at = now
        dispute = BlockDispute(
            serial=block.serial, certificate_id=cert.id, event_id=event.id, event_kind=event.kind,
            event_on=event.on, reason=event.reason, lot_id=lot.id, lot_processed_on=lot.processed_on,
            block_state=block.state, log_index=ref.index, disputed_at=now)
        uow.session.add(dispute)
        announce.disputed(uow, block, cert.number, event.kind, ref.index)  # R-N1
        out.append(dispute)
    uow.flush()
    return out


def require_not_disputed(block: Block) -> None:
    """R-C5: a disputed block does not move (transfer, split, retirement,
    a correction) until an administrator cancels or clears it."""
    if block.disputed:
        raise Conflict(f"block {block.serial} is disputed: its lot was processed while its RMS certificate was "
                       "not valid (a certifier's finding); it cannot move until an administrator cancels or "
                       "clears it", code="block_disputed", rule="R-C5")


def _open_dispute(uow: UnitOfWork, serial: str) -> BlockDispute | None:
    return uow.session.exec(select(BlockDispute).where(BlockDispute.serial == serial,
                                                       BlockDispute.outcome == "open")
                            .order_by(BlockDispute.id.desc())).first()


@dataclass(frozen=True)
class Decision:
    block: Block
    dispute: BlockDispute


def decide(uow: UnitOfWork, actor: Actor, serial: str, *, decision: str, reason: str) -> Decision:
    """The administrator's decision on a disputed block, on the certifier's
    word (R-C5): ``cancel`` or ``clear``. Not status-dependent, so no
    participant lock: the block row, then the log (R-X5)."""
    require_role(actor, "admin")
    if decision not in DECISIONS:
        raise InvalidInput(f"decision is one of {', '.join(DECISIONS)}", field="decision")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a decision needs a reason", field="reason", rule="R-C5")
    block = get_block(uow, serial, lock=True)
    note_rows_locked(uow)
    dispute = _open_dispute(uow, serial) if block.disputed else None
    if dispute is None:
        raise Conflict(f"block {serial} is not disputed", code="block_not_disputed", rule="R-C5")
    cert = uow.session.get(RmsCertificate, dispute.certificate_id)
    details = {"certificate": cert.number, "event": dispute.event_id, "dispute_entry": dispute.log_index,
               "reason": reason}
    block.disputed = False
    if decision == "cancel" and block.state == "active":
        # R-E5 for any holder; the lot's ARC-eligible mass is NOT restored (R-C5).
        ref = end_block(uow, block, "cancelled", "block.dispute_cancelled", actor, **details)
        outcome = "cancelled"
    else:
        outcome = "cleared" if decision == "clear" else "upheld"  # a retired block keeps its retirement
        block.updated_at = uow.clock.now()
        ref = record(uow, f"block.dispute_{outcome}", actor,
                     {"serial": block.serial, "state": block.state, "owner": block.owner_id, **details})
        announce.dispute_decided(uow, block, outcome, ref.index)  # R-N1
    dispute.outcome = outcome
    dispute.decision_reason = reason
    dispute.decided_by = actor.user_id
    dispute.decided_at = uow.clock.now()
    dispute.decision_log_index = ref.index
    uow.flush()
    return Decision(block, dispute)


# --- Reads: the public notices and the certifier's list ----------------------------------------


def disputes_of(uow: UnitOfWork, serial: str) -> list[BlockDispute]:
    """Public: a block's disputes and their outcomes, oldest first."""
    return list(uow.session.exec(select(BlockDispute).where(BlockDispute.serial == serial)
                                 .order_by(BlockDispute.id)))


def disputes_of_certificate(uow: UnitOfWork, cert: RmsCertificate) -> list[BlockDispute]:
    return list(uow.session.exec(select(BlockDispute).where(BlockDispute.certificate_id == cert.id)
                                 .order_by(BlockDispute.id)))


@dataclass(frozen=True)
class AffectedBlock:
    serial: str
    quantity: object
    arc_code: str
    state: str
    owner_id: int
    lot_id: int
    lot_processed_on: date
    event_id: int
    event_kind: str
    event_on: date
    outcome: str
    disputed_log_index: int
    decision_log_index: int | None


def affected(uow: UnitOfWork, actor: Actor, number: str) -> list[AffectedBlock]:
    """What the certificate's findings affected (R-C5): every disputed block,
    its holder and the outcome. For the certifier of the issuing body and
    administrators."""
    from registry.rms_certificates import get_certificate  # registry.rms_certificates imports this module

    require_role(actor, "certifier", "admin")
    certification.parse_certificate_number(number)
    cert = get_certificate(uow, number)
    if actor.role == "certifier" and actor.body_code != cert.body_code:
        raise Forbidden(f"certificates of body {cert.body_code} are read by that body only",
                        code="wrong_certification_body", rule="R-C2")
    out = []
    for d in disputes_of_certificate(uow, cert):
        block = uow.session.get(Block, d.serial)
        out.append(AffectedBlock(
            serial=d.serial, quantity=block.quantity, arc_code=block.arc_code, state=block.state,
            owner_id=block.owner_id, lot_id=d.lot_id, lot_processed_on=d.lot_processed_on,
            event_id=d.event_id, event_kind=d.event_kind, event_on=d.event_on, outcome=d.outcome,
            disputed_log_index=d.log_index, decision_log_index=d.decision_log_index))
    return out


@dataclass(frozen=True)
class Notice:
    """A dispute as the public pages show it (R-C5)."""

    certificate: str
    event_kind: str
    event_on: date
    reason: str
    lot_processed_on: date
    block_state: str
    outcome: str
    decision_reason: str | None
    decided_on: date | None
    log_index: int
    decision_log_index: int | None


def notices(uow: UnitOfWork, serial: str) -> list[Notice]:
    """Public: the block's disputes with their certificate numbers and outcomes."""
    out = []
    for d in disputes_of(uow, serial):
        cert = uow.session.get(RmsCertificate, d.certificate_id)
        out.append(Notice(cert.number, d.event_kind, d.event_on, d.reason, d.lot_processed_on, d.block_state,
                          d.outcome, d.decision_reason, d.decided_at.date() if d.decided_at else None,
                          d.log_index, d.decision_log_index))
    return out


def certificate_summary(uow: UnitOfWork, number: str) -> dict[str, int]:
    """Public: how many blocks the certificate's findings disputed, by outcome."""
    cert = uow.session.exec(select(RmsCertificate).where(RmsCertificate.number == number)).first()
    counts: dict[str, int] = {}
    for d in disputes_of_certificate(uow, cert) if cert else ():
        counts[d.outcome] = counts.get(d.outcome, 0) + 1
    return counts

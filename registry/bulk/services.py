"""Bulk transfers and retirements (R-T7).

Each item goes through the same service as a single request
(`registry.transfers.transfer`, `registry.retirements.retire`), so every
rule holds per item; the bulk adds the limits (1 to `MAX_ITEMS` items, no
serial twice: an item moves a block's lower serials, and a second item on
the same serial would act on what the first left behind), the lock order,
and the error that names the item (``items.3.quantity``).

Lock order (R-X5) for many blocks: every participant involved (the blocks'
owners, read without a lock, and the recipients) in one sorted statement,
then every block in serial order, then the log. The items then run in the
request's order; their own lock calls find the locks already held. Any
refused item rolls the whole request back (the caller's transaction).

A bulk retirement's entries carry ``bulk: {item, items}``; its id is the
index of its first entry, which every item's ``retirement.bulk_id`` holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import select

from registry import retirements, transfers
from registry.actors import Actor
from registry.db import UnitOfWork, for_update
from registry.errors import InvalidInput, NotFound, RegistryError
from registry.lockorder import hold_prelocked, lock_new_owner, lock_participants, note_rows_locked
from registry.models import Block, Participant, Retirement
from registry.notifications import events
from registry.offers import rules as offer_rules

MAX_ITEMS = 1000
T = TypeVar("T")


def check_items(items: Sequence[dict]) -> None:
    """R-T7: 1 to 1 000 items, each serial at most once (R-X2: nothing written)."""
    if not 1 <= len(items) <= MAX_ITEMS:
        raise InvalidInput(f"a bulk request holds 1 to {MAX_ITEMS} items, not {len(items)}", field="items",
                           code="too_many_items" if items else "no_items", rule="R-T7")
    first: dict[str, int] = {}
    for k, item in enumerate(items):
        serial = item["serial"]
        if serial in first:
            raise InvalidInput(f"items {first[serial]} and {k} both name block {serial}; name each block once",
                               field=f"items.{k}.serial", code="duplicate_serial", rule="R-T7")
        first[serial] = k


def _for_item(k: int, error: RegistryError) -> RegistryError:
    """The item's error, its fields renamed ``items.k.<field>`` (R-X1, R-X2)."""
    fields = error.errors or {error.field or "serial": [error.detail]}
    error.errors = {f"items.{k}.{name}": messages for name, messages in fields.items()}
    error.field = next(iter(error.errors))
    error.detail = f"items[{k}]: {error.detail}"
    error.args = (error.detail,)
    return error


def _each(uow: UnitOfWork, items: Sequence[dict], run: Callable[[int, dict], T]) -> list[T]:
    out = []
    with events.deferred(uow):  # the items' events, written together at the end (R-N1)
        for k, item in enumerate(items):
            try:
                out.append(run(k, item))
            except RegistryError as error:
                raise _for_item(k, error) from None
    return out


def _lock(uow: UnitOfWork, serials: list[str], recipients: list[int] = ()) -> None:
    """R-X5: participants (owners and recipients, shared), then blocks in serial order."""
    owners = dict(uow.session.exec(select(Block.serial, Block.owner_id).where(Block.serial.in_(serials))).all())
    for k, serial in enumerate(serials):
        if serial not in owners:
            raise _for_item(k, NotFound(f"no block {serial}", code="block_not_found", field="serial"))
    held = lock_participants(uow, {*owners.values(), *recipients})
    for k, pid in enumerate(recipients):
        if pid not in held:  # refused here: a later lock of an unknown id would break the order
            raise _for_item(k, NotFound(f"no participant {pid}", field="to_participant_id",
                                        code="participant_not_found"))
    blocks = {b.serial: b for b in uow.session.exec(
        for_update(select(Block).where(Block.serial.in_(serials)).order_by(Block.serial)))}
    note_rows_locked(uow)
    for k, serial in enumerate(serials):
        owner = blocks[serial].owner_id
        if owner not in held:  # a racing transfer of the whole block committed before our lock
            held[owner] = lock_new_owner(uow, owner)
    hold_prelocked(uow, blocks, held)


def transfer_many(uow: UnitOfWork, actor: Actor, *, items: Sequence[dict]) -> list[transfers.TransferResult]:
    """R-T7: ``items`` of ``{serial, quantity, to_participant_id[, lapses_on]}``,
    each a transfer (or an offer to a reviewing recipient, R-T6)."""
    check_items(items)
    _lock(uow, [i["serial"] for i in items], [i["to_participant_id"] for i in items])
    return _each(uow, items, lambda k, item: transfers.transfer(uow, actor, **item))


@dataclass(frozen=True)
class ItemCheck:
    """One item of a bulk transfer's preview: its refusal, or whom it goes to."""

    error: RegistryError | None
    recipient: Participant | None = None

    @property
    def becomes_offer(self) -> bool:  # R-T6: the recipient reviews incoming transfers
        return self.recipient is not None and self.recipient.incoming_transfers == offer_rules.REVIEW


def preview_transfers(uow: UnitOfWork, actor: Actor, items: Sequence[dict]) -> list[ItemCheck]:
    """R-T7's checks of every item at once, without a lock or a write (the
    workspace's preview of a CSV upload, R-W3): each item's refusal, with
    its fields named ``items.k.<field>``, or None. `transfer_many` checks
    them all again, under its locks."""
    if not 1 <= len(items) <= MAX_ITEMS:
        check_items(items)  # raises the list's own refusal
    first: dict[str, int] = {}
    out = []
    for k, item in enumerate(items):
        serial = item["serial"]
        if serial in first:
            error = InvalidInput(f"items {first[serial]} and {k} both name block {serial}; name each block once",
                                 field="serial", code="duplicate_serial", rule="R-T7")
            out.append(ItemCheck(_for_item(k, error)))
            continue
        first[serial] = k
        try:
            out.append(ItemCheck(None, transfers.check_transfer(uow, actor, **item)))
        except RegistryError as error:
            out.append(ItemCheck(_for_item(k, error)))
    return out


@dataclass(frozen=True)
class BulkRetirement:
    id: int  # the index of its first entry
    retirements: list[tuple[Retirement, Block, Block | None]]  # each record, its block and remainder


def retire_many(uow: UnitOfWork, actor: Actor, *, items: Sequence[dict], **claim) -> BulkRetirement:
    """R-T7: one claim (beneficiary, claim type, reporting year, …) on
    ``items`` of ``{serial, quantity}``, each a retirement (R-R1) and its
    own ``block.retired`` entry, all under one statement."""
    check_items(items)
    _lock(uow, [i["serial"] for i in items])
    done = _each(uow, items, lambda k, item: retirements.retire_block(
        uow, actor, serial=item["serial"], quantity=item["quantity"], **claim,
        bulk={"item": k, "items": len(items)}))
    uow.flush()
    return BulkRetirement(done[0][0].log_index, done)


def bulk_retirement(uow: UnitOfWork, bulk_id: int) -> list[Retirement]:
    """Public (R-R2, R-T7): a bulk retirement's items, in order."""
    rows = list(uow.session.exec(select(Retirement).where(Retirement.bulk_id == bulk_id)
                                 .order_by(Retirement.log_index)))
    if not rows:
        raise NotFound(f"no bulk retirement {bulk_id}", code="bulk_retirement_not_found")
    return rows

"""The latest signed checkpoint and the witnesses that cosigned it, as the
home page shows them (R-L4, R-L9)."""

from __future__ import annotations

from dataclasses import dataclass

from chainlog.checkpoint import parse_checkpoint
from chainlog.keys import Signer
from chainlog.note import parse_note
from registry import transparency, witnesses
from registry.db import UnitOfWork


@dataclass(frozen=True)
class CheckpointView:
    origin: str
    size: int
    root: str  # base64, as in the note
    time: str
    note: str  # the signed note with every stored cosignature line
    cosigned_by: list[str]  # witness names whose cosignature lines the note carries
    registered_witnesses: list[str]


def summary(note: str) -> dict:
    """Origin and size of a signed checkpoint note, for a page to print."""
    checkpoint = parse_checkpoint(parse_note(note).text)
    return {"size": checkpoint.size, "origin": checkpoint.origin, "note": note}


def checkpoint_view(uow: UnitOfWork, signer: Signer, origin: str) -> CheckpointView:
    """The checkpoint covering every committed entry (signed now if the tree
    grew: the caller commits) with the witnesses' cosignatures stored for it."""
    stored = transparency.current_checkpoint(uow, signer, origin)
    note = witnesses.cosigned_note(uow, stored)
    names = [s.name for s in parse_note(note).signatures if s.name != signer.name]
    registered = [w.name for w in witnesses.list_witnesses(uow, None)]
    text = parse_note(note).text
    return CheckpointView(origin=origin, size=stored.size, root=text.split("\n")[2], time=stored.time,
                          note=note, cosigned_by=names, registered_witnesses=registered)

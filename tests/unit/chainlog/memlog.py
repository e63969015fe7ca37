"""An in-memory log that writes the export format, for verifier tests without a database."""

from __future__ import annotations

import json

from chainlog import merkle
from chainlog.canonical import entry_canonical
from chainlog.chain import GENESIS_HASH, chain_hash
from chainlog.checkpoint import Checkpoint, sign_checkpoint
from chainlog.compact import CompactRange
from chainlog.export import checkpoint_line, entry_line
from chainlog.keys import Signer
from chainlog.store import StoredEntry

TIME = "2026-11-23T11:37:17.123456Z"


class MemoryLog:
    def __init__(self, signer: Signer, origin: str = "registry.example/log") -> None:
        self.signer, self.origin = signer, origin
        self.lines: list[str] = []
        self.size = 0
        self._prev = GENESIS_HASH
        self._tree = CompactRange()

    def append(self, payload: dict, type: str = "block.transferred", actor: str = "user:1") -> StoredEntry:
        canonical = entry_canonical(self.size, TIME, type, actor, payload)
        leaf = merkle.leaf_hash(canonical)
        self._prev = chain_hash(self._prev, canonical)
        self._tree.append(leaf)
        # As the store does: the payload is read back from the canonical text.
        text = canonical.decode()
        e = StoredEntry(self.size, TIME, type, actor, json.loads(text)["payload"], text, leaf, self._prev)
        self.lines.append(entry_line(e))
        self.size += 1
        return e

    def append_hashed(self, data: bytes) -> None:
        """Append any bytes as the hashed text, with hashes that match them (for damage tests)."""
        leaf = merkle.leaf_hash(data)
        self._prev = chain_hash(self._prev, data)
        self._tree.append(leaf)
        self.lines.append(entry_line(StoredEntry(self.size, TIME, "t", "a", {}, data.decode(), leaf, self._prev)))
        self.size += 1

    def checkpoint(self, signer: Signer | None = None) -> str:
        note = sign_checkpoint(Checkpoint(self.origin, self.size, self._tree.root()), signer or self.signer)
        self.lines.append(checkpoint_line(note))
        return note


def fill(log: MemoryLog, n: int, every: int = 5) -> MemoryLog:
    for i in range(n):
        log.append({"serial": f"US-PC_P_PE_ARC-2026-{i:06d}", "quantity": f"{i}.000", "n": i})
        if (i + 1) % every == 0:
            log.checkpoint()
    return log


def earlier_format(line: str) -> str:
    """The same entry line in the earlier export format: fields, then the hashed text as a string."""
    obj = json.loads(line)
    if "entry" not in obj:
        return line
    entry = obj["entry"]
    text = line[line.index(',"entry":') + len(',"entry":') : line.rindex("}")]
    old = {k: entry[k] for k in ("index", "time", "type", "actor", "payload")}
    old.update(canonical=text, leaf_hash=obj["leaf_hash"], entry_hash=obj["entry_hash"])
    return json.dumps(old, ensure_ascii=False, separators=(",", ":")) + "\n"


def rewrite(line: str, **changes) -> str:
    obj = json.loads(line)
    obj.update(changes)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

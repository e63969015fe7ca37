"""The bare limit of log verification, shared by bench/chainlog_verify.py and
bench/verify_log.py: the SHA-256 work verification inherently needs, timed on
entry bytes already in memory — per entry the chain hash over prev ‖ bytes
(R-L2) and the leaf hash over 0x00 ‖ bytes (R-L3), plus the n − 1 interior
nodes of the Merkle tree."""

from __future__ import annotations

import hashlib
import time

GENESIS_HASH = bytes(32)


def hash_work(texts: list[bytes]) -> dict:
    """Time the hashing of `texts` (the entries' hashed bytes, in order): seconds, CPU and the root."""
    sha256 = hashlib.sha256
    t, c = time.perf_counter(), time.process_time()
    prev, leaves = GENESIS_HASH, []
    append = leaves.append
    for data in texts:
        prev = sha256(prev + data).digest()  # R-L2 chain hash
        append(sha256(b"\x00" + data).digest())  # R-L3 leaf hash
    level = leaves
    while len(level) > 1:  # the n - 1 interior nodes
        nxt = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
            "root": level[0].hex() if level else None}

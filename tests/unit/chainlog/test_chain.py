"""Hash chain (R-L2) and lineage links (R-L2b)."""

from __future__ import annotations

import hashlib

import pytest

from chainlog import PayloadError, VerificationError, merkle
from chainlog.chain import GENESIS_HASH, chain_hash, lineage_link, parse_lineage_link, verify_lineage_link


def test_entry_zero_chains_from_32_zero_bytes():
    canonical = b'{"actor":"a","index":0,"payload":{},"time":"2026-11-23T11:37:17.123456Z","type":"t"}'
    assert GENESIS_HASH == bytes(32)
    assert chain_hash(GENESIS_HASH, canonical) == hashlib.sha256(bytes(32) + canonical).digest()
    with pytest.raises(ValueError):
        chain_hash(b"short", canonical)


def test_lineage_link_round_trip():
    leaf = merkle.leaf_hash(b"x")
    link = lineage_link(12, leaf)
    assert link == {"index": 12, "leaf_hash": leaf.hex()}
    assert parse_lineage_link(link) == (12, leaf)
    verify_lineage_link(link, index=12, leaf_hash=leaf)
    with pytest.raises(VerificationError) as info:
        verify_lineage_link(link, index=12, leaf_hash=merkle.leaf_hash(b"y"))
    assert info.value.kind == "chain_broken" and info.value.index == 12


@pytest.mark.parametrize(
    "link",
    [
        None,
        {"index": 1},
        {"index": -1, "leaf_hash": "00" * 32},
        {"index": True, "leaf_hash": "00" * 32},
        {"index": 1, "leaf_hash": "AB" * 32},
        {"index": 1, "leaf_hash": "00" * 31},
        {"index": 1, "leaf_hash": "00" * 32, "extra": 1},
    ],
)
def test_malformed_links_are_refused(link):
    with pytest.raises(VerificationError):
        parse_lineage_link(link)


def test_links_need_a_real_entry():
    with pytest.raises(PayloadError):
        lineage_link(-1, bytes(32))
    with pytest.raises(PayloadError):
        lineage_link(1, b"short")

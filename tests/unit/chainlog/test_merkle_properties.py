"""Property tests: every generated proof verifies; every mutated proof fails (R-L3)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainlog import VerificationError, merkle
from chainlog.compact import CompactRange

MAX = 300
LEAVES = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(MAX)]
ROOTS = [merkle.root(LEAVES[:n]) for n in range(MAX + 1)]

sizes = st.integers(min_value=1, max_value=MAX)


def _mutations(draw, proof):
    """(description, mutated proof) — each one must not verify."""
    kind = draw(st.sampled_from(["flip", "drop", "extra", "duplicate"] if proof else ["extra"]))
    if kind == "flip":
        i = draw(st.integers(0, len(proof) - 1))
        byte = draw(st.integers(0, 31))
        bit = draw(st.integers(0, 7))
        h = bytearray(proof[i])
        h[byte] ^= 1 << bit
        return kind, proof[:i] + [bytes(h)] + proof[i + 1 :]
    if kind == "drop":
        i = draw(st.integers(0, len(proof) - 1))
        return kind, proof[:i] + proof[i + 1 :]
    if kind == "duplicate":
        i = draw(st.integers(0, len(proof) - 1))
        return kind, proof[: i + 1] + proof[i:]
    i = draw(st.integers(0, len(proof)))
    extra = draw(st.binary(min_size=32, max_size=32))
    return kind, proof[:i] + [extra] + proof[i:]


def _shape(index: int, size: int) -> list[bool]:
    """Which side each audit-path sibling is on: a proof cannot tell apart sizes of equal shape."""
    return [b <= index for a, b in merkle.inclusion_ranges(index, size)]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), size=sizes)
def test_inclusion_proofs_verify_and_mutations_fail(data, size):
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(LEAVES, index, size)
    merkle.verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])

    desc, bad = _mutations(data.draw, proof)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(LEAVES[index], index, size, bad, ROOTS[size])

    other = data.draw(st.integers(0, MAX + 5).filter(lambda i: i != index))
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(LEAVES[index], other, size, proof, ROOTS[size])

    wrong_size = data.draw(st.integers(0, MAX).filter(lambda n: n != size))
    if wrong_size <= index or _shape(index, wrong_size) != _shape(index, size):
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(LEAVES[index], index, wrong_size, proof, ROOTS[size])

    with pytest.raises(VerificationError):  # a different leaf
        merkle.verify_inclusion(LEAVES[(index + 1) % MAX], index, size, proof, ROOTS[size])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), second=sizes)
def test_consistency_proofs_verify_and_mutations_fail(data, second):
    first = data.draw(st.integers(0, second))
    proof = merkle.consistency_proof(LEAVES, first, second)
    merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)

    if 0 < first < second:
        desc, bad = _mutations(data.draw, proof)
        with pytest.raises(VerificationError):
            merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], bad)
    else:  # no proof is needed: any hash added is wrong
        with pytest.raises(VerificationError):
            merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], [ROOTS[second]])

    if first > 0 and first < second:
        wrong = data.draw(st.integers(1, MAX).filter(lambda n: n != first))
        with pytest.raises(VerificationError):  # the other tree's root does not fit
            merkle.verify_consistency(first, second, ROOTS[wrong], ROOTS[second], proof)
        with pytest.raises(VerificationError):
            merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second - 1], proof)
        with pytest.raises(VerificationError):
            merkle.verify_consistency(second, first, ROOTS[second], ROOTS[first], proof)


@settings(max_examples=100, deadline=None)
@given(size=st.integers(0, MAX))
def test_compact_range_root_equals_tree_root(size):
    compact = CompactRange()
    for h in LEAVES[:size]:
        compact.append(h)
    assert compact.root() == ROOTS[size]
    assert len(compact.subtree_hashes()) == bin(size).count("1")


@settings(max_examples=200, deadline=None)
@given(data=st.data(), size=sizes)
def test_subtree_nodes_fold_to_the_range_hash(data, size):
    index = data.draw(st.integers(0, size - 1))
    for a, b in merkle.inclusion_ranges(index, size) + [(0, size)]:
        nodes = merkle.subtree_nodes(a, b)
        hashes = [merkle.root(LEAVES[i << lvl : (i + 1) << lvl]) for lvl, i in nodes]
        assert merkle.fold(hashes) == merkle.root(LEAVES[a:b])

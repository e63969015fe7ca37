"""Every refusal of chainlog.merkle, by type, kind and full message (R-L3).

The property and vector tests show that bad proofs fail; these pin *how*:
an outside verifier switches on `kind` and a person reads the message, so
both are part of the contract. Found missing by mutation testing
(docs/testing.md): booleans and floats passed as sizes, and every message's
words, were free to change.
"""

from __future__ import annotations

import pytest

from chainlog import RangeError, VerificationError, merkle

from .merkle_vectors import LEAVES, ROOTS

LEAF_HASHES = [merkle.leaf_hash(d) for d in LEAVES]


def _refusal(error, call, *args):
    with pytest.raises(error) as info:
        call(*args)
    return info.value


def test_node_hash_is_the_interior_node_of_two_leaves():
    # RFC 9162 §2.1.1: MTH of two leaves is SHA-256(0x01 ‖ left ‖ right), not the other order.
    assert merkle.node_hash(LEAF_HASHES[0], LEAF_HASHES[1]) == ROOTS[2]
    assert merkle.node_hash(LEAF_HASHES[1], LEAF_HASHES[0]) != ROOTS[2]


@pytest.mark.parametrize("bad", [True, False, 2.0, -1, "3"])
def test_proof_generation_takes_only_non_negative_integers(bad):
    msg = f"tree indexes and sizes are non-negative integers, not {bad!r}"
    for call, args in [
        (merkle.inclusion_ranges, (bad, 8)),
        (merkle.inclusion_ranges, (0, bad)),
        (merkle.consistency_ranges, (bad, 8)),
        (merkle.consistency_ranges, (1, bad)),
        (merkle.subtree_nodes, (bad, 8)),
        (merkle.subtree_nodes, (0, bad)),
    ]:
        assert str(_refusal(RangeError, call, *args)) == msg, (call.__name__, args)


def test_proof_generation_messages():
    assert str(_refusal(RangeError, merkle.inclusion_ranges, 3, 3)) == "index 3 is not in a tree of size 3"
    assert str(_refusal(RangeError, merkle.consistency_ranges, 5, 4)) == "first size 5 is larger than second size 4"
    assert str(_refusal(RangeError, merkle.subtree_nodes, 1, 3)) == "range [1, 3) is not a subtree range of RFC 9162"
    assert (
        str(_refusal(RangeError, merkle.inclusion_proof, LEAF_HASHES, 0, 9))
        == "tree size 9 is larger than the 8 leaves given"
    )
    assert (
        str(_refusal(RangeError, merkle.consistency_proof, LEAF_HASHES, 2, 9))
        == "tree size 9 is larger than the 8 leaves given"
    )


@pytest.mark.parametrize("bad", [True, 2.0, -1, "3"])
def test_verification_takes_only_non_negative_integers(bad):
    msg = f"tree indexes and sizes must be non-negative integers, not {bad!r}"
    leaf, root = LEAF_HASHES[0], ROOTS[2]
    for call, args in [
        (merkle.verify_inclusion, (leaf, bad, 2, [LEAF_HASHES[1]], root)),
        (merkle.verify_inclusion, (leaf, 0, bad, [], leaf)),
        (merkle.verify_consistency, (bad, 2, ROOTS[1], root, [LEAF_HASHES[1]])),
        (merkle.verify_consistency, (1, bad, ROOTS[1], ROOTS[1], [])),
    ]:
        err = _refusal(VerificationError, call, *args)
        assert (err.kind, str(err)) == ("bad_proof", msg), (call.__name__, args)


def test_inclusion_refusals():
    leaf = LEAF_HASHES[5]
    proof = merkle.inclusion_proof(LEAF_HASHES, 5, 7)
    assert len(proof) == 3  # two siblings below the split, one on the right border

    def refused(*args):
        err = _refusal(VerificationError, merkle.verify_inclusion, *args)
        return err.kind, str(err)

    assert refused(leaf, 7, 7, proof, ROOTS[7]) == ("bad_proof", "index 7 out of range for tree size 7")
    assert refused(leaf, 5, 7, proof[:-1], ROOTS[7]) == (
        "bad_proof",
        "inclusion proof for index 5 in tree size 7: expected 3 hashes, got 2",
    )
    assert refused(leaf[:31], 5, 7, proof, ROOTS[7]) == (
        "bad_proof",
        "leaf hash[0] must be a 32-byte SHA-256 hash, got 31 bytes",
    )
    assert refused(leaf, 5, 7, [proof[0], proof[1].hex()], ROOTS[7]) == (
        "bad_proof",
        "proof[1] must be a 32-byte SHA-256 hash, got str",
    )
    assert refused(leaf, 5, 7, proof, ROOTS[6]) == (
        "root_mismatch",
        f"root hash at size 7 mismatched: expected {ROOTS[6].hex()}, computed {ROOTS[7].hex()}",
    )


def test_consistency_refusals():
    proof = merkle.consistency_proof(LEAF_HASHES, 5, 7)
    assert len(proof) == 4  # the seed, two inner siblings, one on the border

    def refused(*args):
        err = _refusal(VerificationError, merkle.verify_consistency, *args)
        return err.kind, str(err)

    assert refused(5, 4, ROOTS[5], ROOTS[4], proof) == ("bad_proof", "tree size 5 > 4: a log cannot shrink")
    assert refused(4, 4, ROOTS[4], ROOTS[4], proof[:1]) == (
        "bad_proof",
        "consistency proof 4 -> 4: expected 0 hashes, got 1",
    )
    assert refused(0, 4, ROOTS[0], ROOTS[4], proof[:1]) == (
        "bad_proof",
        "consistency proof 0 -> 4: expected 0 hashes, got 1",
    )
    assert refused(4, 4, ROOTS[4], ROOTS[5], []) == (
        "root_mismatch",
        f"root hash at size 4 mismatched: expected {ROOTS[5].hex()}, computed {ROOTS[4].hex()}",
    )
    assert refused(3, 7, ROOTS[3], ROOTS[7], []) == ("bad_proof", "consistency proof 3 -> 7: empty proof")
    assert refused(5, 7, ROOTS[5], ROOTS[7], [proof[0][:5], *proof[1:]]) == (
        "bad_proof",
        "proof[0] must be a 32-byte SHA-256 hash, got 5 bytes",
    )
    assert refused(5, 7, ROOTS[5], ROOTS[7], proof[:-1]) == (
        "bad_proof",
        "consistency proof 5 -> 7: expected 4 hashes, got 3",
    )
    # The old root is checked first, then the new one; each message names its own size.
    assert refused(5, 7, ROOTS[6], ROOTS[7], proof) == (
        "root_mismatch",
        f"root hash at size 5 mismatched: expected {ROOTS[6].hex()}, computed {ROOTS[5].hex()}",
    )
    assert refused(5, 7, ROOTS[5], ROOTS[6], proof) == (
        "root_mismatch",
        f"root hash at size 7 mismatched: expected {ROOTS[6].hex()}, computed {ROOTS[7].hex()}",
    )

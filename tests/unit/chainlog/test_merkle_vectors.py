"""RFC 9162 tree, proofs and verification against transparency-dev/merkle's vectors (R-L3)."""

from __future__ import annotations

import pytest

from chainlog import RangeError, VerificationError, merkle

from .merkle_vectors import (
    CONSISTENCY_EDGE_CASES,
    CONSISTENCY_PROOFS,
    EMPTY_TREE_HASH,
    INCLUSION_BAD_PROBES,
    INCLUSION_PROOFS,
    LEAVES,
    ROOTS,
    SOME_HASH,
    corrupt_consistency,
    corrupt_inclusion,
    load_testdata,
)

LEAF_HASHES = [merkle.leaf_hash(d) for d in LEAVES]


@pytest.mark.parametrize("size", range(9))
def test_roots_of_the_standard_leaves(size):
    assert merkle.root(LEAF_HASHES[:size]) == ROOTS[size]


def test_empty_tree_is_the_hash_of_nothing():
    assert merkle.EMPTY_ROOT == EMPTY_TREE_HASH == merkle.root([])


@pytest.mark.parametrize("leaf, size, proof", INCLUSION_PROOFS)
def test_inclusion_proofs_are_generated_as_the_reference(leaf, size, proof):
    assert merkle.inclusion_proof(LEAF_HASHES, leaf - 1, size) == proof


@pytest.mark.parametrize("size1, size2, proof", CONSISTENCY_PROOFS)
def test_consistency_proofs_are_generated_as_the_reference(size1, size2, proof):
    assert merkle.consistency_proof(LEAF_HASHES, size1, size2) == proof


@pytest.mark.parametrize("leaf, size, proof", INCLUSION_PROOFS)
def test_inclusion_vectors_verify_and_every_corruption_fails(leaf, size, proof):
    index, leaf_hash, root = leaf - 1, LEAF_HASHES[leaf - 1], ROOTS[size]
    merkle.verify_inclusion(leaf_hash, index, size, proof, root)
    for p_index, p_size, p_root, p_leaf, p_proof, desc in corrupt_inclusion(index, size, proof, root, leaf_hash):
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(p_leaf, p_index, p_size, p_proof, p_root)
            pytest.fail(f"verified a corrupted proof: {desc}")


@pytest.mark.parametrize("size1, size2, proof", CONSISTENCY_PROOFS)
def test_consistency_vectors_verify_and_every_corruption_fails(size1, size2, proof):
    root1, root2 = ROOTS[size1], ROOTS[size2]
    merkle.verify_consistency(size1, size2, root1, root2, proof)
    if not proof:  # verify_test.go probes only non-trivial proofs
        return
    for s1, s2, r1, r2, p, desc in corrupt_consistency(size1, size2, root1, root2, proof):
        with pytest.raises(VerificationError):
            merkle.verify_consistency(s1, s2, r1, r2, p)
            pytest.fail(f"verified a corrupted proof: {desc}")


@pytest.mark.parametrize("size1, size2, root1, root2, proof, want_error", CONSISTENCY_EDGE_CASES)
def test_consistency_edge_cases(size1, size2, root1, root2, proof, want_error):
    if want_error:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(size1, size2, root1, root2, proof)
    else:
        merkle.verify_consistency(size1, size2, root1, root2, proof)


@pytest.mark.parametrize("index, size", INCLUSION_BAD_PROBES)
def test_inclusion_edge_cases_fail(index, size):
    for leaf, root in ((SOME_HASH, b""), (b"", EMPTY_TREE_HASH), (SOME_HASH, EMPTY_TREE_HASH)):
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaf, index, size, [], root)


def test_single_entry_tree():
    # verify_test.go TestVerifyInclusionSingleEntry: root and leaf hash coincide.
    h = merkle.leaf_hash(b"data")
    merkle.verify_inclusion(h, 0, 1, [], h)
    for leaf, root in ((h, b""), (b"", h), (b"", b"")):
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(leaf, 0, 1, [], root)


@pytest.mark.parametrize("path, probe", load_testdata("inclusion"), ids=lambda v: v if isinstance(v, str) else "")
def test_testdata_inclusion_files(path, probe):
    args = (probe["leafHash"], probe["leafIdx"], probe["treeSize"], probe["proof"], probe["root"])
    if probe["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path, probe", load_testdata("consistency"), ids=lambda v: v if isinstance(v, str) else "")
def test_testdata_consistency_files(path, probe):
    args = (probe["size1"], probe["size2"], probe["root1"], probe["root2"], probe["proof"])
    if probe["wantErr"]:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_failures_say_expected_and_computed():
    proof = INCLUSION_PROOFS[1][2]
    with pytest.raises(VerificationError) as info:
        merkle.verify_inclusion(LEAF_HASHES[0], 0, 8, proof, SOME_HASH)
    assert info.value.kind == "root_mismatch"
    assert f"expected {SOME_HASH.hex()}" in str(info.value)
    assert f"computed {ROOTS[8].hex()}" in str(info.value)
    with pytest.raises(VerificationError) as info:
        merkle.verify_inclusion(LEAF_HASHES[0], 0, 8, proof[:-1], ROOTS[8])
    assert info.value.kind == "bad_proof" and "expected 3 hashes, got 2" in str(info.value)


def test_proof_generation_refuses_impossible_requests():
    with pytest.raises(RangeError):
        merkle.inclusion_proof(LEAF_HASHES, 8, 8)
    with pytest.raises(RangeError):
        merkle.inclusion_proof(LEAF_HASHES, 0, 9)  # more leaves than given
    with pytest.raises(RangeError):
        merkle.consistency_proof(LEAF_HASHES, 5, 4)
    with pytest.raises(RangeError):
        merkle.inclusion_proof(LEAF_HASHES, -1, 3)
    assert merkle.consistency_proof(LEAF_HASHES, 0, 8) == []
    assert merkle.consistency_proof(LEAF_HASHES, 8, 8) == []

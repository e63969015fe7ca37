"""RFC 9162 §2.1 Merkle hash tree: leaf/node hashes, roots, proofs, verification (R-L3).

Pure functions over lists of leaf hashes; no IO. The public names here are an
external contract (outside verifiers import them): keep their signatures.

- Generation follows the RFC's recursive definitions (MTH, PATH, SUBPROOF),
  expressed as *leaf ranges* so the database store can fetch exactly the
  stored subtree hashes a proof needs (`inclusion_ranges`,
  `consistency_ranges`, `subtree_nodes`).
- Verification is a port of transparency-dev/merkle ``proof/verify.go``
  (VerifyInclusion / VerifyConsistency, the decompInclProof / chainInner
  formulation), with its current edge cases: index must be < size;
  consistency needs an empty proof and equal roots when sizes are equal, and
  accepts only the empty proof from size 0. It passes that project's vectors
  (tests/unit/chainlog/merkle_vectors.py). Like sigstore-python's
  ``_internal/merkle.py`` it is small private hash helpers plus one public
  verify function per proof kind raising one error (`VerificationError`),
  whose message gives the expected and the computed value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .errors import RangeError, VerificationError

_sha256 = hashlib.sha256
_LEAF = b"\x00"  # RFC 9162 §2.1.1: leaf hash prefix
_NODE = b"\x01"  # RFC 9162 §2.1.1: interior node prefix

#: MTH({}) = SHA-256() (RFC 9162 §2.1.1).
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ‖ d)."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(_NODE + left + right).digest()


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold H(h0, H(h1, … H(hk-1, hk))): the MTH of a range from its `subtree_nodes`."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = _sha256(_NODE + h + acc).digest()
    return acc


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree whose leaves have these hashes (empty → SHA-256 of nothing).

    Pairing level by level and promoting an odd last node gives the RFC's
    split at the largest power of two below n.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        nxt = [_sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_sizes(*values: int) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise RangeError(f"tree indexes and sizes are non-negative integers, not {v!r}")


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges [a, b) whose MTHs form PATH(index, D[size]), bottom-up (RFC 9162 §2.1.3.1)."""
    _check_sizes(index, size)
    if index >= size:
        raise RangeError(f"index {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:  # walk down from the root, so reverse at the end
        k = _split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            m -= k
            lo += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(first, D[second]) (RFC 9162 §2.1.4.1).

    Empty when first == 0 (no proof is defined from the empty tree; the
    verifier accepts only the empty proof) or first == second.
    """
    _check_sizes(first, second)
    if first > second:
        raise RangeError(f"first size {first} is larger than second size {second}")
    if first == 0 or first == second:
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, second, first, True
    while m != hi - lo:  # SUBPROOF(m, D[lo:hi], complete), walking down
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            m -= k
            lo += k
            complete = False
    if not complete:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        out.append((lo, hi))
    out.reverse()
    return out


def subtree_nodes(begin: int, end: int) -> list[tuple[int, int]]:
    """Complete aligned subtrees (level, index) covering [begin, end), largest first.

    For every range the RFC recursion produces (and [0, n)), `fold` of these
    subtrees' hashes is MTH(D[begin:end]); level 0 nodes are leaves.
    """
    _check_sizes(begin, end)
    nodes: list[tuple[int, int]] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin & ((1 << level) - 1):
            raise RangeError(f"range [{begin}, {end}) is not a subtree range of RFC 9162")
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def _range_hash(leaf_hashes: Sequence[bytes], begin: int, end: int) -> bytes:
    return root(leaf_hashes[begin:end])


def _check_available(leaf_hashes: Sequence[bytes], size: int) -> None:
    if size > len(leaf_hashes):
        raise RangeError(f"tree size {size} is larger than the {len(leaf_hashes)} leaves given")


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path for leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3)."""
    ranges = inclusion_ranges(index, size)
    _check_available(leaf_hashes, size)
    return [_range_hash(leaf_hashes, a, b) for a, b in ranges]


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """Consistency proof between the trees of sizes `first` <= `second` (RFC 9162 §2.1.4)."""
    ranges = consistency_ranges(first, second)
    _check_available(leaf_hashes, second)
    return [_range_hash(leaf_hashes, a, b) for a, b in ranges]


# --- verification: transparency-dev/merkle proof/verify.go -------------------------
#
# The chaining below is verify.go's decompInclProof / chainInner /
# chainInnerRight / chainBorderRight (the algorithm sigstore-python also
# uses, and RFC 9162 §2.1.3.2 / §2.1.4.2 in another form).


def _fail_shape(message: str) -> VerificationError:
    return VerificationError(message, kind="bad_proof")


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(hashes):
        if not isinstance(h, (bytes, bytearray)) or len(h) != 32:
            got = f"{len(h)} bytes" if isinstance(h, (bytes, bytearray)) else type(h).__name__
            raise _fail_shape(f"{what}[{i}] must be a 32-byte SHA-256 hash, got {got}")


def _verify_match(size: int, computed: bytes, expected: bytes) -> None:
    if computed != expected:
        raise VerificationError(
            f"root hash at size {size} mismatched: expected {bytes(expected).hex()}, "
            f"computed {computed.hex()}",
            kind="root_mismatch",
        )


def _decomp_inclusion(index: int, size: int) -> tuple[int, int]:
    """Split an audit path where the paths to `index` and `size`-1 diverge.

    `inner` hashes sit below the split (siblings on either side), `border`
    hashes above it are all left siblings on the tree's right border.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 0:
            seed = _sha256(_NODE + seed + h).digest()
        else:
            seed = _sha256(_NODE + h + seed).digest()
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    # Only left siblings: the hash of the earlier version of this subtree.
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = _sha256(_NODE + h + seed).digest()
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = _sha256(_NODE + h + seed).digest()
    return seed


def _check_int(*values: int) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise _fail_shape(f"tree indexes and sizes must be non-negative integers, not {v!r}")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` with `root`.

    Returns None; raises VerificationError (kind ``bad_proof`` or
    ``root_mismatch``) on any failure, including index >= size (so size 0).
    """
    proof = list(proof)
    _check_int(index, size)
    if index >= size:
        raise _fail_shape(f"index {index} out of range for tree size {size}")
    _check_hashes("leaf hash", [leaf_hash])
    _check_hashes("proof", proof)
    inner, border = _decomp_inclusion(index, size)
    if len(proof) != inner + border:
        raise _fail_shape(
            f"inclusion proof for index {index} in tree size {size}: expected {inner + border} hashes, got {len(proof)}"
        )
    computed = _chain_inner(bytes(leaf_hash), proof[:inner], index)
    computed = _chain_border_right(computed, proof[inner:])
    _verify_match(size, computed, bytes(root))


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of size `first` with `first_root` is a prefix of the one of `second`.

    Returns None; raises VerificationError on any failure. first == second
    needs an empty proof and equal roots; first == 0 accepts only the empty
    proof (verify.go: any tree is consistent with the empty one).
    """
    proof = list(proof)
    _check_int(first, second)
    if first > second:
        raise _fail_shape(f"tree size {first} > {second}: a log cannot shrink")
    if (first == second or first == 0) and proof:
        raise _fail_shape(f"consistency proof {first} -> {second}: expected 0 hashes, got {len(proof)}")
    if first == second:
        _verify_match(first, bytes(first_root), bytes(second_root))
        return
    if first == 0:
        return
    if not proof:
        raise _fail_shape(f"consistency proof {first} -> {second}: empty proof")
    _check_hashes("proof", proof)

    inner, border = _decomp_inclusion(first - 1, second)
    shift = (first & -first).bit_length() - 1  # trailing zeros of `first`
    inner -= shift  # the proof starts at level `shift`: shift < inner when first < second
    # proof[0] is the hash of the biggest complete subtree ending at `first`,
    # unless `first` is a power of two: then that subtree is the old root.
    if first == 1 << shift:
        seed, start = bytes(first_root), 0
    else:
        seed, start = proof[0], 1
    if len(proof) != start + inner + border:
        raise _fail_shape(
            f"consistency proof {first} -> {second}: expected {start + inner + border} hashes, got {len(proof)}"
        )
    path = proof[start:]  # now a suffix of the audit path of leaf first-1 in tree `second`
    mask = (first - 1) >> shift
    computed1 = _chain_border_right(_chain_inner_right(seed, path[:inner], mask), path[inner:])
    _verify_match(first, computed1, bytes(first_root))
    computed2 = _chain_border_right(_chain_inner(seed, path[:inner], mask), path[inner:])
    _verify_match(second, computed2, bytes(second_root))

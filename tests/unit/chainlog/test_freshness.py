"""Is a proof still current (chainlog/freshness.py, issue 16 finding 10)? The
proof's checkpoint against a newer signed one and an RFC 9162 consistency proof."""

from __future__ import annotations

import pytest

from chainlog import merkle
from chainlog.checkpoint import Checkpoint, sign_checkpoint
from chainlog.errors import VerificationError
from chainlog.freshness import check_freshness
from chainlog.keys import Signer
from tests.unit.chainlog.test_provenance_verify import SIGNER

ORIGIN = "arcreg.test/log"
LEAVES = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(40)]


def checkpoint(size: int, leaves=LEAVES) -> Checkpoint:
    return Checkpoint(ORIGIN, size, merkle.root(leaves[:size]))


def note(size: int, leaves=LEAVES, signer=SIGNER) -> str:
    return sign_checkpoint(checkpoint(size, leaves), signer)


def consistency(first: int, second: int, leaves=LEAVES) -> dict:
    return {"first": first, "second": second,
            "hashes": [h.hex() for h in merkle.consistency_proof(leaves, first, second)]}


def fails(kind: str, *args) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        check_freshness(*args)
    assert caught.value.kind == kind, (caught.value.kind, str(caught.value))
    return caught.value


@pytest.mark.parametrize("first", [1, 7, 8, 13])
def test_the_same_checkpoint_says_current(first):
    fresh = check_freshness(checkpoint(first), note(first), [SIGNER.verifier])
    assert fresh.current and "CURRENT" in fresh.summary() and "NOT" not in fresh.summary()
    # An (empty) consistency proof for the same size is accepted too.
    assert check_freshness(checkpoint(first), note(first), [SIGNER.verifier], consistency(first, first)).current


@pytest.mark.parametrize("first, second", [(1, 2), (7, 8), (8, 13), (13, 40)])
def test_a_grown_log_is_consistent_but_not_shown_current(first, second):
    fresh = check_freshness(checkpoint(first), note(second), [SIGNER.verifier], consistency(first, second))
    assert not fresh.current
    assert fresh.summary().startswith(f"NOT SHOWN CURRENT: the log grew consistently from size {first} to {second}")
    assert "fetch a fresh proof" in fresh.summary()


def test_a_rewritten_log_is_refused():
    forked = [*LEAVES[:5], merkle.leaf_hash(b"rewritten"), *LEAVES[6:]]
    # Same size, another root: two different logs signed by one key (a split view).
    fails("root_mismatch", checkpoint(8), note(8, forked), [SIGNER.verifier])
    # A newer checkpoint of the rewritten log, with its own (valid-looking) consistency proof.
    fails("root_mismatch", checkpoint(8), note(13, forked), [SIGNER.verifier], consistency(8, 13, forked))


def test_every_hash_of_the_consistency_proof_matters():
    good = consistency(8, 13)
    for at in range(len(good["hashes"])):
        bad = {**good, "hashes": list(good["hashes"])}
        bad["hashes"][at] = ("0" if bad["hashes"][at][0] != "0" else "1") + bad["hashes"][at][1:]
        fails("root_mismatch", checkpoint(8), note(13), [SIGNER.verifier], bad)
    fails("bad_proof", checkpoint(8), note(13), [SIGNER.verifier], {**good, "hashes": good["hashes"][:-1]})


def test_what_the_caller_must_fix():
    fails("consistency_required", checkpoint(8), note(13), [SIGNER.verifier])
    error = fails("older_checkpoint", checkpoint(13), note(8), [SIGNER.verifier])
    assert "size 8, the proof's 13" in str(error)
    error = fails("malformed", checkpoint(8), note(13), [SIGNER.verifier], consistency(7, 13))
    assert "/api/v1/log/proof/consistency?first=8&second=13" in str(error)
    for junk in ([], "x", {"first": 8, "second": 13}, {"first": True, "second": 13, "hashes": []},
                 {**consistency(8, 13), "hashes": ["XY"]}, {**consistency(8, 13), "second": "13"}):
        fails("malformed", checkpoint(8), note(13), [SIGNER.verifier], junk)


def test_the_newer_checkpoint_must_be_signed_by_a_trusted_key_for_the_same_log():
    other = Signer.from_seed(ORIGIN, bytes(32))
    fails("unverified", checkpoint(8), note(13, signer=other), [SIGNER.verifier], consistency(8, 13))
    elsewhere = sign_checkpoint(Checkpoint("another.log", 13, merkle.root(LEAVES[:13])), SIGNER)
    fails("malformed", checkpoint(8), elsewhere, [SIGNER.verifier], consistency(8, 13))

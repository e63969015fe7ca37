"""Reference vectors from transparency-dev/merkle (Apache-2.0), copied verbatim.

Sources:
- proof/verify_test.go (the version before the vectors moved to testdata/):
  `leaves`, `roots`, `inclusionProofs`, `consistencyProofs`, the edge-case
  table of TestVerifyConsistency / TestVerifyInclusion, and the probe
  generators corruptInclusionProof / corruptConsistencyProof (ported below).
- testdata/inclusion/<n>/*.json and testdata/consistency/<n>/*.json: the
  files below are copied with their values unchanged (base64 hashes,
  ``wantErr``; only the whitespace of the pretty-printed ones is compacted).
"""

from __future__ import annotations

import base64
import json

EMPTY_TREE_HASH = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

# The eight standard leaves (leaf data, not hashes).
LEAVES = [
    bytes.fromhex(""),
    bytes.fromhex("00"),
    bytes.fromhex("10"),
    bytes.fromhex("2021"),
    bytes.fromhex("3031"),
    bytes.fromhex("40414243"),
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]

# ROOTS[n] = root of the tree of the first n leaves (n = 0 is SHA-256 of nothing).
ROOTS = [
    EMPTY_TREE_HASH,
    bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    bytes.fromhex("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    bytes.fromhex("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    bytes.fromhex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    bytes.fromhex("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    bytes.fromhex("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    bytes.fromhex("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]


def _h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


# inclusionProofs: (leaf, size, proof) with leaf 1-based, as in verify_test.go
# (entry 0, {0, 0, nil}, is "an invalid path" there and is not used).
INCLUSION_PROOFS = [
    (1, 1, []),
    (1, 8, _h(
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    )),
    (6, 8, _h(
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    )),
    (3, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (2, 5, _h(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    )),
]

CONSISTENCY_PROOFS = [
    (1, 1, []),
    (1, 8, _h(
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    )),
    (6, 8, _h(
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    )),
    (2, 5, _h(
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    )),
    (6, 7, _h(
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    )),
]

_R1, _R2 = b"don't care 1", b"don't care 2"
# TestVerifyConsistency edge cases: (size1, size2, root1, root2, proof, want_error).
CONSISTENCY_EDGE_CASES = [
    (0, 0, _R1, _R2, [], True),
    (1, 1, _R1, _R2, [], True),
    # Sizes that are always consistent.
    (0, 0, _R1, _R1, [], False),
    (0, 1, _R1, _R2, [], False),
    (1, 1, _R2, _R2, [], False),
    # Time travel to the past.
    (1, 0, _R1, _R2, [], True),
    (2, 1, _R1, _R2, [], True),
    # Empty proof.
    (1, 2, _R1, _R2, [], True),
    # Roots don't match.
    (0, 0, EMPTY_TREE_HASH, _R2, [], True),
    (1, 1, EMPTY_TREE_HASH, _R2, [], True),
    # Roots match but the proof is not empty.
    (0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], True),
    (0, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], True),
    (1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], True),
]

# TestVerifyInclusion: index/size probes that must fail with an empty proof.
INCLUSION_BAD_PROBES = [(0, 0), (0, 1), (1, 0), (2, 1)]


def corrupt_inclusion(index, size, proof, root, leaf_hash):
    """Port of corruptInclusionProof: (index, size, root, leaf_hash, proof, desc), all must fail."""
    probes = [
        (index - 1, size, root, leaf_hash, proof, "leafIndex - 1"),
        (index + 1, size, root, leaf_hash, proof, "leafIndex + 1"),
        (index ^ 2, size, root, leaf_hash, proof, "leafIndex ^ 2"),
        (index, size * 2, root, leaf_hash, proof, "treeSize * 2"),
        (index, size // 2, root, leaf_hash, proof, "treeSize / 2"),
        (index, size, root, b"WrongLeaf", proof, "wrong leaf"),
        (index, size, EMPTY_TREE_HASH, leaf_hash, proof, "empty root"),
        (index, size, SOME_HASH, leaf_hash, proof, "random root"),
        (index, size, root, leaf_hash, proof + [b""], "trailing garbage"),
        (index, size, root, leaf_hash, proof + [root], "trailing root"),
        (index, size, root, leaf_hash, [b""] + proof, "preceding garbage"),
        (index, size, root, leaf_hash, [root] + proof, "preceding root"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, root, leaf_hash, wrong, f"modified proof[{i}] bit 3"))
    if proof:
        probes.append((index, size, root, leaf_hash, proof[:-1], "removed component"))
    if len(proof) > 1:
        probes.append((index, size, root, leaf_hash, [proof[0], SOME_HASH] + proof[1:], "inserted component"))
    # Go's uint64 arithmetic turns index - 1 = -1 into 2**64-1: still out of range.
    return [p for p in probes if p[0] >= 0]


def corrupt_consistency(size1, size2, root1, root2, proof):
    """Port of corruptConsistencyProof: (size1, size2, root1, root2, proof, desc), all must fail."""
    probes = [
        (size1 - 1, size2, root1, root2, proof, "size1 - 1"),
        (size1 + 1, size2, root1, root2, proof, "size1 + 1"),
        (size1 ^ 2, size2, root1, root2, proof, "size1 ^ 2"),
        (size1, size2 * 2, root1, root2, proof, "size2 * 2"),
        (size1, size2 // 2, root1, root2, proof, "size2 / 2"),
        (size1, size2, b"WrongRoot", root2, proof, "wrong root1"),
        (size1, size2, root1, b"WrongRoot", proof, "wrong root2"),
        (size1, size2, root2, root1, proof, "swapped roots"),
        (size1, size2, root1, root2, [], "empty proof"),
        (size1, size2, root1, root2, proof + [b""], "trailing garbage"),
        (size1, size2, root1, root2, proof + [root1], "trailing root1"),
        (size1, size2, root1, root2, proof + [root2], "trailing root2"),
        (size1, size2, root1, root2, [b""] + proof, "preceding garbage"),
        (size1, size2, root1, root2, [root1] + proof, "preceding root1"),
        (size1, size2, root1, root2, [root2] + proof, "preceding root2"),
        (size1, size2, root1, root2, [proof[0]] + proof, "preceding proof[0]"),
    ]
    if proof:
        probes.append((size1, size2, root1, root2, proof[:-1], "truncated proof"))
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((size1, size2, root1, root2, wrong, f"modified proof[{i}] bit 4"))
    return probes


# testdata/ files, verbatim (inclusion: leafIdx/treeSize/root/leafHash/proof;
# consistency: size1/size2/root1/root2/proof), keyed by their path.
TESTDATA_JSON = {
    "inclusion/0/happy-path.json": '{"leafIdx": 0, "treeSize": 1, "root": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": null, "desc": "happy path", "wantErr": false}',
    "inclusion/0/leafIdx---1.json": '{"leafIdx": 18446744073709551615, "treeSize": 1, "root": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": null, "desc": "leafIdx - 1", "wantErr": true}',
    "inclusion/1/happy-path.json": '{"leafIdx":0,"treeSize":8,"root":"XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=","leafHash":"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=","proof":["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=","Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=","a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="],"desc":"happy path","wantErr":false}',
    "inclusion/1/inserted-component.json": '{"leafIdx":0,"treeSize":8,"root":"XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=","leafHash":"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=","proof":["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=","q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=","Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=","a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="],"desc":"inserted component","wantErr":true}',
    "inclusion/1/trailing-garbage.json": '{"leafIdx": 0, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=", ""], "desc": "trailing garbage", "wantErr": true}',
    "inclusion/1/wrong-leaf.json": '{"leafIdx":0,"treeSize":8,"root":"XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=","leafHash":"V3JvbmdMZWFm","proof":["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=","Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=","a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="],"desc":"wrong leaf","wantErr":true}',
    "inclusion/2/happy-path.json": '{"leafIdx": 5, "treeSize": 8, "root": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "leafHash": "QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=", "proof": ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "happy path", "wantErr": false}',
    "inclusion/3/happy-path.json": '{"leafIdx":2,"treeSize":3,"root":"rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=","leafHash":"ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=","proof":["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="],"desc":"happy path","wantErr":false}',
    "inclusion/4/happy-path.json": '{"leafIdx":1,"treeSize":5,"root":"Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=","leafHash":"lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=","proof":["bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=","Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=","vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="],"desc":"happy path","wantErr":false}',
    "consistency/0/happy-path.json": '{"size1": 1, "size2": 1, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "proof": null, "desc": "happy path", "wantErr": false}',
    "consistency/1/happy-path.json": '{"size1": 1, "size2": 8, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="], "desc": "happy path", "wantErr": false}',
    "consistency/1/empty-proof.json": '{"size1": 1, "size2": 8, "root1": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": [], "desc": "empty proof", "wantErr": true}',
    "consistency/2/happy-path.json": '{"size1": 6, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "happy path", "wantErr": false}',
    "consistency/2/preceding-garbage.json": '{"size1": 6, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["", "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "preceding garbage", "wantErr": true}',
    "consistency/2/modified-proof[1]-bit-4.json": '{"size1": 6, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "2oVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "modified proof[1] bit 4", "wantErr": true}',
    "consistency/2/size1---1.json": '{"size1": 5, "size2": 8, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "size1 - 1", "wantErr": true}',
    "consistency/3/happy-path.json": '{"size1": 2, "size2": 5, "root1": "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=", "root2": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "proof": ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="], "desc": "happy path", "wantErr": false}',
    "consistency/3/truncated-proof.json": '{"size1": 2, "size2": 5, "root1": "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=", "root2": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=", "proof": ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4="], "desc": "truncated proof", "wantErr": true}',
    "consistency/4/happy-path.json": '{"size1": 6, "size2": 7, "root1": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "root2": "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "happy path", "wantErr": false}',
    "consistency/4/swapped-roots.json": '{"size1": 6, "size2": 7, "root1": "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=", "root2": "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=", "proof": ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=", "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="], "desc": "swapped roots", "wantErr": true}',
}


def _b64(value):
    return base64.b64decode(value) if value is not None else None


def load_testdata(kind: str):
    """The copied testdata files of one kind, decoded: list of (path, dict)."""
    out = []
    for path, text in TESTDATA_JSON.items():
        if not path.startswith(kind + "/"):
            continue
        raw = json.loads(text)
        probe = dict(raw)
        for key in ("root", "leafHash", "root1", "root2"):
            if key in probe:
                probe[key] = _b64(probe[key])
        probe["proof"] = [_b64(p) for p in (raw["proof"] or [])]
        out.append((path, probe))
    return out

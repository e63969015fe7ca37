"""The pure provenance verifier (R-L6): a synthetic lineage built in memory,
then tampered with systematically — every byte, every hash, every entry."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from chainlog import merkle
from chainlog.canonical import entry_canonical
from chainlog.checkpoint import Checkpoint, sign_checkpoint
from chainlog.errors import VerificationError
from chainlog.keys import Signer
from chainlog.provenance import verify_provenance

SIGNER = Signer.from_seed("arcreg.test/log", bytes(range(32)))
TIME = "2026-03-02T09:30:00.000000Z"


def _block(first, last, owner, state="active", base=None):
    quantity = f"{(last - first + 1) / 1000:.3f}"
    return {"serial": f"PC_P_PP_ARC-2026-7-{first:012d}-{last:012d}", "arc_code": "PC_P_PP_ARC",
            "arc_type": "PP", "recycled_status": "PC", "quantity": quantity, "state": state, "owner": owner,
            "generator": 7, "lot": 1, "lot_reference": "LOT-1", "generation_year": 2026, "first": first,
            "last": last, "base_kg": base or f"{(last - first + 1):.3f}"}


def _payloads():
    """Log positions → (type, payload); lineage links are filled in by `build`.

    lot → generate 100 → transfer 40 to 8 → 8 retires 15; fillers in between."""
    return {
        0: ("participant.activated", {"participant": 7}),
        1: ("lot.registered", {"lot": 1, "generator": 7, "reference": "LOT-1", "mass_kg": "100000.000",
                               "material_code": "PC_P3.1.9", "recycled_status": "PC", "pc_kg": None,
                               "non_plastic_fraction": "0", "lhv_mj_per_kg": None}),
        2: ("participant.activated", {"participant": 8}),
        3: ("block.generated", {**_block(1, 100000, 7), "determination": 1, "lot_used_kg": "100000.000",
                                "prev": 1}),
        4: ("block.transferred", {"parent": _block(1, 100000, 7)["serial"], "from": 7, "to": 8,
                                  "quantity": "40.000", "moved": _block(1, 40000, 8),
                                  "remainder": _block(40001, 100000, 7), "prev": 3}),
        5: ("participant.activated", {"participant": 9}),
        6: ("block.retired", {"parent": _block(1, 40000, 8)["serial"], "owner": 8, "quantity": "15.000",
                              "retired": _block(1, 15000, 8, "retired"), "remainder": _block(15001, 40000, 8),
                              "beneficiary": "Brand Co", "claim": {"type": "general"}, "prev": 4}),
        7: ("participant.activated", {"participant": 10}),
    }


LINEAGE = [1, 3, 4, 6]
RETIRED = _block(1, 15000, 8)["serial"]


def build(edit=None, lineage=LINEAGE):
    """A valid proof for RETIRED; `edit(payloads)` changes content before anything is hashed."""
    payloads = copy.deepcopy(_payloads())
    if edit:
        edit(payloads)
    canon, leaves = {}, []
    for i in sorted(payloads):
        kind, payload = payloads[i]
        prev = payload.get("prev")
        if type(prev) is int and 0 <= prev < len(leaves):
            payload["prev"] = {"index": payload["prev"], "leaf_hash": leaves[payload["prev"]].hex()}
        canon[i] = entry_canonical(i, TIME, kind, "user:1", payload)
        leaves.append(merkle.leaf_hash(canon[i]))
    size = len(leaves)
    note = sign_checkpoint(Checkpoint("arcreg.test/log", size, merkle.root(leaves)), SIGNER)
    entries = [{"index": i, "canonical": canon[i].decode(),
                "hashes": [h.hex() for h in merkle.inclusion_proof(leaves, i, size)]} for i in lineage]
    return {"checkpoint": note, "serial": RETIRED, "entries": entries}


def fails(proof, kind, index=None, **kw) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_provenance(proof, [SIGNER.verifier], **kw)
    kinds = {kind} if isinstance(kind, str) else set(kind)
    assert caught.value.kind in kinds, (caught.value.kind, str(caught.value))
    assert caught.value.index == index, (caught.value.index, str(caught.value))
    return caught.value


def test_valid_proof_reports_the_block():
    report = verify_provenance(build(), [SIGNER.verifier])
    assert (report.serial, report.state, report.owner, report.quantity) == (RETIRED, "retired", 8, "15.000")
    assert (report.lot_reference, report.generator, report.entries, report.checkpoint_size) == ("LOT-1", 7, 4, 8)
    # The retirement's remainder shares the lineage; the whole moved block is a split parent.
    assert verify_provenance(build(), [SIGNER.verifier], serial=_block(15001, 40000, 8)["serial"]).state == "active"
    parent = _block(1, 40000, 8)["serial"]
    assert verify_provenance(build(), [SIGNER.verifier], serial=parent).state == "split"


def test_every_byte_of_every_canonical():
    proof = build()
    for pos, entry in enumerate(proof["entries"]):
        text = entry["canonical"]
        for at in range(len(text)):
            bad = copy.deepcopy(proof)
            bad["entries"][pos]["canonical"] = text[:at] + ("x" if text[at] != "x" else "y") + text[at + 1:]
            fails(bad, "root_mismatch", entry["index"])


def test_every_quantity_edited_in_place():
    """Each quantity inside each canonical, changed and nothing recomputed."""
    proof = build()
    edits = 0
    for pos, entry in enumerate(proof["entries"]):
        parts = entry["canonical"].split('"quantity":"')
        for k in range(1, len(parts)):
            changed = [*parts[:k], "9" + parts[k], *parts[k + 1:]]
            bad = copy.deepcopy(proof)
            bad["entries"][pos]["canonical"] = '"quantity":"'.join(changed)
            fails(bad, "root_mismatch", entry["index"])
            edits += 1
    assert edits == 7  # generated 1, transferred 3, retired 3


def test_every_hex_digit_of_every_hash():
    proof = build()
    for pos, entry in enumerate(proof["entries"]):
        for h, digest in enumerate(entry["hashes"]):
            for at in range(64):
                bad = copy.deepcopy(proof)
                swapped = "0" if digest[at] != "0" else "1"
                bad["entries"][pos]["hashes"][h] = digest[:at] + swapped + digest[at + 1:]
                fails(bad, "root_mismatch", entry["index"])
        if entry["hashes"]:  # a missing or an extra hash is a proof of the wrong shape
            for hashes in (entry["hashes"][:-1], [*entry["hashes"], "00" * 32]):
                bad = copy.deepcopy(proof)
                bad["entries"][pos]["hashes"] = hashes
                fails(bad, "bad_proof", entry["index"])


def test_every_byte_of_the_checkpoint_signature_and_text():
    proof = build()
    text, sig_line = proof["checkpoint"].rsplit("\n\n", 1)
    prefix, b64 = sig_line.rstrip("\n").rsplit(" ", 1)
    blob = base64.b64decode(b64)
    for at in range(len(blob)):
        bad = copy.deepcopy(proof)
        changed = blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]
        bad["checkpoint"] = f"{text}\n\n{prefix} {base64.b64encode(changed).decode()}\n"
        fails(bad, "unverified" if at < 4 else "bad_signature")  # bytes 0-3 are the key id
    for at in range(len(text)):
        bad = copy.deepcopy(proof)
        bad["checkpoint"] = text[:at] + ("7" if text[at] != "7" else "8") + proof["checkpoint"][at + 1:]
        fails(bad, ("bad_signature", "malformed"))
    with pytest.raises(VerificationError) as caught:
        verify_provenance(build(), [Signer.from_seed("arcreg.test/log", bytes(32)).verifier])
    assert caught.value.kind == "unverified"


def test_dropping_any_entry():
    proof = build()
    for pos in range(len(proof["entries"])):
        bad = copy.deepcopy(proof)
        del bad["entries"][pos]
        last = pos == len(proof["entries"]) - 1
        # The lineage breaks where the entry was; without the last, it ends at another block.
        index = bad["entries"][-1]["index"] if last else bad["entries"][pos]["index"]
        fails(bad, "serial_mismatch" if last else "chain_broken", index)


def test_reordering_any_two_entries():
    proof = build()
    n = len(proof["entries"])
    for i in range(n):
        for j in range(i + 1, n):
            bad = copy.deepcopy(proof)
            bad["entries"][i], bad["entries"][j] = bad["entries"][j], bad["entries"][i]
            fails(bad, "chain_broken", bad["entries"][i]["index"] if i else bad["entries"][0]["index"])


def test_a_stated_index_other_than_the_hashed_one():
    proof = build()
    bad = copy.deepcopy(proof)
    bad["entries"][1]["index"] = 5  # an entry moved to another leaf fails its inclusion proof
    fails(bad, "root_mismatch", 5)


# --- content that is signed and included, but is not a conserved lineage ---------------------


def _edit(position, change):
    def edit(payloads):
        change(payloads[position][1])
    return edit


@pytest.mark.parametrize("edit, kind, index", [
    # parts that are each well-formed but overlap, leave a gap, or reach outside the parent (R-T2)
    (_edit(4, lambda p: p.update(remainder=_block(40000, 100000, 7))), "serial_mismatch", 4),
    (_edit(4, lambda p: p.update(remainder=_block(40002, 100000, 7))), "serial_mismatch", 4),
    (_edit(4, lambda p: p.update(remainder=_block(40001, 100001, 7))), "serial_mismatch", 4),
    # a part whose quantity or serial text disagrees with its own range (R-G2)
    (_edit(4, lambda p: p["remainder"].update(quantity="61.000")), "quantity_mismatch", 4),
    (_edit(4, lambda p: p["remainder"].update(serial=_block(40001, 100002, 7)["serial"])), "serial_mismatch", 4),
    (_edit(6, lambda p: p["retired"].update(serial=_block(1, 15000, 8)["serial"].replace("-7-", "-9-"))),
     "serial_mismatch", 6),
    (_edit(4, lambda p: p["remainder"].update(base_kg="60001.000")), "quantity_mismatch", 4),
    (_edit(4, lambda p: p.update(quantity="41.000")), "quantity_mismatch", 4),
    (_edit(6, lambda p: p["retired"].update(arc_code="PC_P_PE_ARC")), "field_changed", 6),
    (_edit(6, lambda p: p.update(parent=_block(40001, 100000, 7)["serial"])), "serial_mismatch", 6),
    (_edit(6, lambda p: p.update(prev=3)), "chain_broken", 6),
    (_edit(3, lambda p: p.update(generator=9)), "lot_mismatch", 3),
    (_edit(3, lambda p: p.update(prev=0)), "chain_broken", 3),
    (_edit(4, lambda p: p["moved"].update(state="retired")), "chain_broken", 6),
    (_edit(4, lambda p: p.pop("prev")), "chain_broken", 4),
])
def test_conservation_and_links_are_checked_on_signed_content(edit, kind, index):
    fails(build(edit), kind, index)


def test_lineage_must_start_at_the_lot():
    fails(build(lineage=[3, 4, 6]), "chain_broken", 3)


def test_malformed_proofs():
    for bad in (None, [], {"checkpoint": 1, "entries": []}, {**build(), "entries": []},
                {**build(), "entries": [{"index": "1", "canonical": "", "hashes": []}]},
                {**build(), "entries": [{"index": 1, "canonical": "{}", "hashes": ["XYZ"]}]}):
        with pytest.raises(VerificationError) as caught:
            verify_provenance(bad, [SIGNER.verifier])
        assert caught.value.kind == "malformed"


def _slots(payloads):
    """(position, path) of every payload member on the lineage, one level into block descriptions."""
    for position in LINEAGE:
        payload = payloads[position][1]
        for key, value in payload.items():
            yield position, (key,)
            if isinstance(value, dict):
                for inner in value:
                    yield position, (key, inner)


JUNK = [None, True, "x", -1, [], {}, "NaN", "sNaN", "1e999999", 10**15]
# Members the verifier does not interpret (its contract, chainlog/provenance.py: links,
# conservation of serials, quantity and base mass, the inherited members, the lot): junk there may
# verify, but must not change anything the verifier reports. The lot's material facts and the
# generation's lot_used_kg are the registry's to check (registry/proof_rules.py, R-L7c).
UNINTERPRETED = {
    (1, ("mass_kg",)), (1, ("material_code",)), (1, ("recycled_status",)), (1, ("pc_kg",)),
    (1, ("non_plastic_fraction",)), (1, ("lhv_mj_per_kg",)), (3, ("lot_used_kg",)), (3, ("owner",)), (3, ("determination",)), (4, ("from",)), (4, ("to",)),
    (4, ("moved", "owner")), (4, ("remainder", "state")), (4, ("remainder", "owner")),
    (6, ("owner",)), (6, ("remainder", "state")), (6, ("remainder", "owner")), (6, ("beneficiary",)),
    (6, ("claim",)), (6, ("claim", "type")),
}
# The state and owner of the block reported on: refused unless a block state and an integer.
REPORTED = {(6, ("retired", "state")), (6, ("retired", "owner"))}


def _with_junk(position, path, junk):
    def edit(payloads):
        target = payloads[position][1]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = junk
    return build(edit)


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_signed_junk_in_a_checked_member_is_refused(junk):
    """Correctly signed and included, but structurally wrong: junk in any member the
    verifier checks (serials, quantities, links, inherited members, the lot) is a
    VerificationError -- never accepted, never a crash."""
    checked = [(position, path) for position, path in _slots(_payloads())
               if (position, path) not in UNINTERPRETED | REPORTED]
    assert len(checked) >= 40
    for position, path in checked:
        with pytest.raises(VerificationError):
            verify_provenance(_with_junk(position, path, junk), [SIGNER.verifier])
            raise AssertionError(f"signed junk {junk!r} at entry {position} {'.'.join(path)} verified")


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_signed_junk_in_an_unchecked_member_changes_nothing_reported(junk):
    valid = verify_provenance(build(), [SIGNER.verifier])
    for position, path in sorted(UNINTERPRETED):
        try:
            report = verify_provenance(_with_junk(position, path, junk), [SIGNER.verifier])
        except VerificationError:
            continue
        assert report == valid, (position, path, report)


@pytest.mark.parametrize("member", sorted(REPORTED))
def test_signed_junk_in_the_reported_state_or_owner_is_refused(member):
    position, path = member
    for junk in JUNK:
        with pytest.raises(VerificationError):
            verify_provenance(_with_junk(position, path, junk), [SIGNER.verifier])


def test_a_signed_lot_of_true_is_not_lot_1():
    lots = [(position, path) for position, path in _slots(_payloads()) if path[-1] == "lot"]
    assert len(lots) == 6
    for position, path in lots:
        with pytest.raises(VerificationError):
            verify_provenance(_with_junk(position, path, True), [SIGNER.verifier])


def test_whole_transfer_then_expiry():
    """A whole-block move keeps the serial (no remainder); an expiry restates the block."""
    serial = _block(1, 100000, 7)["serial"]

    def edit(payloads):
        payloads[4] = ("block.transferred", {"parent": serial, "from": 7, "to": 8, "quantity": "100.000",
                                             "moved": _block(1, 100000, 8), "remainder": None, "prev": 3})
        payloads[6] = ("block.expired", {**_block(1, 100000, 8, "expired"), "prev": 4})

    report = verify_provenance(build(edit), [SIGNER.verifier], serial=serial)
    assert (report.state, report.owner, report.quantity, report.entries) == ("expired", 8, "100.000", 4)

    def shrunk(payloads):
        edit(payloads)
        payloads[6][1].update(quantity="99.000", last=99000)

    fails(build(shrunk), ("quantity_mismatch", "serial_mismatch"), 6, serial=serial)

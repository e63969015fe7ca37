"""Offline verification of an exported log (R-L7), without a database, on both JSON backends."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from chainlog import VerificationError, merkle
from chainlog.chain import GENESIS_HASH
from chainlog.keys import Signer, rotation_payload
from chainlog.verify import _fast_entry, verify_export

from .memlog import MemoryLog, earlier_format, fill, rewrite

SIGNER = Signer.from_seed("registry.example/log", bytes(range(32)))


@pytest.fixture
def log() -> MemoryLog:
    return fill(MemoryLog(SIGNER), 23)  # checkpoints after 5, 10, 15, 20 entries


def fails(lines, verifiers=(SIGNER.vkey,), check_form=True) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify_export(lines, list(verifiers), check_form=check_form)
    return info.value


def entry_pos(log: MemoryLog, index: int) -> int:
    return next(i for i, line in enumerate(log.lines) if line.startswith(f'{{"index":{index},'))


def test_a_good_export_verifies(json_backend, log):
    report = verify_export(log.lines, [SIGNER.vkey])
    assert (report.entries, report.size, report.checkpoints, report.signed_size) == (23, 23, 4, 20)
    assert report.root == log._tree.root()
    assert report.root_hex == report.root.hex()
    # bytes lines (a file opened in binary mode) work too
    assert verify_export([line.encode() for line in log.lines], [SIGNER.verifier]).size == 23


def test_empty_export_and_blank_lines(json_backend):
    assert verify_export([], [SIGNER.vkey]).root == merkle.EMPTY_ROOT
    log = MemoryLog(SIGNER)
    log.checkpoint()
    assert verify_export(log.lines + ["\n", ""], [SIGNER.vkey]).checkpoints == 1


def test_changed_payload_byte(json_backend, log):
    pos = entry_pos(log, 7)
    log.lines[pos] = log.lines[pos].replace('"quantity":"7.000"', '"quantity":"8.000"', 1)
    assert json.loads(log.lines[pos])["entry"]["payload"]["quantity"] == "8.000"
    err = fails(log.lines)
    assert (err.kind, err.index) == ("payload_changed", 7)
    assert "expected" in str(err) and "computed" in str(err)


def test_changed_bytes_that_are_no_longer_canonical_are_a_changed_payload(json_backend, log):
    # The stated hashes were computed over other bytes: the payload changed, whatever its form.
    pos = entry_pos(log, 7)
    log.lines[pos] = log.lines[pos].replace('"quantity":"7.000"', '"quantity": "7.000"', 1)
    err = fails(log.lines)
    assert (err.kind, err.index) == ("payload_changed", 7)


def test_rewritten_entry_with_recomputed_hashes_breaks_the_signed_root(json_backend, log):
    # Rewrite entry 7 and every hash after it consistently: only the checkpoint catches it.
    out, prev = [], GENESIS_HASH
    for line in log.lines:
        if line.startswith('{"checkpoint"'):
            out.append(line)
            continue
        _head, text = line.rstrip("\n")[:-1].split(',"entry":', 1)
        data = text.replace('"7.000"', '"700.000"').encode()
        prev = hashlib.sha256(prev + data).digest()
        index = json.loads(data)["index"]
        out.append(f'{{"index":{index},"leaf_hash":"{merkle.leaf_hash(data).hex()}","entry_hash":"{prev.hex()}",'
                   f'"entry":{data.decode()}}}\n')
    assert out != log.lines
    err = fails(out)
    assert err.kind == "root_mismatch" and "size 10" in str(err)


def test_deleted_line(json_backend, log):
    del log.lines[entry_pos(log, 12)]
    err = fails(log.lines)
    assert (err.kind, err.index) == ("entry_missing", 12)


def test_deleted_last_entry_before_a_checkpoint(json_backend, log):
    del log.lines[entry_pos(log, 9)]  # followed by the size-10 checkpoint
    err = fails(log.lines)
    assert (err.kind, err.index) == ("entry_missing", 9)


def test_two_lines_swapped(json_backend, log):
    a, b = entry_pos(log, 12), entry_pos(log, 13)
    log.lines[a], log.lines[b] = log.lines[b], log.lines[a]
    err = fails(log.lines)
    assert (err.kind, err.index) == ("entries_reordered", 12)


def test_distant_lines_swapped(json_backend, log):
    a, b = entry_pos(log, 2), entry_pos(log, 17)
    log.lines[a], log.lines[b] = log.lines[b], log.lines[a]
    err = fails(log.lines)
    assert (err.kind, err.index) == ("entries_reordered", 2)


def test_duplicated_line(json_backend, log):
    pos = entry_pos(log, 3)
    log.lines.insert(pos + 1, log.lines[pos])
    err = fails(log.lines)
    assert (err.kind, err.index) == ("entries_reordered", 4)


def test_checkpoint_signature_byte_changed(json_backend, log):
    pos = entry_pos(log, 14) + 1  # the size-15 checkpoint line
    note = json.loads(log.lines[pos])["checkpoint"]
    head, b64 = note.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(b64))
    blob[10] ^= 0x01  # inside the Ed25519 signature, after the 4-byte key id
    log.lines[pos] = rewrite(log.lines[pos], checkpoint=f"{head} {base64.b64encode(bytes(blob)).decode()}\n")
    err = fails(log.lines)
    assert (err.kind, err.index) == ("bad_signature", 14)


def test_checkpoint_by_an_unknown_key(json_backend, log):
    log.checkpoint(Signer.generate("registry.example/log"))
    err = fails(log.lines)
    assert (err.kind, err.index) == ("bad_signature", 22)


def test_changed_entry_hash(json_backend, log):
    pos = entry_pos(log, 4)
    log.lines[pos] = rewrite(log.lines[pos], entry_hash="00" * 32)
    err = fails(log.lines)
    assert (err.kind, err.index) == ("chain_broken", 4)


def hashed(data: bytes, checkpoint: bool = True) -> list[str]:
    """An export of one entry whose hashed bytes are `data` (hashes and checkpoint made to match)."""
    log = MemoryLog(SIGNER)
    log.append_hashed(data)
    if checkpoint:
        log.checkpoint()
    return log.lines


ENTRY_0 = b'{"actor":"user:1","index":0,"payload":%s,"time":"2026-11-23T11:37:17.123456Z","type":"t"}'


def test_hand_made_canonical_bytes_verify(json_backend):
    assert verify_export(hashed(ENTRY_0 % b'{"a":[1,{"b":null}],"q":"1.5"}'), [SIGNER.vkey]).size == 1
    # A float written as RFC 8785 writes it is canonical (the log never writes one: R-U3).
    assert verify_export(hashed(ENTRY_0 % b'{"q":1.5}'), [SIGNER.vkey]).size == 1
    # Negative numbers and exponents are canonical too; the hot loop's mask refuses them, the exact path accepts.
    assert verify_export(hashed(ENTRY_0 % b'{"q":[-1,1e-7,1e+21],"r":"a-b.c"}'), [SIGNER.vkey]).size == 1


@pytest.mark.parametrize("payload", [
    b'{"q": 1}',  # a space
    b'{"r":1,"q":2}',  # members out of order
    b'{"q":1.0}',  # RFC 8785 writes 1
    b'{"q":1e+16}',  # RFC 8785 writes 10000000000000000
    b'{"q":1e-07}',  # RFC 8785 writes 1e-7
    b'{"q":-0}',  # RFC 8785 writes 0
    b'{"q":"\\u0041"}',  # an escape RFC 8785 does not use
    b'{"q":9007199254740993}',  # beyond 2**53-1
    b'{"\xef\xbd\xa1":1,"\xf0\x9f\x98\x80":2}',  # U+FF61 before U+1F600: code point order, not UTF-16
])
def test_hashed_bytes_that_are_not_canonical(json_backend, payload):
    # The hashes match the bytes, so these are what the log hashed: not RFC 8785 (R-L1).
    err = fails(hashed(ENTRY_0 % payload, checkpoint=False))
    assert (err.kind, err.index) == ("not_canonical", 0)


@pytest.mark.parametrize("data", [b"[1,2]", b'{"actor":"a","index":0}', b"not json", ENTRY_0.replace(b":0,", b":true,")])
def test_hashed_bytes_that_are_not_an_entry(json_backend, data):
    err = fails(hashed(data % b"{}" if b"%s" in data else data, checkpoint=False))
    assert (err.kind, err.index) == ("not_canonical", 0)


def test_hashed_bytes_of_another_index(json_backend, log):
    # Entry 8's line, relabelled as entry 7 with its own (matching) hashes: the hashed bytes say 8.
    pos7, pos8 = entry_pos(log, 7), entry_pos(log, 8)
    log.lines[pos7] = log.lines[pos8].replace('{"index":8,', '{"index":7,', 1)
    err = fails(log.lines)
    assert (err.kind, err.index) in {("payload_changed", 7), ("chain_broken", 7)}
    # With the chain hash recomputed, what is left is the index the hashed bytes name: 8, so 7 is missing.
    prev = bytes.fromhex(json.loads(log.lines[entry_pos(log, 6)])["entry_hash"])
    data = log.lines[pos7].rstrip("\n")[:-1].split(',"entry":', 1)[1].encode()
    log.lines[pos7] = rewrite(log.lines[pos7], entry_hash=hashlib.sha256(prev + data).hexdigest())
    err = fails(log.lines)
    assert (err.kind, err.index) == ("entry_missing", 7) and "found entry 8" in str(err)


def test_earlier_export_format_still_verifies(json_backend, log):
    lines = [earlier_format(line) for line in log.lines]
    assert lines != log.lines and '"canonical":' in lines[1]
    assert verify_export(lines, [SIGNER.vkey]).size == 23


def test_earlier_format_changed_field_and_non_canonical_text(json_backend, log):
    lines = [earlier_format(line) for line in log.lines]
    pos = entry_pos(log, 7)
    changed = list(lines)
    changed[pos] = changed[pos].replace('"quantity":"7.000"', '"quantity":"8.000"', 1)  # the field, not canonical
    err = fails(changed)
    assert (err.kind, err.index) == ("payload_changed", 7)
    pos = entry_pos(log, 0)
    obj = json.loads(lines[pos])
    lines[pos] = rewrite(lines[pos], canonical=obj["canonical"].replace(",", ", ", 1))
    err = fails(lines)
    assert (err.kind, err.index) == ("not_canonical", 0)


@pytest.mark.parametrize("bad", ["not json\n", "[1,2]\n", '{"something": 1}\n', '{"checkpoint": 5}\n'])
def test_malformed_lines(json_backend, log, bad):
    log.lines.insert(entry_pos(log, 3), bad)
    err = fails(log.lines)
    assert err.kind == "malformed"


def test_origin_is_checked():
    log = fill(MemoryLog(SIGNER), 5)
    with pytest.raises(VerificationError):
        verify_export(log.lines, [SIGNER.vkey], origin="other.example/log")
    assert verify_export(log.lines, [SIGNER.vkey], origin="registry.example/log").checkpoints == 1


def test_unusual_payloads_still_verify(json_backend):
    log = MemoryLog(SIGNER)
    log.append({"\U0001f600": 1, "\uff00": 2, "s": 'q"\\\n\u0000\u2028', "big": -(2**53 - 1), "l": [True, None, {}]})
    log.append({"name": "Société Générale"})
    log.checkpoint()
    assert verify_export(log.lines, [SIGNER.vkey]).size == 2


@pytest.mark.parametrize("check_form", [True, False], ids=["full", "integrity-only"])
def test_key_rotation_is_followed(json_backend, check_form):
    new = Signer.from_seed("registry.example/log", bytes(range(1, 33)))
    log = fill(MemoryLog(SIGNER), 5)
    log.append(rotation_payload(SIGNER, new), type="key.rotated", actor="admin:1")
    log.append({"n": 6})
    log.checkpoint(new)
    report = verify_export(log.lines, [SIGNER.vkey], check_form=check_form)
    assert report.verifiers == (new.vkey,) and report.signed_size == 7
    # After the rotation the outgoing key is no longer trusted.
    log.checkpoint(SIGNER)
    err = fails(log.lines, check_form=check_form)
    assert err.kind == "bad_signature"


@pytest.mark.parametrize("check_form", [True, False], ids=["full", "integrity-only"])
def test_forged_rotation_on_the_fast_path_fails(json_backend, check_form):
    # No "/" or "+" in the payload: the entry takes the hot loop, which must still follow it.
    log = fill(MemoryLog(SIGNER), 5)
    log.append({"outgoing_vkey": "nobody", "incoming_vkey": "somebody"}, type="key.rotated", actor="admin:1")
    err = fails(log.lines, check_form=check_form)
    assert (err.kind, err.index) == ("bad_rotation", 5)


def test_forged_rotation_fails(json_backend):
    mallory = Signer.generate("registry.example/log")
    log = fill(MemoryLog(SIGNER), 5)
    log.append(rotation_payload(mallory, mallory), type="key.rotated", actor="admin:1")
    err = fails(log.lines)
    assert (err.kind, err.index) == ("bad_rotation", 5)


def test_exported_lines_take_the_fast_path(json_backend, log):
    from chainlog.verify import _fast_entry

    prev = GENESIS_HASH
    for i in range(log.size):
        raw = log.lines[entry_pos(log, i)].rstrip("\n").encode()
        hit = _fast_entry(raw, i, prev)
        assert hit is not None, f"entry {i} fell back to the general path"
        prev = hit[1]


def test_reformatted_exports_still_verify(json_backend, log):
    # Any JSON spelling of the same objects: spaces, other member order, ASCII escapes.
    lines = []
    for line in log.lines:
        obj = json.loads(line)
        lines.append(json.dumps(dict(reversed(list(obj.items()))), ensure_ascii=True, indent=None) + "\r\n")
    assert verify_export(lines, [SIGNER.vkey]).size == 23


def test_fast_path_cannot_be_fooled_by_a_field_that_differs_from_canonical(json_backend, log):
    # index true instead of 1 in the line (JSON-equal in Python, not in the log).
    pos = entry_pos(log, 1)
    log.lines[pos] = log.lines[pos].replace('{"index":1,', '{"index":true,', 1)
    err = fails(log.lines)
    assert err.kind in ("malformed", "payload_changed") and err.index == 1


# Integrity only (check_form=False): every damage to chain, leaves, order or checkpoints is still found
# at the same index and of the same kind; only the R-L1 form of the hashed bytes is not examined.

def _payload_byte(log):
    pos = entry_pos(log, 7)
    log.lines[pos] = log.lines[pos].replace('"quantity":"7.000"', '"quantity":"8.000"', 1)


def _deleted(log):
    del log.lines[entry_pos(log, 12)]


def _swapped(log):
    a, b = entry_pos(log, 12), entry_pos(log, 13)
    log.lines[a], log.lines[b] = log.lines[b], log.lines[a]


def _entry_hash(log):
    pos = entry_pos(log, 4)
    log.lines[pos] = rewrite(log.lines[pos], entry_hash="00" * 32)


def _signature(log):
    pos = entry_pos(log, 14) + 1
    note = json.loads(log.lines[pos])["checkpoint"]
    head, b64 = note.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(b64))
    blob[10] ^= 0x01
    log.lines[pos] = rewrite(log.lines[pos], checkpoint=f"{head} {base64.b64encode(bytes(blob)).decode()}\n")


def _rewritten_consistently(log):
    out, prev = [], GENESIS_HASH
    for line in log.lines:
        if not line.startswith('{"checkpoint"'):
            _head, text = line.rstrip("\n")[:-1].split(',"entry":', 1)
            data = text.replace('"7.000"', '"700.000"').encode()
            prev = hashlib.sha256(prev + data).digest()
            line = (f'{{"index":{json.loads(data)["index"]},"leaf_hash":"{merkle.leaf_hash(data).hex()}",'
                    f'"entry_hash":"{prev.hex()}","entry":{data.decode()}}}\n')
        out.append(line)
    log.lines[:] = out


@pytest.mark.parametrize("damage", [_payload_byte, _deleted, _swapped, _entry_hash, _signature, _rewritten_consistently])
def test_integrity_only_finds_the_same_damage(json_backend, log, damage):
    damage(log)
    full, quick = fails(log.lines), fails(log.lines, check_form=False)
    assert (quick.kind, quick.index) == (full.kind, full.index)


def test_integrity_only_gives_the_same_report(json_backend, log):
    assert verify_export(log.lines, [SIGNER.vkey], check_form=False) == verify_export(log.lines, [SIGNER.vkey])


def test_integrity_only_does_not_examine_the_form(json_backend):
    # Members out of order: signed and chained, so intact, but not RFC 8785 (only the full check says so).
    lines = hashed(ENTRY_0 % b'{"r":1,"q":2}')
    assert fails(lines).kind == "not_canonical"
    assert verify_export(lines, [SIGNER.vkey], check_form=False).size == 1


# The hot loop (and `_fast_entry`, its twin) may only ever *refuse* a line: a refused line goes to the
# general path, which checks it in full. Mutation testing (docs/testing.md) showed that nothing pinned
# what the hot loop must refuse, nor that it accepts every exported line (a loop that refused all
# would verify the same, only slowly).

ROTATION_0 = ENTRY_0.replace(b'"type":"t"', b'"type":"key.rotated"') % b"{}"
NOT_FOR_THE_HOT_LOOP = [
    ENTRY_0 % b'{"q":1.0}',  # a point: only the exact path judges floats
    ENTRY_0 % b'{"q":1e-07}',  # a minus: likewise
    ENTRY_0 % b'{"q":-0}',
    ENTRY_0 % b'{"r":1,"q":2}',  # members out of order
    ENTRY_0 % b'{"a0":1,"a.c":2}',  # out of order: "." sorts before "0" ...
    ENTRY_0 % b'{"a.c":1,"a-b":2}',  # ... and "-" before "."; the mask must keep both orders
    ENTRY_0.replace(b'"actor"', b'"actors"') % b"{}",  # not the entry members
    ENTRY_0.replace(b'"type":"t"', b'"type":"t","z":1') % b"{}",  # one member too many
    ENTRY_0.replace(b":0,", b":true,") % b"{}",  # index true, JSON-equal to 1 in Python, not 0
    b"[1,2]",
    b'"entry"',
]


def _line_of(data: bytes) -> bytes:
    return hashed(data, checkpoint=False)[0].rstrip("\n").encode()


@pytest.mark.parametrize("data", NOT_FOR_THE_HOT_LOOP + [ROTATION_0])
def test_fast_entry_refuses_what_only_the_exact_path_may_judge(json_backend, data):
    assert _fast_entry(_line_of(data), 0, GENESIS_HASH) is None
    if data != ROTATION_0:
        # ... and the full check, which is the default, says what is wrong with it.
        with pytest.raises(VerificationError) as info:
            verify_export(hashed(data, checkpoint=False), [SIGNER.vkey])
        assert (info.value.kind, info.value.index) == ("not_canonical", 0)


def test_fast_entry_of_entry_1_refuses_index_true(json_backend):
    entry_1 = ENTRY_0.replace(b":0,", b":1,") % b"{}"
    log = MemoryLog(SIGNER)
    log.append_hashed(ENTRY_0 % b"{}")
    prev = bytes.fromhex(json.loads(log.lines[0])["entry_hash"])
    log.append_hashed(entry_1)
    assert _fast_entry(log.lines[1].rstrip("\n").encode(), 1, prev) is not None
    log = MemoryLog(SIGNER)
    log.append_hashed(ENTRY_0 % b"{}")
    log.append_hashed(entry_1.replace(b":1,", b":true,"))
    assert _fast_entry(log.lines[1].rstrip("\n").encode(), 1, prev) is None


@pytest.mark.parametrize("check_form", [True, False], ids=["full", "integrity-only"])
@pytest.mark.parametrize("newline", [True, False], ids=["newline", "no-newline"])
def test_every_exported_entry_line_takes_the_hot_loop(json_backend, log, monkeypatch, check_form, newline):
    import chainlog.verify

    general = []

    def spy(raw, *args):
        general.append(raw)
        return chainlog.line_checks.general_line(raw, *args)

    monkeypatch.setattr(chainlog.verify, "general_line", spy)
    lines = log.lines if newline else [line.rstrip("\n") for line in log.lines]
    assert verify_export(lines, [SIGNER.vkey], check_form=check_form).size == 23
    assert len(general) == 4 and all(raw.startswith(b'{"checkpoint"') for raw in general)


def test_integrity_only_still_checks_every_line_naming_a_rotation(json_backend):
    # Hashed bytes that *begin* with the rotation member: not an entry, which the general path says
    # even in integrity-only mode (a line naming a rotation gets every check).
    lines = hashed(b'"type":"key.rotated"', checkpoint=False)
    assert verify_export(hashed(b'"type":"t"', checkpoint=False), [SIGNER.vkey], check_form=False).size == 1
    err = fails(lines, check_form=False)
    assert (err.kind, err.index) == ("not_canonical", 0)


def test_lines_of_any_bytes_like_type_and_lines_that_are_not_utf8(json_backend, log):
    assert verify_export([bytearray(line.encode()) for line in log.lines], [SIGNER.vkey]).size == 23
    lines = list(log.lines)
    lines.insert(entry_pos(log, 3), "\ud800\n")  # a lone surrogate: no UTF-8 for it
    err = fails(lines)
    assert (err.kind, err.index, str(err)) == ("malformed", 3, "entry 3: line is not UTF-8 text")

"""Export a stored log and verify it offline (R-L7); tampered exports fail with index and kind."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime

import pytest

from chainlog import VerificationError, store
from chainlog.chain import lineage_link
from chainlog.export import write_export
from chainlog.keys import Signer
from chainlog.verify import verify_export

T0 = datetime(2026, 11, 23, 11, 37, 17, 123456, tzinfo=UTC)
ORIGIN = "registry.example/log"
SIGNER = Signer.from_seed(ORIGIN, bytes(range(32)))


@pytest.fixture
def exported(engine) -> list[str]:
    """30 entries with lineage links, checkpoints every 8 entries and at the end."""
    with engine.begin() as conn:
        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
        lot = store.append(conn, type="lot.registered", actor="user:1", payload={"reference": "LOT-1"}, time=T0)
    prev = lot
    for i in range(29):
        with engine.begin() as conn:
            prev = store.append(
                conn, type="block.transferred", actor="user:2", time=T0,
                payload={"serial": f"US-{i:04d}", "quantity": "1.000", "prev": lineage_link(prev.index, prev.leaf_hash)},
            )
            if prev.index % 8 == 7:
                store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
    with engine.begin() as conn:
        store.sign_checkpoint(conn, SIGNER, ORIGIN, T0)
        out = io.StringIO()
        assert write_export(conn, out) == (30, 5)  # sizes 0, 8, 16, 24, 30
    return out.getvalue().splitlines(keepends=True)


def position(lines: list[str], index: int) -> int:
    return next(i for i, line in enumerate(lines) if json.loads(line).get("index") == index)


def failure(lines) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify_export(lines, [SIGNER.vkey], origin=ORIGIN)
    return info.value


def test_round_trip(engine, exported):
    report = verify_export(exported, [SIGNER.vkey], origin=ORIGIN)
    with engine.connect() as conn:
        assert report.root == store.root_at(conn, 30)
    assert (report.entries, report.checkpoints, report.signed_size) == (30, 5, 30)
    assert json.loads(exported[0]) == {"checkpoint": json.loads(exported[0])["checkpoint"]}
    assert json.loads(exported[0])["checkpoint"].startswith(f"{ORIGIN}\n0\n")
    first = json.loads(exported[1])
    assert list(first) == ["index", "leaf_hash", "entry_hash", "entry"]
    with engine.connect() as conn:
        stored = store.entry(conn, 0)
    # The entry member is the hashed text itself, byte for byte (R-L1), beside its hashes.
    assert exported[1] == (f'{{"index":0,"leaf_hash":"{stored.leaf_hash.hex()}","entry_hash":"{stored.entry_hash.hex()}",'
                           f'"entry":{stored.canonical}}}\n')
    assert first["entry"]["type"] == "lot.registered" and first["entry"]["payload"] == {"reference": "LOT-1"}


def test_round_trip_through_a_file(tmp_path, engine, exported):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(exported), encoding="utf-8")
    with open(path, "rb") as f:
        assert verify_export(f, [SIGNER.vkey]).size == 30


def test_one_payload_byte_changed(exported):
    pos = position(exported, 11)
    exported[pos] = exported[pos].replace('"serial":"US-0010"', '"serial":"US-0011"', 1)
    err = failure(exported)
    assert (err.kind, err.index) == ("payload_changed", 11)


def test_a_deleted_line(exported):
    del exported[position(exported, 20)]
    err = failure(exported)
    assert (err.kind, err.index) == ("entry_missing", 20)


def test_two_lines_swapped(exported):
    a, b = position(exported, 4), position(exported, 5)
    exported[a], exported[b] = exported[b], exported[a]
    err = failure(exported)
    assert (err.kind, err.index) == ("entries_reordered", 4)


def test_a_checkpoint_signature_byte_changed(exported):
    pos = position(exported, 15) + 1
    note = json.loads(exported[pos])["checkpoint"]
    head, b64 = note.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 0x80
    exported[pos] = json.dumps({"checkpoint": f"{head} {base64.b64encode(bytes(blob)).decode()}\n"}) + "\n"
    err = failure(exported)
    assert (err.kind, err.index) == ("bad_signature", 15)

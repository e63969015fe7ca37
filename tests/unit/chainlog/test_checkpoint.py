"""C2SP tlog-checkpoint (R-L4) and tlog-cosignature (R-L9)."""

from __future__ import annotations

import base64

import pytest

from chainlog import VerificationError, merkle
from chainlog.checkpoint import (
    Checkpoint,
    cosign,
    cosignature_timestamp,
    cosigner_verifier,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from chainlog.keys import Signer
from chainlog.note import parse_note

ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
# C2SP tlog-cosignature.md example.
COSIGNED = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def test_checkpoint_text_is_origin_size_root():
    cp = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert cp.text() == "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert parse_checkpoint(cp.text()) == cp


def test_spec_example_parses():
    note = parse_note(COSIGNED)
    cp = parse_checkpoint(note.text)
    assert (cp.origin, cp.size, cp.root, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ROOT, ())
    # The witness line carries the timestamp the spec's signed message shows.
    assert cosignature_timestamp(note.signatures[1]) == 1679315147


def test_go_cosignature_timestamp_vector():
    # transparency-dev/formats note_cosigv1_test.go TestCosignatureTimestamp.
    blob = base64.b64decode("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
    from chainlog.note import Signature

    assert cosignature_timestamp(Signature("w", blob[:4], blob[4:])) == 1727964367


@pytest.mark.parametrize(
    "text",
    [
        "origin\n1\n",  # no root
        "\n1\n" + base64.b64encode(ROOT).decode() + "\n",  # empty origin
        "o\n01\n" + base64.b64encode(ROOT).decode() + "\n",  # leading zero
        "o\n-1\n" + base64.b64encode(ROOT).decode() + "\n",
        "o\n1\n" + base64.b64encode(ROOT[:31]).decode() + "\n",  # not 32 bytes
        "o\n1\nnot base64!\n",
        "o\n1\n" + base64.b64encode(ROOT).decode(),  # no final newline
        "o\n1\n" + base64.b64encode(ROOT).decode() + "\n\n",  # empty extension line
        "o\n18446744073709551616\n" + base64.b64encode(ROOT).decode() + "\n",
    ],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(VerificationError) as info:
        parse_checkpoint(text)
    assert info.value.kind == "malformed"


def test_extension_lines_are_parsed_but_never_written_by_us():
    cp = parse_checkpoint("o\n0\n" + base64.b64encode(merkle.EMPTY_ROOT).decode() + "\nextra\n")
    assert cp.extensions == ("extra",)
    assert Checkpoint("o", 0, merkle.EMPTY_ROOT).text().count("\n") == 3


def test_sign_and_open():
    signer = Signer.generate("registry.example/log")
    note = sign_checkpoint(Checkpoint("registry.example/log", 5, ROOT), signer)
    assert note.startswith("registry.example/log\n5\n")
    assert "\n\n\u2014 registry.example/log " in note
    assert open_checkpoint(note, [signer.verifier], origin="registry.example/log").size == 5
    with pytest.raises(VerificationError):
        open_checkpoint(note, [signer.verifier], origin="other.example/log")
    with pytest.raises(VerificationError) as info:
        open_checkpoint(note.replace("\n5\n", "\n6\n"), [signer.verifier])
    assert info.value.kind == "bad_signature"


def test_witness_cosignature_round_trip():
    log = Signer.generate("registry.example/log")
    witness = Signer.generate("auditor.example/w1")
    note = sign_checkpoint(Checkpoint("registry.example/log", 5, ROOT), log)
    sig = cosign(note, witness, 1700000000)
    cosigned = note + sig.line()
    wv = cosigner_verifier(witness.name, witness.public_key_bytes)
    assert wv.vkey.startswith("auditor.example/w1+")
    assert verify_cosignature(cosigned, wv) == 1700000000
    # The log key still verifies the cosigned note: the witness line is an unknown key to it.
    assert open_checkpoint(cosigned, [log.verifier]).size == 5
    # The cosignature commits to the timestamp and to the checkpoint.
    forged = cosigned.replace(sig.line(), sig.line().replace(sig.line()[-20:-2], "A" * 18))
    with pytest.raises(VerificationError):
        verify_cosignature(forged, wv)
    with pytest.raises(VerificationError) as info:
        verify_cosignature(note, wv)
    assert info.value.kind == "unverified"
    # A plain Ed25519 (type 0x01) verifier for the same key does not accept a cosignature.
    with pytest.raises(VerificationError):
        open_checkpoint(cosigned, [witness.verifier])

"""C2SP signed-note (R-L4): the spec's example, the Go reference vectors, strict parsing."""

from __future__ import annotations

import pytest

from chainlog import VerificationError
from chainlog.keys import Signer, parse_vkey
from chainlog.note import open_note, parse_note, sign_note

from .test_keys import PETER_VKEY, SPEC_VKEY, peter_signer

# C2SP signed-note.md example (C2SP/C2SP@d4c16da), with SPEC_VKEY.
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# The current signed-note.md example: text with an empty line inside, key not published.
QUASIMODO_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
# golang.org/x/mod/sumdb/note note_test.go.
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"


def test_spec_example_verifies():
    note = open_note(SPEC_NOTE, [parse_vkey(SPEC_VKEY)])
    assert note.text == "This is an example message.\n"
    assert [s.name for s in note.verified] == ["example.com/foo"]
    assert note.verified[0].key_id.hex() == "530d903a"
    assert note.render() == SPEC_NOTE
    with pytest.raises(VerificationError) as info:
        open_note(SPEC_NOTE.replace("example message", "example massage"), [parse_vkey(SPEC_VKEY)])
    assert info.value.kind == "bad_signature"


def test_text_ends_at_the_last_blank_line():
    note = parse_note(QUASIMODO_NOTE)
    assert note.text.endswith("\n\ned è subito sera.\n")
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    with pytest.raises(VerificationError) as info:  # its key is not published: nothing to trust
        open_note(QUASIMODO_NOTE, [parse_vkey(SPEC_VKEY)])
    assert info.value.kind == "unverified"


def test_signing_reproduces_the_go_reference_note_byte_for_byte():
    assert sign_note(GO_TEXT, [peter_signer()]) == GO_TEXT + "\n" + PETER_SIG


def test_unknown_signatures_are_ignored_when_a_known_key_signed():
    note = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [parse_vkey(PETER_VKEY)])
    assert [s.name for s in note.verified] == ["PeterNeumann"]
    both = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [parse_vkey(PETER_VKEY), parse_vkey(ENOCH_VKEY)])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]


def test_no_trusted_signature_is_refused():
    with pytest.raises(VerificationError) as info:
        open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert info.value.kind == "unverified"
    # Same name, other key: an unknown key, so the note is not verified.
    other = Signer.generate("PeterNeumann").verifier
    with pytest.raises(VerificationError) as info:
        open_note(GO_TEXT + "\n" + PETER_SIG, [other])
    assert info.value.kind == "unverified"


def test_a_bad_signature_by_a_known_key_rejects_the_note():
    corrupted = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError) as info:
        open_note(GO_TEXT + "\n" + corrupted, [parse_vkey(PETER_VKEY)])
    assert info.value.kind == "bad_signature"
    assert "PeterNeumann+c74f20a3" in str(info.value)


def test_repeated_signatures_are_tolerated():
    note = open_note(GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG, [parse_vkey(PETER_VKEY)])
    assert len(note.verified) == 1


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + "\u2014 PeterNeumann\n",
        GO_TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",  # shorter than key id + 1 byte
        GO_TEXT + "\n" + "\u2014 Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT + "\n" + "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
        GO_TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(message):
    with pytest.raises(VerificationError) as info:
        open_note(message, [parse_vkey(PETER_VKEY)])
    assert info.value.kind == "malformed"


def test_invalid_utf8_is_refused():
    with pytest.raises(VerificationError):
        parse_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode())


def test_sign_requires_a_final_newline():
    with pytest.raises(VerificationError):
        sign_note("abc", [peter_signer()])


def test_text_with_a_trailing_blank_line_round_trips():
    signer = Signer.generate("example.com/log")
    note = sign_note("a\n\n", [signer])
    assert open_note(note, [signer.verifier]).text == "a\n\n"

"""Signing keys (R-L4, R-L5): RFC 8032 vectors, verifier keys, key files, rotation."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from chainlog import KeyFileError, VerificationError
from chainlog.keys import (
    Signer,
    Verifier,
    format_vkey,
    generate_key_file,
    load_signer,
    parse_vkey,
    rotation_payload,
    rotation_statement,
    signer_from_env,
    verify_rotation,
)
from chainlog.note import Signature, open_note, sign_note

# RFC 8032 §7.1, TEST 1..3: (secret key, public key, message, signature).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

# golang.org/x/mod/sumdb/note note_test.go: the PeterNeumann key pair.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
# C2SP signed-note's example verifier key (signed-note.md at C2SP/C2SP@d4c16da).
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"


def peter_signer() -> Signer:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Signer.from_seed("PeterNeumann", raw[1:])


@pytest.mark.parametrize("secret, public, message, signature", RFC8032)
def test_rfc8032_vectors(secret, public, message, signature):
    signer = Signer.from_seed("rfc8032.example/test", bytes.fromhex(secret))
    assert signer.public_key_bytes.hex() == public
    assert signer.sign(bytes.fromhex(message)).hex() == signature
    verifier = signer.verifier
    assert verifier.verify(bytes.fromhex(message), bytes.fromhex(signature))
    assert not verifier.verify(bytes.fromhex(message) + b"x", bytes.fromhex(signature))


def test_go_reference_key_reproduces_its_vkey_and_key_id():
    signer = peter_signer()
    assert signer.vkey == PETER_VKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert parse_vkey(PETER_VKEY) == signer.verifier


def test_spec_example_vkey_round_trips_and_its_key_id_is_recomputed():
    verifier = parse_vkey(SPEC_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id.hex() == "530d903a"
    assert format_vkey(verifier.name, verifier.public_key) == SPEC_VKEY


def test_mangled_vkeys_are_refused():
    # note_test.go TestNewVerifier: every proper substring and every one-byte change fails.
    b = PETER_VKEY
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i != 0 or j != len(b):
                with pytest.raises(VerificationError):
                    parse_vkey(b[i:j])
    for i in range(len(b)):
        with pytest.raises(VerificationError):
            parse_vkey(b[:i] + chr(ord(b[i]) + 1) + b[i + 1 :])
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
    ):
        with pytest.raises(VerificationError):
            parse_vkey(bad)


def test_key_names_follow_signed_note():
    for bad in ("", "a b", "a+b", "a\nb"):
        with pytest.raises(ValueError):
            Signer.generate(bad)


def test_key_file_is_created_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "log.pem"
    signer = generate_key_file("registry.example/log", path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_signer("registry.example/log", path).vkey == signer.vkey
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_key_file("registry.example/log", path)
    assert load_signer("registry.example/log", path).vkey == signer.vkey


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "log.pem"
    generate_key_file("registry.example/log", path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="0600"):
        load_signer("registry.example/log", path)
    with pytest.raises(KeyFileError):
        load_signer("registry.example/log", tmp_path / "missing.pem")


def test_key_from_environment_variable():
    signer = Signer.generate("registry.example/log")
    env = {"ARCREG_SIGNING_KEY": signer.private_pem().decode()}
    assert signer_from_env("registry.example/log", "ARCREG_SIGNING_KEY", env).vkey == signer.vkey
    with pytest.raises(KeyFileError):
        signer_from_env("registry.example/log", "ARCREG_SIGNING_KEY", {})
    with pytest.raises(KeyFileError):
        signer_from_env("registry.example/log", "ARCREG_SIGNING_KEY", {"ARCREG_SIGNING_KEY": "not a pem"})


def test_repr_shows_no_private_key():
    signer = Signer.generate("registry.example/log")
    assert "PRIVATE" not in repr(signer) and signer.vkey in repr(signer)


def test_rotation_is_signed_by_both_keys_and_followed():
    old, new = Signer.generate("registry.example/log"), Signer.generate("registry.example/log")
    payload = rotation_payload(old, new)
    assert payload["incoming_vkey"] == new.vkey and payload["outgoing_vkey"] == old.vkey
    assert rotation_statement(old.vkey, new.vkey).startswith(b"chainlog key rotation v1\n")
    assert verify_rotation(payload, old.verifier) == new.verifier


def test_forged_rotations_are_refused():
    old, new, mallory = (Signer.generate("registry.example/log") for _ in range(3))
    payload = rotation_payload(old, new)
    with pytest.raises(VerificationError) as info:
        verify_rotation({**payload, "incoming_vkey": mallory.vkey}, old.verifier)
    assert info.value.kind == "bad_rotation"
    with pytest.raises(VerificationError):
        verify_rotation(payload, mallory.verifier)  # not the trusted outgoing key
    with pytest.raises(VerificationError):
        verify_rotation(rotation_payload(mallory, new), old.verifier)
    forged = rotation_payload(old, new)
    forged["incoming_signature"] = rotation_payload(old, mallory)["incoming_signature"]
    with pytest.raises(VerificationError):
        verify_rotation(forged, old.verifier)
    with pytest.raises(VerificationError):
        verify_rotation({"outgoing_vkey": old.vkey}, old.verifier)


MESSAGE = b"arcreg.test/log\n8\nq6XhxhxbpT3ZqpQbyB5ZPsCNXXuiZ6Ukx6kx8aFGvpI=\n"  # a checkpoint body


def test_verifier_refuses_realistic_bad_signatures():
    signer, other = Signer.from_seed("registry.example/log", bytes(range(32))), peter_signer()
    verifier = signer.verifier
    good = signer.sign(MESSAGE)
    assert len(good) == 64 and verifier.verify(MESSAGE, good)  # the baseline: the real one verifies
    # A valid signature of the same message by another real key.
    by_other = other.sign(MESSAGE)
    assert other.verifier.verify(MESSAGE, by_other) and not verifier.verify(MESSAGE, by_other)
    # Another real key under the same name is another key.
    impostor = Signer.from_seed("registry.example/log", bytes(range(1, 33)))
    assert not verifier.verify(MESSAGE, impostor.sign(MESSAGE))
    # Every single flipped bit of the real signature.
    for bit in range(len(good) * 8):
        flipped = bytearray(good)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not verifier.verify(MESSAGE, bytes(flipped)), bit
    # Truncated, extended, empty -- and the real signature of a different message.
    for cut in (good[:-1], good[:32], good[1:], good + b"\x00", b""):
        assert not verifier.verify(MESSAGE, cut), cut.hex()
    assert not verifier.verify(MESSAGE + b"\n", good)
    # A malformed public key verifies nothing.
    assert not Verifier("x", bytes(32)).verify(b"m", b"short")
    assert not Verifier("x", bytes(31)).verify(MESSAGE, good)


def test_a_note_signature_under_a_wrong_key_id_is_not_a_trusted_signature():
    signer, other = Signer.from_seed("registry.example/log", bytes(range(32))), peter_signer()
    text = MESSAGE.decode()
    assert open_note(sign_note(text, [signer]), [signer.verifier]).verified  # the baseline
    good = signer.sign(MESSAGE)
    wrong_id = bytes(b ^ 0xFF for b in signer.key_id)
    # The real signature under another key id: no trusted key signed it (ignored, signed-note spec).
    note = text + "\n" + Signature(signer.name, wrong_id, good).line()
    with pytest.raises(VerificationError) as info:
        open_note(note, [signer.verifier])
    assert info.value.kind == "unverified"
    # Another key's signature under the trusted key's name and id: a bad signature.
    note = text + "\n" + Signature(signer.name, signer.key_id, other.sign(MESSAGE)).line()
    with pytest.raises(VerificationError) as info:
        open_note(note, [signer.verifier])
    assert info.value.kind == "bad_signature"
    # The trusted key id under another key name: not the trusted key either.
    note = text + "\n" + Signature("registry.example/other", signer.key_id, good).line()
    with pytest.raises(VerificationError) as info:
        open_note(note, [signer.verifier])
    assert info.value.kind == "unverified"
    # A flipped bit or a truncated signature under the right name and id: a bad signature.
    for bad in (bytes([good[0] ^ 1]) + good[1:], good[:-1]):
        note = text + "\n" + Signature(signer.name, signer.key_id, bad).line()
        with pytest.raises(VerificationError) as info:
            open_note(note, [signer.verifier])
        assert info.value.kind == "bad_signature"

"""The sign-in rules that need no database (R-W1): passwords, TOTP steps and replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from registry.accounts import passwords, recovery, totp
from registry.errors import InvalidInput

AT = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_passwords_are_argon2id_and_verified():
    stored = passwords.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery staple")
    assert not passwords.verify(stored, "correct horse battery stapl")
    assert not passwords.verify(None, "anything at all")  # no account: the dummy hash, refused
    assert not passwords.verify("not a hash", "anything at all")
    assert not passwords.verify(stored, "x" * (passwords.MAX_LENGTH + 1))


@pytest.mark.parametrize(("password", "code"), [("short", "password_too_short"),
                                                ("x" * 257, "password_too_long"),
                                                ("Person@Example.org", "password_is_email")])
def test_the_password_policy(password, code):
    with pytest.raises(InvalidInput) as refused:
        passwords.check_policy(password, email="person@example.org")
    assert refused.value.code == code and refused.value.field == "password"


def test_a_long_passphrase_passes_the_policy():
    passwords.check_policy("four plain words here", email="person@example.org")


def test_a_totp_code_matches_its_step_and_one_either_side():
    step = totp.step_at(AT)
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(SECRET).at(AT + timedelta(seconds=30 * offset))
        assert totp.matching_step(SECRET, code, AT) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(SECRET, pyotp.TOTP(SECRET).at(AT + timedelta(seconds=30 * offset)), AT) is None
    assert totp.matching_step(SECRET, "12 34 56", AT) in (None, step - 1, step, step + 1)
    assert totp.matching_step(SECRET, "abcdef", AT) is None
    assert totp.matching_step(SECRET, "1234567", AT) is None


def test_a_totp_code_is_accepted_once_and_never_an_older_one():
    now = pyotp.TOTP(SECRET).at(AT)
    step = totp.accept(SECRET, None, now, AT)
    assert step == totp.step_at(AT)
    assert totp.accept(SECRET, step, now, AT) is None  # the same code again
    earlier = pyotp.TOTP(SECRET).at(AT - timedelta(seconds=30))
    assert totp.accept(SECRET, step, earlier, AT) is None  # an older one
    later = pyotp.TOTP(SECRET).at(AT + timedelta(seconds=30))
    assert totp.accept(SECRET, step, later, AT) == step + 1


def test_new_secrets_hold_160_bits_and_make_an_otpauth_uri():
    secret = totp.new_secret()
    assert len(secret) == 32 and secret != totp.new_secret()
    uri = totp.provisioning_uri(secret, "ops@example.org")
    assert uri.startswith("otpauth://totp/ARC%20Registry:ops%40example.org?secret=" + secret)


def test_recovery_codes_are_typed_loosely():
    assert recovery.normalise("ABCD-ef01 2345-6789") == "abcdef0123456789"

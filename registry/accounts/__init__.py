"""Sign-in for people (R-W1): passwords (argon2id), TOTP second factor,
single-use recovery codes, server-side sessions with idle and absolute
expiry, and one-time password reset links an administrator creates.

- `models`: the tables (``user_login``, ``recovery_code``, ``password_reset``).
- `passwords`: hashing and the password policy.
- `totp`: RFC 6238 codes, each accepted once.
- `recovery`: recovery codes.
- `sessions`: the browser's server-side session (``web_session``).
- `signin`: the steps of a sign-in, and the account's own changes.
- `resets`: reset links.

API tokens stay for machines (R-P5, R-X7, ``registry.identity``). Nothing
here writes a log entry: credentials are secrets of one person, never public
records (docs/decisions.md).
"""

"""Replay of staff roles (R-L7b, R-P4): who is a registry administrator or
a certification body's certifier, as the log says.

Granting or revoking ``admin`` or ``certifier`` is a log entry
(`registry.staff_roles`): ``user.role_granted`` {user, role, body} and
``user.role_revoked`` {user, role}. The payload is the user's id, the role
and, for a certifier, the body it acts for (R-C2) — no personal data. The
replayed map ``staff`` holds user id -> {"role": role or None, "body": code
or None}; the comparison (`registry.table_compare`) holds every user row to
it, so a role written into the users table without an entry is named.
"""

from __future__ import annotations

import re

from registry.replay.state import State, fail

STAFF_ROLES = ("admin", "certifier")
_BODY = re.compile(r"^[A-Z]{3}$")


def _user(i: int, kind: str, p: dict) -> int:
    user = p.get("user")
    if isinstance(user, bool) or not isinstance(user, int) or user <= 0:
        raise fail(i, f"{kind}: user must be a positive integer id, not {user!r}")
    return user


def granted(s: State, i: int, kind: str, p: dict) -> None:
    user, role, body = _user(i, kind, p), p.get("role"), p.get("body")
    if role not in STAFF_ROLES:
        raise fail(i, f"{kind}: user {user}: {role!r} is not a staff role ({' or '.join(STAFF_ROLES)})")
    if (role == "certifier") != (isinstance(body, str) and bool(_BODY.match(body))) or (
            role == "admin" and body is not None):
        # R-C2: a certifier acts for one body, named by its three capitals; an admin for none.
        raise fail(i, f"{kind}: user {user}: role {role} with body {body!r}")
    current = s.staff.get(user)
    if current is not None and current["role"] is not None:  # R-P4: one role per user
        s.finding(fail(i, f"R-P4: {kind}: user {user} already holds the role {current['role']}"))
    s.staff[user] = {"role": role, "body": body}


def revoked(s: State, i: int, kind: str, p: dict) -> None:
    user, role = _user(i, kind, p), p.get("role")
    current = s.staff.get(user)
    if current is None or current["role"] != role:
        raise fail(i, f"{kind}: user {user} does not hold the role {role!r} "
                      f"(it holds {None if current is None else current['role']!r})")
    s.staff[user] = {"role": None, "body": None}


HANDLERS = {"user.role_granted": granted, "user.role_revoked": revoked}

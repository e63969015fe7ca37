"""R-L7b, R-P4: granting a staff role is a log entry, in the same
transaction as the user row; replay derives the staff roles from the log."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from chainlog.errors import VerificationError
from registry.replay import Replayer, replay


def _entries(engine, type_: str) -> list[tuple[str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(text('SELECT actor, canonical FROM log_entries WHERE type = :t ORDER BY "index"'),
                            {"t": type_}).all()
    return [(actor, json.loads(canonical)["payload"]) for actor, canonical in rows]


def test_staff_users_are_logged_with_id_and_role_only(driver, engine):
    """The bootstrap admin (by system), then a certifier and an admin created
    over the API (by the admin who did it); members are not staff: no entry.
    The payload carries no email (personal data stays in the users table)."""
    made = driver.ok("/users", {"email": "auditor@scs.example", "role": "certifier", "body_code": "SCS"},
                     driver.admin)
    other = driver.ok("/users", {"email": "second-admin@registry.test", "role": "admin"}, driver.admin)
    participant = driver.participant("Trader A")["id"]
    driver.member(participant)
    grants = _entries(engine, "user.role_granted")
    with engine.connect() as conn:
        first_admin = conn.execute(text("SELECT id FROM app_user WHERE email = 'admin@registry.test'")).scalar()
    assert grants == [
        ("system", {"user": first_admin, "role": "admin", "body": None}),
        (f"user:{first_admin}", {"user": made["id"], "role": "certifier", "body": "SCS"}),
        (f"user:{first_admin}", {"user": other["id"], "role": "admin", "body": None}),
    ]
    assert "@" not in json.dumps(grants)


def test_a_refused_user_writes_no_entry(driver, engine):
    before = _entries(engine, "user.role_granted")
    response = driver.post("/users", {"email": "admin@registry.test", "role": "admin"}, driver.admin)
    assert response.status_code == 409
    assert _entries(engine, "user.role_granted") == before


def _apply(*events):
    replayer = Replayer()
    try:
        for index, (kind, payload) in enumerate(events):
            replayer.apply(index, kind, payload, None)
        return {k: v for k, v in replayer.state.staff.sorted_items()}, list(replayer.state.findings)
    finally:
        replayer.state.close()


def test_replay_derives_staff_roles():
    staff, findings = _apply(("user.role_granted", {"user": 1, "role": "admin", "body": None}),
                             ("user.role_granted", {"user": 2, "role": "certifier", "body": "NSF"}),
                             ("user.role_revoked", {"user": 1, "role": "admin"}))
    assert staff == {1: {"role": None, "body": None}, 2: {"role": "certifier", "body": "NSF"}}
    assert findings == []


def test_replay_names_a_second_grant():
    _, findings = _apply(("user.role_granted", {"user": 1, "role": "admin", "body": None}),
                         ("user.role_granted", {"user": 1, "role": "certifier", "body": "NSF"}))
    assert [f.index for f in findings] == [1] and "R-P4: user.role_granted: user 1 already holds" in str(findings[0])


@pytest.mark.parametrize("events", [
    [("user.role_granted", {"user": 1, "role": "member", "body": None})],  # not a staff role
    [("user.role_granted", {"user": 1, "role": "certifier", "body": None})],  # a certifier without its body
    [("user.role_granted", {"user": 1, "role": "admin", "body": "NSF"})],  # an admin acts for no body
    [("user.role_granted", {"user": 1, "role": "admin", "body": "nsf"})],  # not a body's name either
    [("user.role_granted", {"user": "1", "role": "admin", "body": None})],  # ids are integers
    [("user.role_granted", {"user": 7.5, "role": "admin", "body": None})],  # not a number with a fraction
    [("user.role_granted", {"user": 0, "role": "admin", "body": None})],  # ids are positive
    [("user.role_revoked", {"user": 1, "role": "admin"})],  # revoking what was never granted
    [("user.role_granted", {"user": 1, "role": "certifier", "body": "NSF"}),
     ("user.role_revoked", {"user": 1, "role": "admin"})],  # revoking a role the user does not hold
    [("user.role_granted", {"user": 1, "role": "admin", "body": None}),
     ("user.role_revoked", {"user": "1", "role": "admin"})],  # ids are integers, when revoking too
])
def test_replay_refuses_an_impossible_role_entry(events):
    with pytest.raises(VerificationError) as refused:
        replay([{"index": i, "type": kind, "payload": payload} for i, (kind, payload) in enumerate(events)])
    assert refused.value.kind == "replay_inconsistent" and refused.value.index == len(events) - 1

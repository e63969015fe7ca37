"""What the workspace's generator and custody pages share: the page size, the CSRF setting of
prefixed forms, the mass field's name, a form's mass as the API's body, and the member's
participant."""

from __future__ import annotations

LIMIT = 200  # rows per table; the API pages through more
#: Two forms on one page carry prefixes (unique ids); their CSRF token is the page's one, checked for every
#: POST before the view runs (api/workspace/csrf.py), so the prefixed forms do not check it again.
CHECKED = {"csrf": False}

MASS_FIELDS = {"mass": "mass_value"}


def mass_body(value, unit) -> dict | None:
    value = (value or "").strip()
    return {"value": value, "unit": unit} if value else None


def member_participant(person) -> int:
    return person.user.participant_id

"""Keeping a participant's details current and accurate (RMS 8.1.4): its name,
address and contacts, and whether it reviews incoming transfers (R-T6).

An administrator changes any of them; the participant's own members change
its contacts and its ``incoming_transfers`` setting only (R-P4). Each change is one ``participant.updated`` log
entry in the same transaction (R-X3), and replay re-derives the stored
fields from the log (R-L7): name and address as given (the organisation's
public identity, like the facility addresses a certificate entry carries),
the contacts as a salted SHA-256 commitment, because they are people's names,
emails and phone numbers and the log is public and append-only. The salt
stays in the database, so the log does not let anyone guess an email from
its digest, while any direct edit of the contacts (or the salt) no longer
matches the logged digest and fails ``arcreg verify``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from typing import Any

from registry.actors import Actor, require_role
from registry.db import UnitOfWork
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.journal import record
from registry.models import Participant
from registry.names import check_name
from registry.offers import rules as offer_rules
from registry.participants import get_participant, participant_payload

UNSET: Any = object()  # a field the request did not mention
ADMIN_ONLY_FIELDS = ("name", "address")
MAX_CONTACTS = 10
CONTACT_FIELDS = {"name": 200, "role": 100, "email": 320, "phone": 40}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{2,39}")


def contacts_digest(contacts: list[dict] | None, salt: str | None) -> str | None:
    """The commitment the log carries for a participant's contacts: SHA-256 of
    the salt, a newline and the contacts as canonical JSON (sorted keys, no
    spaces, UTF-8). None while no contacts were ever recorded (no salt, none
    stored); contacts without a salt commit to nothing and never match."""
    if salt is None:
        return None if not contacts else "uncommitted"
    text = json.dumps(contacts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{salt}\n{text}".encode()).hexdigest()


def details_payload(participant: Participant, changed: list[str]) -> dict:
    """The ``participant.updated`` entry: the participant's state after the change."""
    return {**participant_payload(participant), "address": participant.address,
            "contacts_digest": contacts_digest(participant.contacts, participant.contacts_salt),
            "incoming_transfers": participant.incoming_transfers,  # R-T6
            "changed": changed}


def _text(value: Any, field: str, limit: int, *, required: bool = True, chars: bool = True) -> str | None:
    """Trimmed text without control, format (zero-width, bidirectional
    overrides), private-use or unassigned characters."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field, code="invalid_type", rule="R-X2")
    value = value.strip()
    if not value:
        if not required:
            return None
        raise InvalidInput(f"{field} must not be blank", field=field, code="missing_field", rule="R-X2")
    if len(value) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters", field=field, code="too_long", rule="R-X2")
    bad = next((c for c in value if unicodedata.category(c).startswith("C")), None) if chars else None
    if bad is not None:
        raise InvalidInput(f"{field} contains the invisible or control character U+{ord(bad):04X}",
                           field=field, code="invalid_characters", rule="R-X2")
    return value


def check_contacts(contacts: Any) -> list[dict]:
    """Contacts as stored: up to ten, each a name and an email or a phone
    (and optionally a role), every key present (None when not given)."""
    if not isinstance(contacts, list):
        raise InvalidInput("contacts must be a list", field="contacts", code="invalid_type", rule="R-X2")
    if len(contacts) > MAX_CONTACTS:
        raise InvalidInput(f"at most {MAX_CONTACTS} contacts", field="contacts", code="too_many", rule="R-X2")
    out = []
    for i, contact in enumerate(contacts):
        where = f"contacts[{i}]"
        if not isinstance(contact, dict):
            raise InvalidInput(f"{where} must be an object", field=where, code="invalid_type", rule="R-X2")
        unknown = sorted(set(contact) - set(CONTACT_FIELDS))
        if unknown:
            raise InvalidInput(f"{where}.{unknown[0]} is not a contact field", field=f"{where}.{unknown[0]}",
                               code="unknown_field", rule="R-X2")
        clean = {key: _text(contact.get(key), f"{where}.{key}", limit, required=key == "name")
                 for key, limit in CONTACT_FIELDS.items()}
        if clean["email"] is not None and not _EMAIL.fullmatch(clean["email"]):
            raise InvalidInput(f"{where}.email is not an email address", field=f"{where}.email",
                               code="invalid_email", rule="R-X2")
        if clean["phone"] is not None and (not _PHONE.fullmatch(clean["phone"])
                                           or sum(c.isdigit() for c in clean["phone"]) < 3):
            raise InvalidInput(f"{where}.phone is not a phone number (digits, spaces, + ( ) . / -)",
                               field=f"{where}.phone", code="invalid_phone", rule="R-X2")
        if clean["email"] is None and clean["phone"] is None:
            raise InvalidInput(f"{where} needs an email or a phone", field=f"{where}.email",
                               code="missing_field", rule="R-X2")
        out.append(clean)
    return out


def update_participant(uow: UnitOfWork, actor: Actor, participant_id: int, *, name: Any = UNSET,
                       address: Any = UNSET, contacts: Any = UNSET,
                       incoming_transfers: Any = UNSET) -> Participant:
    """RMS 8.1.4: change a participant's name, address or contacts. Admin: any
    of them; the participant's members: its contacts only (R-P4). A field not
    passed is left as it is; an address of None clears it; contacts replace
    the list. A change writes one ``participant.updated`` entry; a request
    that changes nothing writes nothing."""
    given = {k: v for k, v in (("name", name), ("address", address), ("contacts", contacts),
                               ("incoming_transfers", incoming_transfers)) if v is not UNSET}
    if not actor.is_admin:
        require_role(actor, "admin", "member")
        for field in ADMIN_ONLY_FIELDS:
            if field in given:
                raise Forbidden(f"only a registry administrator changes a participant's {field}",
                                code="admin_only_field", field=field, rule="R-P4")
        if not actor.acts_for(participant_id):  # R-X4: as if it did not exist
            raise NotFound(f"no participant {participant_id}", code="participant_not_found")
    if not given:
        raise InvalidInput("nothing to update: give name, address, contacts or incoming_transfers", code="empty_update",
                           field="body", rule="R-X2")
    new = {}
    if "name" in given:
        new["name"] = check_name("name", _text(given["name"], "name", 200, chars=False))  # R-R5, as at registration
    if "address" in given:
        new["address"] = _text(given["address"], "address", 400, required=False)
    if "contacts" in given:
        new["contacts"] = check_contacts(given["contacts"])
    if "incoming_transfers" in given:  # R-T6: the participant's members or an admin
        new["incoming_transfers"] = offer_rules.check_setting(given["incoming_transfers"])
    participant = get_participant(uow, participant_id, lock=True)
    changed = [field for field, value in new.items() if getattr(participant, field) != value]
    if not changed:
        return participant
    for field in changed:
        setattr(participant, field, value := new[field])
        if field == "contacts":
            participant.contacts = list(value)  # a new list: the JSON column sees the change
            participant.contacts_salt = secrets.token_hex(32)  # a fresh commitment (see the module doc)
    uow.flush()
    record(uow, "participant.updated", actor, details_payload(participant, changed))
    return participant

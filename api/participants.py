"""Participants, users and tokens (SPEC §3, §13.1)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.context import registry
from api.fields import ID_MAX, ID_MIN, Instant
from api.openapi import Blueprint
from registry import identity, participant_details, participants

blp = Blueprint("participants", __name__, description="Participants, users and API tokens (R-P1–R-P5)")


class ParticipantIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    country = ma.fields.String(required=True, validate=ma.validate.Length(2, 2),
                               metadata={"description": "ISO 3166-1 alpha-2"})
    gpp_signed_on = ma.fields.Date(required=True, allow_none=True,
                                   metadata={"description": "Good Practice Principles commitment signed on"})


class ParticipantOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    country = ma.fields.String()
    status = ma.fields.String()
    gpp_signed_on = ma.fields.Date(allow_none=True)
    generator_removed_on = ma.fields.Date(allow_none=True, metadata={
        "description": "the day it was removed as an ARC generator (R-E4); its account stays"})
    incoming_transfers = ma.fields.String(metadata={
        "enum": ["automatic", "review"], "description": "review: transfers to it are offers it accepts (R-T6)"})


class ContactIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    role = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=100))
    email = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=320))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=40))


class ParticipantPatch(ma.Schema):
    """RMS 8.1.4: only the fields given change. Name and address: admin; contacts and
    incoming_transfers (R-T6): admin or the participant's members."""

    name = ma.fields.String(validate=ma.validate.Length(1, 200))
    address = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=400),
                               metadata={"description": "null or blank clears it"})
    contacts = ma.fields.List(ma.fields.Nested(ContactIn), validate=ma.validate.Length(max=10),
                              metadata={"description": "replaces the list; each needs an email or a phone"})
    incoming_transfers = ma.fields.String(validate=ma.validate.OneOf(["automatic", "review"]), metadata={
        "description": "admin or the participant's members: review incoming transfers as offers (R-T6)"})


class ContactOut(ma.Schema):
    name = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)


class ParticipantDetailsOut(ParticipantOut):
    address = ma.fields.String(allow_none=True)
    contacts = ma.fields.List(ma.fields.Nested(ContactOut))


class SuspendIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000))


class StaffUserIn(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(3, 320))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["admin", "certifier"]))
    body_code = ma.fields.String(load_default=None, allow_none=True)


class MemberIn(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(3, 320))


class UserOut(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    role = ma.fields.String()
    body_code = ma.fields.String(allow_none=True)
    participant_id = ma.fields.Integer(allow_none=True)
    disabled_at = Instant(allow_none=True, metadata={
        "description": "set while an administrator has disabled the user: its tokens are refused (R-X7)"})


class TokenIn(ma.Schema):
    expires_at = Instant(load_default=None, allow_none=True, metadata={
        "description": "omitted or null: the earliest of the maximum lifetime (default 365 days) and the "
                       "expiry of the token sending the request; a later instant is refused (R-X7)"})
    label = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 100),
                             metadata={"description": "what the token is for, shown in the token list"})


class TokenOut(ma.Schema):
    id = ma.fields.Integer()
    token = ma.fields.String(metadata={"description": "shown once; only its hash is stored"})
    expires_at = Instant()
    parent_token_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "the token whose request created this one: revoking it revokes this one (R-X7)"})
    label = ma.fields.String(allow_none=True)


class TokenListQuery(ma.Schema):
    before = ma.fields.Integer(load_default=None, validate=ma.validate.Range(ID_MIN, ID_MAX),
                               metadata={"description": "only tokens with a smaller id (the next page)"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))


class TokenInfoOut(ma.Schema):
    id = ma.fields.Integer()
    label = ma.fields.String(allow_none=True)
    created_at = Instant()
    expires_at = Instant()
    revoked_at = Instant(allow_none=True)
    parent_token_id = ma.fields.Integer(allow_none=True)
    active = ma.fields.Boolean(metadata={"description": "neither revoked nor expired (the user may be disabled)"})


class TokenListOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TokenInfoOut))
    next_before = ma.fields.Integer(allow_none=True, metadata={"description": "pass as before for the next page"})


@blp.route("/participants")
class Participants(MethodView):
    @blp.arguments(ParticipantIn)
    @blp.response(201, ParticipantOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Register a participant (admin); it starts pending."""
        return perform(participants.register_participant, **body, schema=ParticipantOut, status=201)


@blp.route("/participants/<id:participant_id>")
class ParticipantById(MethodView):
    @blp.response(200, ParticipantDetailsOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, participant_id):
        """A participant with its address and contacts (admin, or its own members)."""
        return read(participants.read_participant, participant_id, authenticated=True)

    @blp.arguments(ParticipantPatch)
    @blp.response(200, ParticipantDetailsOut)
    @blp.doc(security=[{"bearer": []}])
    def patch(self, body, participant_id):
        """Update a participant's name, address (admin) or contacts (admin or its members), RMS 8.1.4.
        Each change is a `participant.updated` log entry."""
        return perform(participant_details.update_participant, participant_id, **body,
                       schema=ParticipantDetailsOut, status=200)


@blp.route("/participants/<id:participant_id>/activate")
class Activate(MethodView):
    @blp.response(200, ParticipantOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, participant_id):
        """Activate a participant that signed the GPP commitment (admin)."""
        return perform(participants.activate_participant, participant_id, schema=ParticipantOut, status=200)


@blp.route("/participants/<id:participant_id>/suspend")
class Suspend(MethodView):
    @blp.arguments(SuspendIn)
    @blp.response(200, ParticipantOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, participant_id):
        """Suspend a participant: its holdings become inactive (R-P3)."""
        return perform(participants.suspend_participant, participant_id, **body, schema=ParticipantOut, status=200)


@blp.route("/participants/<id:participant_id>/users")
class Members(MethodView):
    @blp.arguments(MemberIn)
    @blp.response(201, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, participant_id):
        """Add a member user acting for the participant (admin)."""
        return perform(identity.add_member, participant_id, **body, schema=UserOut, status=201)


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(StaffUserIn)
    @blp.response(201, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Add an administrator or a certification body's user (admin)."""
        return perform(identity.add_staff_user, **body, schema=UserOut, status=201)


@blp.route("/users/<id:user_id>/disable")
class DisableUser(MethodView):
    @blp.response(200, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, user_id):
        """Disable a user (admin): all its tokens stop at once, its sessions end (R-X7)."""
        return perform(identity.disable_user, user_id, schema=UserOut, status=200)


@blp.route("/users/<id:user_id>/enable")
class EnableUser(MethodView):
    @blp.response(200, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, user_id):
        """Enable a disabled user again (admin): its unexpired, unrevoked tokens work again (R-X7)."""
        return perform(identity.enable_user, user_id, schema=UserOut, status=200)


@blp.route("/users/<id:user_id>/tokens")
class Tokens(MethodView):
    @blp.arguments(TokenIn)
    @blp.response(201, TokenOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, user_id):
        """Issue an API token (admin, or the user itself); the token is shown once. It expires no
        later than the token sending the request, which can revoke it (R-X7). Users of a suspended
        participant get none (403 `participant_suspended`)."""
        return perform(identity.create_token_for, user_id, **body,
                       max_lifetime=registry().config.token_max_lifetime, schema=TokenOut, status=201)

    @blp.arguments(TokenListQuery, location="query")
    @blp.response(200, TokenListOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, query, user_id):
        """The user's tokens, newest first, without secrets (admin, or the user itself; R-X7)."""
        return read(identity.list_tokens, user_id, **query, authenticated=True)


@blp.route("/tokens/<id:token_id>")
class TokenById(MethodView):
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, token_id):
        """Revoke a token (its user or an admin), the tokens created with it, theirs, and the
        page sessions signed in with any of them (R-X7)."""
        return perform(identity.revoke_token, token_id, status=204)

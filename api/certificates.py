"""RMS certificates (SPEC §4)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import perform, read
from api.fields import Id, Instant
from api.openapi import Blueprint
from registry import holdings, rms_certificates
from registry.db import UnitOfWork

blp = Blueprint("rms_certificates", __name__, description="RMS certificates and the public register (R-C1–R-C4)")


class CoveredFacility(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    address = ma.fields.String(required=True, validate=ma.validate.Length(1, 400))
    country = ma.fields.String(required=True, validate=ma.validate.Length(2, 2),
                               metadata={"description": "ISO 3166-1 alpha-2"})


class ListedFacility(CoveredFacility):
    participant = ma.fields.Integer(metadata={"description": "a group certificate's member this site belongs to"})


class GroupMemberIn(ma.Schema):
    participant_id = Id(required=True)
    facilities = ma.fields.List(ma.fields.Nested(CoveredFacility), required=True, validate=ma.validate.Length(1, 500),
                                metadata={"description": "the member's facilities the group certificate covers"})


class CertificateIn(ma.Schema):
    participant_id = Id(required=True)
    number = ma.fields.String(required=True, metadata={"example": "RMS-NSF-00234"})
    issued_on = ma.fields.Date(required=True)
    expires_on = ma.fields.Date(required=True)
    activities = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(rms_certificates.ACTIVITIES)),
                                required=True, validate=ma.validate.Length(min=1))
    facility_scope = ma.fields.String(required=True,
                                      validate=ma.validate.OneOf(rms_certificates.FACILITY_SCOPES))
    product_groups = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 200)),
                                    required=True)
    control_systems = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(rms_certificates.CONTROL_SYSTEMS)),
        required=True, validate=ma.validate.Length(min=1))
    facilities = ma.fields.List(ma.fields.Nested(CoveredFacility), load_default=list,
                                validate=ma.validate.Length(max=500),
                                metadata={"description": "the facilities the certificate covers (R-C2); a group "
                                                         "certificate lists them under members"})
    group_name = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 200),
                                  metadata={"description": "a group certificate's group entity (RMS 7.1.6.3)"})
    members = ma.fields.List(ma.fields.Nested(GroupMemberIn), load_default=None, validate=ma.validate.Length(1, 500),
                             metadata={"description": "a group certificate's members and their facilities, all in "
                                                      "one country (RMS 7.1.6.3, P3.1.4; R-C6)"})


class RenewalIn(ma.Schema):
    issued_on = ma.fields.Date(required=True)
    expires_on = ma.fields.Date(required=True)


class CertificateAmendmentIn(ma.Schema):
    effective_on = ma.fields.Date(required=True, metadata={"description": "today or later (RMS 7.4.3)"})
    activities = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(rms_certificates.ACTIVITIES)),
                                load_default=None, validate=ma.validate.Length(min=1))
    product_groups = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 200)), load_default=None)
    control_systems = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(rms_certificates.CONTROL_SYSTEMS)), load_default=None,
        validate=ma.validate.Length(min=1))
    facilities = ma.fields.List(ma.fields.Nested(CoveredFacility), load_default=None,
                                validate=ma.validate.Length(max=500))
    members = ma.fields.List(ma.fields.Nested(GroupMemberIn), load_default=None, validate=ma.validate.Length(1, 500))


class EventIn(ma.Schema):
    on = ma.fields.Date(required=True)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000))


class CertificateOut(ma.Schema):
    id = ma.fields.Integer()
    participant_id = ma.fields.Integer()
    number = ma.fields.String()
    body_code = ma.fields.String()
    issued_on = ma.fields.Date()
    expires_on = ma.fields.Date()
    activities = ma.fields.List(ma.fields.String())
    facility_scope = ma.fields.String()
    product_groups = ma.fields.List(ma.fields.String())
    control_systems = ma.fields.List(ma.fields.String())
    facilities = ma.fields.List(ma.fields.Nested(ListedFacility))
    valid_today = ma.fields.Boolean()
    group_name = ma.fields.String(allow_none=True)
    periods = ma.fields.List(ma.fields.Dict())
    versions = ma.fields.List(ma.fields.Dict())


class HolderOut(ma.Schema):
    participant_id = ma.fields.Integer()
    name = ma.fields.String()


class ValidityPeriodOut(ma.Schema):
    issued_on = ma.fields.Date()
    expires_on = ma.fields.Date()


class VersionOut(ma.Schema):
    """The scope and sites in force from ``effective_on`` (R-C6)."""

    effective_on = ma.fields.String(metadata={"format": "date"})
    activities = ma.fields.List(ma.fields.String())
    product_groups = ma.fields.List(ma.fields.String())
    control_systems = ma.fields.List(ma.fields.String())
    facilities = ma.fields.List(ma.fields.Nested(ListedFacility))
    members = ma.fields.List(ma.fields.Integer())


class HistoryOut(ma.Schema):
    kind = ma.fields.String(metadata={"description": "suspended | reinstated | revoked"})
    on = ma.fields.Date(metadata={"description": "the date it takes effect"})
    reason = ma.fields.String()
    recorded_at = Instant(metadata={"description": "when the certification body recorded it"})


class RegisterEntryOut(ma.Schema):
    """A certificate in the public register (R-C4)."""

    number = ma.fields.String()
    body_code = ma.fields.String()
    holder = ma.fields.Nested(HolderOut)
    issued_on = ma.fields.Date()
    expires_on = ma.fields.Date()
    activities = ma.fields.List(ma.fields.String())
    facility_scope = ma.fields.String()
    facilities = ma.fields.List(ma.fields.Nested(ListedFacility))
    product_groups = ma.fields.List(ma.fields.String())
    control_systems = ma.fields.List(ma.fields.String())
    periods = ma.fields.List(ma.fields.Nested(ValidityPeriodOut),
                             metadata={"description": "every validity period, renewals included (R-C6); days "
                                                      "between two are not valid"})
    versions = ma.fields.List(ma.fields.Nested(VersionOut),
                              metadata={"description": "the scope and sites from each amendment's date (R-C6)"})
    group_name = ma.fields.String(allow_none=True, metadata={"description": "a group certificate's entity"})
    members = ma.fields.List(ma.fields.Nested(HolderOut), metadata={"description": "a group's members (R-C6)"})
    valid_today = ma.fields.Boolean()
    status_today = ma.fields.String(
        metadata={"description": "valid | not_yet_valid | expired | suspended | revoked (R-C3)"})
    history = ma.fields.List(ma.fields.Nested(HistoryOut),
                             metadata={"description": "suspensions, reinstatements and revocations, in date order"})


class RegisterQuery(ma.Schema):
    participant = ma.fields.Integer(load_default=None, metadata={"description": "the holder's participant id"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, holdings.MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


class RegisterPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RegisterEntryOut))
    next_cursor = ma.fields.String(allow_none=True)


def _with_validity(uow: UnitOfWork, cert) -> dict:
    return {**cert.model_dump(), "valid_today": rms_certificates.is_valid_on(uow, cert, uow.clock.today())}


def _record(uow, actor, **body):
    return _with_validity(uow, rms_certificates.record_certificate(uow, actor, **body))


def _renew(uow, actor, number, **body):
    return _with_validity(uow, rms_certificates.renew_certificate(uow, actor, number, **body))


def _amend(uow, actor, number, **body):
    return _with_validity(uow, rms_certificates.amend_certificate(uow, actor, number, **body))


def _event(kind):
    def service(uow, actor, number, **body):
        return _with_validity(uow, rms_certificates.add_event(uow, actor, number, kind=kind, **body))
    return service


@blp.route("/rms-certificates")
class Certificates(MethodView):
    @blp.arguments(CertificateIn)
    @blp.response(201, CertificateOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body):
        """Record an RMS certificate (a certifier of the issuing body, or an admin)."""
        return perform(_record, **body, schema=CertificateOut, status=201)

    @blp.arguments(RegisterQuery, location="query")
    @blp.response(200, RegisterPage)
    def get(self, args):
        """The public certificate register, or one participant's certificates (R-C4)."""
        return read(rms_certificates.list_register, **args)


@blp.route("/rms-certificates/<string:number>")
class CertificateByNumber(MethodView):
    @blp.response(200, RegisterEntryOut)
    def get(self, number):
        """A certificate by number: holder, body, scope, validity and status history (public, R-C4)."""
        return read(rms_certificates.lookup_certificate, number)


EVENTS = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}


@blp.route("/rms-certificates/<string:number>/<any(revoke, suspend, reinstate):action>")
class CertificateEvent(MethodView):
    @blp.arguments(EventIn)
    @blp.response(200, CertificateOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, number, action):
        """Revoke (permanent), suspend or reinstate a certificate from a date (R-C3)."""
        return perform(_event(EVENTS[action]), number, **body, schema=CertificateOut, status=200)


@blp.route("/rms-certificates/<string:number>/renew")
class CertificateRenewal(MethodView):
    @blp.arguments(RenewalIn)
    @blp.response(200, CertificateOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, number):
        """Renew a certificate under its number: a new validity period after the last (R-C6, RMS 7.2.2)."""
        return perform(_renew, number, **body, schema=CertificateOut, status=200)


@blp.route("/rms-certificates/<string:number>/amend")
class CertificateAmendment(MethodView):
    @blp.arguments(CertificateAmendmentIn)
    @blp.response(200, CertificateOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body, number):
        """Amend a certificate's scope and sites from a date, between audits (R-C6, RMS 7.4.3)."""
        return perform(_amend, number, **body, schema=CertificateOut, status=200)

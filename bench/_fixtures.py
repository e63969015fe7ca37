"""What every registry benchmark starts from, made through the services (the
calls the API makes): the log's signer, the staff, certified reprocessors and
sold lots of base material."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from chainlog.keys import Signer
from registry import (
    additionality,
    determinations,
    facilities,
    identity,
    lots,
    participants,
    rms_certificates,
)
from registry.identity import actor_of
from registry.units import Mass

ORIGIN = "bench.example/arc-registry"
SEED = bytes(range(32))
SIGNER = Signer.from_seed(ORIGIN, SEED)
DIGEST = {"sha256": "5f" * 32, "description": "annual mass balance report"}
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MILLI = Decimal("0.001")


def tonnes(value) -> Mass:
    return Mass(Decimal(value) * 1000)


def staff(uow):
    """(admin actor, admin token, certifier actor): the bootstrap admin and an NSF certifier."""
    admin_user, token = identity.create_admin(uow, "admin@bench.example")
    admin = actor_of(admin_user)
    certifier = actor_of(identity.add_staff_user(uow, admin, email="auditor@nsf.example",
                                                 role="certifier", body_code="NSF"))
    return admin, token.token, certifier


def active_participant(uow, admin, name: str, gpp_signed_on: date) -> int:
    p = participants.register_participant(uow, admin, name=name, country="US", gpp_signed_on=gpp_signed_on)
    participants.activate_participant(uow, admin, p.id)
    return p.id


def certified_reprocessor(uow, admin, certifier, g: int, today: date, *, capacity_t=10_000_000) -> dict:
    """Reprocessor number g with a member, an RMS certificate, a facility and
    a current additionality determination; as the builders' generator record."""
    pid = active_participant(uow, admin, f"Reprocessor {g}", today - timedelta(days=200))
    member = identity.add_member(uow, admin, pid, email=f"ops@rep{g}.example")
    actor = actor_of(member)
    number = f"RMS-NSF-{100 + g:05d}"
    rms_certificates.record_certificate(
        uow, certifier, participant_id=pid, number=number, issued_on=date(2025, 1, 1),
        expires_on=date(2027, 12, 31), activities=["reprocessing", "trading"],
        facility_scope="single-site", product_groups=["resins"], control_systems=["mass-balance"],
        facilities=[{"name": f"Plant {g}", "address": "1 Mill Road", "country": "US"}])  # R-G5
    fac = facilities.register_facility(uow, actor, participant_id=pid, name=f"Plant {g}",
                                       address="1 Mill Road", country="US", capacity=tonnes(capacity_t))
    determinations.record_determination(
        uow, certifier, facility_id=fac.id, certification_year=today.year, mandate_share=Decimal(0),
        newness=additionality.NewOperation(operation_start=date(today.year - 2, 5, 1)),
        class_b=[{"test": "financial", "passed": True, "rationale": "viable only with ARC revenue"}],
        evidence=[DIGEST])
    return {"id": pid, "actor": actor, "user_id": member.id, "cert": number, "facility": fac.id,
            "lot": None, "left": 0}


def sold_lot(uow, g: dict, reference: str, today: date) -> int:
    """A 5,000 t lot of post-consumer PP registered by generator g and sold whole."""
    lot = lots.register_lot(
        uow, g["actor"], facility_id=g["facility"], reference=reference,
        material_code="PC_P3.1.9", mass=tonnes(5000), processed_on=today - timedelta(days=20),
        rms_certificate=g["cert"], non_plastic_fraction=Decimal("0.01"), evidence=[DIGEST],
        conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": tonnes(6000)}],
                    "transformation": "physical", "description": "sort, wash, grind, extrude",
                    "factor": Decimal("83.333"), "justification": "measured yield",
                    "outputs": [{"material_code": "PC_P3.1.9", "mass": tonnes(5000)}]})
    lots.add_disposition(uow, g["actor"], lot.id, kind="sale", on=today - timedelta(days=10),
                         counterparty="Molder Inc", mass=tonnes(5000))
    return lot.id

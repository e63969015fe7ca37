"""A small, realistic demo registry for `arcreg demo`: two reprocessors (one
mechanical, one chemical), a trader and a brand, with lots, generations,
transfers and a retirement — every step through the same services the API
uses, so the demo's log verifies like a real one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from registry import (additionality, determinations, facilities, generation, identity, lots, participants,
                      retirements, rms_certificates, transfers)
from registry.clock import clock_from_setting
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.identity import actor_of
from registry.units import Mass

DIGEST = {"sha256": "5f" * 32, "description": "annual mass balance report"}


def _tonnes(value) -> Mass:
    return Mass(Decimal(value) * 1000)


def build_demo(engine: Engine, config: Config) -> str:
    clock = clock_from_setting(config.clock)
    today = clock.today()
    with UnitOfWork(session_factory(engine), clock) as uow:
        admin_user, admin_token = identity.create_admin(uow, "admin@demo.arc-registry.org",
                                                        max_lifetime=config.token_max_lifetime)
        admin = actor_of(admin_user)
        certifier = actor_of(identity.add_staff_user(uow, admin, email="auditor@nsf.example",
                                                     role="certifier", body_code="NSF"))

        def member_of(name, country):
            participant = participants.register_participant(uow, admin, name=name, country=country,
                                                             gpp_signed_on=today - timedelta(days=200))
            participants.activate_participant(uow, admin, participant.id)
            user = identity.add_member(uow, admin, participant.id,
                                       email=f"ops@{name.split()[0].lower()}.example")
            return participant, actor_of(user), identity.issue_token(uow, user_id=user.id,
                                                                      max_lifetime=config.token_max_lifetime).token

        def reprocessor(name, country, number, capacity_t):
            participant, actor, token = member_of(name, country)
            rms_certificates.record_certificate(
                uow, certifier, participant_id=participant.id, number=number,
                issued_on=date(today.year - 1, 1, 1), expires_on=date(today.year + 1, 12, 31),
                activities=["reprocessing", "trading"], facility_scope="single-site",
                product_groups=["resins"], control_systems=["mass-balance"])
            facility = facilities.register_facility(uow, actor, participant_id=participant.id,
                                                    name=f"{name} plant", address="1 Mill Road",
                                                    country=country, capacity=_tonnes(capacity_t))
            determinations.record_determination(
                uow, certifier, facility_id=facility.id, certification_year=today.year,
                mandate_share=Decimal("0.10"),
                newness=additionality.NewOperation(operation_start=date(today.year - 2, 5, 1)),
                class_b=[{"test": "financial", "passed": True,
                          "rationale": "the plant is viable only with ARC revenue"}],
                evidence=[DIGEST])
            return participant, actor, token, facility

        lakes, lakes_actor, _, lakes_plant = reprocessor("Great Lakes Reprocessing", "US", "RMS-NSF-00234", 20000)
        prairie, prairie_actor, _, prairie_plant = reprocessor("Prairie Polymers", "CA", "RMS-NSF-00311", 5000)
        trader, trader_actor, _ = member_of("Cascade Trading", "US")
        brand, brand_actor, brand_token = member_of("Northwind Packaging", "US")

        # Processed a month ago, but inside this year: the lot's processing year picks its determination
        # (R-A8), and the demo records this year's; its sales follow within days, never after today.
        processed = max(today - timedelta(days=30), date(today.year, 1, 1))

        def after(days: int) -> date:
            return min(processed + timedelta(days=days), today)

        def lot(actor, plant, certificate, reference, code, tonnes, **extra):
            registered = lots.register_lot(
                uow, actor, facility_id=plant.id, reference=reference, material_code=code,
                mass=_tonnes(tonnes), processed_on=processed, rms_certificate=certificate,
                non_plastic_fraction=Decimal("0.01"), evidence=[DIGEST],
                conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": _tonnes(tonnes * 6 // 5)}],
                            "transformation": extra.pop("transformation", "physical"),
                            "description": "sort, wash, grind, extrude", "factor": Decimal("83.333"),
                            "justification": "measured yield, last four quarters",
                            "outputs": [{"material_code": code, "mass": _tonnes(tonnes)}]},
                **extra)
            return registered

        pp = lot(lakes_actor, lakes_plant, "RMS-NSF-00234", f"GL-{today.year}-PP-001", "PC_P3.1.9", 500)
        lots.add_disposition(uow, lakes_actor, pp.id, kind="sale", on=after(5),
                             counterparty="Molder Inc", mass=_tonnes(400), claim="RMS 50% PC MB")
        peq = lot(prairie_actor, prairie_plant, "RMS-NSF-00311", "PP-PYRO-17", "PC_P2.1.1", 1000,
                  lhv_mj_per_kg=Decimal("42.0"), transformation="chemical")
        lots.add_disposition(uow, prairie_actor, peq.id, kind="consumption", on=after(3),
                             counterparty="own cracker", mass=_tonnes(1000))

        pp_block = generation.generate(uow, lakes_actor, lot_id=pp.id, mass=_tonnes(150))
        generation.generate(uow, prairie_actor, lot_id=peq.id, mass=_tonnes(800))
        to_trader = transfers.transfer(uow, lakes_actor, serial=pp_block.serial, quantity=Decimal("100"),
                                       to_participant_id=trader.id)
        to_brand = transfers.transfer(uow, trader_actor, serial=to_trader.moved.serial,
                                      quantity=Decimal("60"), to_participant_id=brand.id)
        retirements.retire(uow, brand_actor, serial=to_brand.moved.serial, quantity=Decimal("40"),
                           beneficiary="Northwind Packaging", claim_type="general",
                           reporting_year=today.year,
                           statement=f"We retired these ARCs to support recycling of PP in {today.year}; "
                                     "they are credits, not the content of our trays.")
        uow.commit()
    return (f"Demo administrator token: {admin_token.token}\n"
            f"Demo brand (Northwind Packaging) token: {brand_token}")

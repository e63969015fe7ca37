"""A small, realistic demo registry for `arcreg demo`: two reprocessors (one
mechanical, one chemical), a trader and a brand, with lots, generations,
transfers, a retirement, a bulk retirement of two items (R-T7) and a
pending offer to the trader, which reviews incoming transfers (R-T6) — every step through the same services the API
uses, so the demo's log verifies like a real one."""

from __future__ import annotations

import secrets
import string
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from registry import (additionality, determinations, facilities, generation, identity, lots, participant_details,
                      participants, retirements, rms_certificates, transfers)
from registry.accounts import signin, totp
from registry.bulk import services as bulk
from registry.clock import clock_from_setting
from registry.custody import rules as custody_rules
from registry.custody import periods
from registry.custody import services as custody
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.identity import actor_of
from registry.models import User
from registry.units import Mass

DIGEST = {"sha256": "5f" * 32, "description": "annual mass balance report"}


def _tonnes(value) -> Mass:
    return Mass(Decimal(value) * 1000)


def _custody(uow, admin, certifier, member_of, lakes, lakes_actor, lakes_plant, lot, processed, after, today):
    """Last, so the entries before keep their numbers: Great Lakes keeps a mass-balance
    account for its resins (R-M1), fed by a certified sorter (R-M2); a lot of the account
    cites its receipts, and its claimed sale and its ARCs draw the account's credit (R-M6);
    the first period is closed with its volume summary once it has ended (R-M5)."""
    sorter, _, _ = member_of("Midwest Sorting", "US")
    rms_certificates.record_certificate(
        uow, certifier, participant_id=sorter.id, number="RMS-NSF-00418", issued_on=date(today.year - 1, 1, 1),
        expires_on=date(today.year + 1, 12, 31), activities=["sorting"], facility_scope="single-site",
        product_groups=["resins"], control_systems=["mass-balance"])
    account = custody.open_account(uow, lakes_actor, participant_id=lakes.id, product_group="resins",
                                   control_system="mass-balance", facility_ids=[lakes_plant.id],
                                   starts_on=processed.replace(day=1), period_months=1,
                                   conversion_factor=Decimal("0.90"))
    receipts = [custody.receive_input(uow, lakes_actor, account.id, on=processed, supplier_name="Midwest Sorting",
                                      supplier_certificate="RMS-NSF-00418", reference=f"MWS-{n}",
                                      material_code="PC_P3.1.9", mass=_tonnes(tonnes), claim="RMS 100% PC MB")
                for n, tonnes in ((4471, 120), (4472, 80))]
    custody.receive_input(uow, lakes_actor, account.id, on=processed, supplier_name="Virgin Resin Co",
                          reference="VR-88", material_code="PC_P3.1.9", mass=_tonnes(100))  # no claim: no credit
    mb = lot(lakes_actor, lakes_plant, "RMS-NSF-00234", f"GL-{today.year}-PP-MB-002", "PC_P3.1.9", 250,
             custody_account_id=account.id, receipts=[{"receipt_id": r.id} for r in receipts])
    lots.add_disposition(uow, lakes_actor, mb.id, kind="sale", on=processed, counterparty="Molder Inc",
                         mass=_tonnes(200))
    lots.add_disposition(uow, lakes_actor, mb.id, kind="sale", on=after(3), counterparty="Tray Co",
                         mass=_tonnes(50), claim="RMS 100% PC MB")
    first_end = custody_rules.period_bounds(account.starts_on, 1, 1)[1]
    if first_end < today:
        periods.close_period(uow, lakes_actor, account.id, 1)
    generation.generate(uow, lakes_actor, lot_id=mb.id, mass=_tonnes(100))  # 180 t of credit: 50 claimed, 100 ARCs


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
                product_groups=["resins"], control_systems=["mass-balance"],
                facilities=[{"name": f"{name} plant", "address": "1 Mill Road", "country": country}])  # R-G5
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
        _, _, kept = retirements.retire_block(
            uow, brand_actor, serial=to_brand.moved.serial, quantity=Decimal("40"),
            beneficiary="Northwind Packaging", claim_type="general", reporting_year=today.year,
            statement=f"We retired these ARCs to support recycling of PP in {today.year}; "
                      "they are credits, not the content of our trays.")
        # R-T7: the trader's other 40 to the brand, then one bulk retirement of two items, one statement.
        more = transfers.transfer(uow, trader_actor, serial=to_brand.remainder.serial, quantity=Decimal("40"),
                                  to_participant_id=brand.id)
        bulk.retire_many(uow, brand_actor, beneficiary="Northwind Packaging", claim_type="general",
                         reporting_year=today.year, items=[{"serial": kept.serial, "quantity": Decimal("10")},
                                                           {"serial": more.moved.serial, "quantity": Decimal("15")}])
        # R-T6: the trader now reviews what it receives; an offer from Great Lakes waits for it.
        participant_details.update_participant(uow, trader_actor, trader.id, incoming_transfers="review")
        offered = transfers.transfer(uow, lakes_actor, serial=to_trader.remainder.serial, quantity=Decimal("10"),
                                     to_participant_id=trader.id)
        # R-N1: Northwind's webhook points at a .invalid host (RFC 6761: never resolves, never looked up),
        # so the served demo shows failed attempts and their backoff without any traffic leaving the machine;
        # one more transfer, from Great Lakes to Northwind, gives it something to deliver.
        from registry.notifications import endpoints

        endpoints.register(uow, brand_actor, url="https://hooks.northwind-packaging.invalid/arc-events")
        transfers.transfer(uow, lakes_actor, serial=offered.remainder.serial, quantity=Decimal("10"),
                           to_participant_id=brand.id)
        _custody(uow, admin, certifier, member_of, lakes, lakes_actor, lakes_plant, lot, processed, after, today)
        # Last, so that nothing above moves: credentials are not log entries (R-W1), and the
        # log's entry numbers stay those of the demo without sign-in.
        sign_ins = [("administrator", admin_user.id), ("certifier (NSF)", certifier.user_id),
                    ("member, generator (Great Lakes Reprocessing)", lakes_actor.user_id),
                    ("member, brand (Northwind Packaging)", brand_actor.user_id),
                    ("member, trader (Cascade Trading)", trader_actor.user_id)]
        lines = [demo_sign_in(uow, label, user_id) for label, user_id in sign_ins]
        uow.commit()
    return "\n".join([f"Demo administrator token: {admin_token.token}",
                      f"Demo brand (Northwind Packaging) token: {brand_token}",
                      "Demo sign-in at /workspace/sign-in (add a TOTP secret to an authenticator app, "
                      "or print its code: python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"):",
                      *lines])


def demo_sign_in(uow: UnitOfWork, label: str, user_id: int) -> str:
    """A random password for a demo user, and a TOTP secret for the roles that need one
    (R-W1); one line of the demo's summary."""
    user = uow.session.get(User, user_id)
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
    signin.set_password(uow, user, password)
    line = f"  {label}: email {user.email} password {password}"
    if signin.needs_second_factor(user):
        login = signin.login_of(uow, user.id, lock=True)
        login.totp_secret, login.totp_enabled_at = totp.new_secret(), uow.clock.now()
        uow.flush()
        line += f" totp-secret {login.totp_secret}"
    return line

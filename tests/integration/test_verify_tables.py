"""R-L7b: verification is complete. A registry built through the services
(the demo, plus a production line, a certificate suspended and reinstated, a
determination superseded, a product claim) verifies; then one stored field
of each class — edited, deleted or added in SQL, as an attacker with the
database password would — makes `verify_registry` fail naming its table, key
and field. Issue 16 finding 4: each of these edits verified OK before.
Runs on SQLite and PostgreSQL (only the registry's own tables are edited;
the log tables stay append-only)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from chainlog import store
from registry import additionality, amendments, determinations, facilities, retirements, rms_certificates
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, session_factory
from registry.demo import DIGEST, build_demo
from registry.identity import actor_of
from registry.models import (
    Block,
    CertificateEvent,
    Determination,
    Disposition,
    Facility,
    Lot,
    Participant,
    ProductionLine,
    Retirement,
    RetirementAmendment,
    RmsCertificate,
    User,
)
from registry.signing import load_signer
from registry.units import Mass
from registry.verification import verify_registry
from tests.serverproc import ARCREG, clean_env

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)


def build(engine, db_url: str, tmp_path) -> Config:
    config = Config(database_url=db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    build_demo(engine, config)
    clock = FrozenClock(LATER)
    with UnitOfWork(session_factory(engine), clock) as uow:
        s = uow.session
        admin = actor_of(s.exec(select(User).where(User.role == "admin")).one())
        certifier = actor_of(s.exec(select(User).where(User.role == "certifier")).one())
        lakes = s.exec(select(Participant).where(Participant.name == "Great Lakes Reprocessing")).one()
        brand = s.exec(select(Participant).where(Participant.name == "Northwind Packaging")).one()
        plant = s.exec(select(Facility).where(Facility.participant_id == lakes.id)).one()
        facilities.register_line(uow, admin, plant.id, name="Extruder 2", capacity=Mass(Decimal("5000000")))
        determinations.record_determination(  # supersedes the demo's: R-A7 history
            uow, certifier, facility_id=plant.id, certification_year=2026, mandate_share=Decimal("0.10"),
            newness=additionality.NewOperation(operation_start=date(2024, 5, 1)),
            class_b=[{"test": "financial", "passed": True, "rationale": "viable only with ARC revenue"}],
            evidence=[DIGEST])
        rms_certificates.add_event(uow, certifier, "RMS-NSF-00311", kind="suspended", on=date(2026, 6, 2),
                                   reason="surveillance audit overdue")
        rms_certificates.add_event(uow, certifier, "RMS-NSF-00311", kind="reinstated", on=date(2026, 6, 3),
                                   reason="audit passed")
        # R-C6: renewed after a gap, and a site added between audits
        rms_certificates.renew_certificate(uow, certifier, "RMS-NSF-00311", issued_on=date(2028, 2, 1),
                                           expires_on=date(2030, 12, 31))
        rms_certificates.amend_certificate(uow, certifier, "RMS-NSF-00311", effective_on=date(2026, 6, 3),
                                           product_groups=["resins", "flakes"],
                                           control_systems=["mass-balance", "segregation"],
                                           facilities=[{"name": "Prairie Polymers plant", "address": "1 Mill Road",
                                                        "country": "CA"}])
        held = s.exec(select(Block).where(Block.owner_id == brand.id, Block.state == "active")  # the first of
                      .order_by(Block.serial)).first()  # several: offers, bulk and the webhook transfer (R-T7, R-N1)
        brand_user = s.exec(select(User).where(User.participant_id == brand.id)).one()
        retirements.retire(uow, actor_of(brand_user), serial=held.serial, quantity=Decimal("5"),
                           beneficiary="Northwind Packaging", claim_type="product", reporting_year=2026,
                           claim_date=date(2026, 6, 3), statement="5 t of recycled PP in Tray 500",
                           product={"name": "Tray 500", "composition": [
                               {"arc_type": "PP", "mass": Decimal("8000")}]},
                           claimed_status="PI", label_approval_ref="LA-2026-7",
                           basis_mass=Mass(Decimal("10000")),  # R-R4: a basis and a share to compare
                           location={"country": "DE", "subdivision": "DE-BY"},  # R-R6
                           period={"from": "2026-01-01", "to": "2026-12-31"})
        amended = s.exec(select(Retirement).where(Retirement.claim_type == "product")).one()
        amendments.amend(uow, actor_of(brand_user), amended.id, statement="5 t of recycled PP in Tray 500 (2026)",
                         location={"country": "AT"})  # R-R7: an amendment, its history and the new values
        store.sign_checkpoint(s, load_signer(config, create=True), config.log_origin, clock.now())
        uow.commit()
    return config


@pytest.fixture
def registry(engine, db_url, tmp_path) -> Config:
    return build(engine, db_url, tmp_path)


def verify(engine, config: Config):
    with session_factory(engine)() as session:
        return verify_registry(session, [load_signer(config).verifier], record=False)


def _one(session: Session, model, *where, order=None):
    query = select(model).where(*where)
    return session.exec(query.order_by(order if order is not None else model.__table__.primary_key.columns
                                       .values()[0])).first()


# --- The tamper cases: (edit the session's rows; return the text the failure must contain) ------


def _retirement(session, claim_type="general") -> Retirement:
    return _one(session, Retirement, Retirement.claim_type == claim_type)


def retirement_statement(s):
    r = _retirement(s)
    r.statement = "100 t of post-consumer PP in every tray we ever made"
    return f"retirement '{r.serial}': statement"


def retirement_claim_type(s):
    r = _retirement(s)
    r.claim_type = "product"
    return f"retirement '{r.serial}': claim_type"


def retirement_product(s):
    r = _retirement(s, "product")
    r.product = {"name": "Tray 500", "composition": [{"arc_type": "PP", "mass": {"value": "80000.000",
                                                                                   "unit": "kg"}}]}
    return f"retirement '{r.serial}': product"


def retirement_claimed_status(s):
    r = _retirement(s, "product")
    r.claimed_status = "PC"  # R-R8: the statement would claim more than the entry recorded
    return f"retirement '{r.serial}': claimed_status"


def retirement_label_reference(s):
    r = _retirement(s, "product")
    r.label_approval_ref = "LA-FORGED"
    return f"retirement '{r.serial}': label_approval_ref"


def retirement_reporting_year(s):
    r = _retirement(s)
    r.reporting_year += 1
    return f"retirement '{r.serial}': reporting_year"


def retirement_dates(s):
    r = _retirement(s, "product")
    r.claim_date = date(2026, 7, 1)
    return f"retirement '{r.serial}': claim_date"


def retirement_location(s):
    r = _retirement(s, "product")
    r.location_country = "DE"  # R-R6, R-R7: back to what the amendment changed
    return f"retirement '{r.serial}': location_country"


def retirement_period(s):
    r = _retirement(s, "product")
    r.period_to = date(2027, 12, 31)
    return f"retirement '{r.serial}': period_to"


def amendment_changes(s):
    a = _one(s, RetirementAmendment)
    a.changes = {"statement": {"from": None, "to": "forged"}}
    return f"retirement amendment {a.log_index}: changes"


def amendment_deleted(s):
    a = _one(s, RetirementAmendment)
    s.delete(a)
    return f"retirement amendment {a.log_index}: row expected 'present"


def amendment_moved(s):
    a = _one(s, RetirementAmendment)
    a.retirement_id = _retirement(s).id  # the history shown on another retirement's statement
    return f"retirement amendment {a.log_index}: retirement_id"


def retirement_range(s):
    r = _retirement(s)
    r.last_unit += 1000
    return f"retirement '{r.serial}': last_unit"


def certificate_event_deleted(s):
    s.delete(_one(s, CertificateEvent, CertificateEvent.kind == "suspended"))
    return "RMS certificate 'RMS-NSF-00311': event 1 expected 'suspended on 2026-06-02 (logged)'"


def certificate_event_edited(s):
    e = _one(s, CertificateEvent, CertificateEvent.kind == "suspended")
    e.on = date(2026, 1, 1)
    return f"RMS certificate event {e.id}: on expected '2026-06-02'"


def certificate_event_reason(s):
    e = _one(s, CertificateEvent, CertificateEvent.kind == "reinstated")
    e.reason = "no audit needed"
    return f"RMS certificate event {e.id}: reason"


def certificate_event_added(s):
    cert = _one(s, RmsCertificate, RmsCertificate.number == "RMS-NSF-00234")
    admin = _one(s, User, User.role == "admin")
    s.add(CertificateEvent(certificate_id=cert.id, kind="revoked", on=date(2026, 6, 2), reason="forged",
                           recorded_by=admin.id, created_at=LATER))
    return "no log entry recorded it"


def certificate_scope(s):
    c = _one(s, RmsCertificate, RmsCertificate.number == "RMS-NSF-00234")
    c.activities = ["reprocessing", "trading", "recycling"]
    return "RMS certificate 'RMS-NSF-00234': activities"


def certificate_renewal_gap_closed(s):
    """R-C6: the days between two periods are not valid; closing the gap in the table is named."""
    c = _one(s, RmsCertificate, RmsCertificate.number == "RMS-NSF-00311")
    c.periods = [{**c.periods[0], "expires_on": "2028-01-31"}, *c.periods[1:]]
    return "RMS certificate 'RMS-NSF-00311': periods"


def certificate_site_added(s):
    """R-C6, R-G5: a site added to a scope version without an amendment entry."""
    c = _one(s, RmsCertificate, RmsCertificate.number == "RMS-NSF-00234")
    version = dict(c.versions[0])
    version["facilities"] = [*version["facilities"], {"name": "Elsewhere", "address": "9 Road", "country": "US"}]
    c.versions = [version]
    return "RMS certificate 'RMS-NSF-00234': versions"


def certificate_group_name(s):
    c = _one(s, RmsCertificate, RmsCertificate.number == "RMS-NSF-00234")
    c.group_name = "Lakes Group"
    return "RMS certificate 'RMS-NSF-00234': group_name"


def lot_material_code(s):
    lot = _one(s, Lot, Lot.material_code == "PC_P3.1.9")
    lot.material_code = "PC_P3.1.5"  # the log says PP; generation would now issue PE ARCs
    return f"lot {lot.id}: material_code expected 'PC_P3.1.9'"


def lot_reference(s):
    lot = _one(s, Lot)
    lot.reference = "GL-2026-PP-999"
    return f"lot {lot.id}: reference"


def lot_certificate(s):
    lot = _one(s, Lot, Lot.material_code == "PC_P3.1.9")
    other = _one(s, RmsCertificate, RmsCertificate.number == "RMS-NSF-00311")
    lot.rms_certificate_id = other.id
    return f"lot {lot.id}: rms_certificate_id expected 'RMS-NSF-00234'"


def lot_inputs(s):
    lot = _one(s, Lot)
    lot.conversion = {**lot.conversion, "factor": "99.000"}
    return f"lot {lot.id}: conversion"


def lot_processed_on(s):
    lot = _one(s, Lot)
    lot.processed_on = date(2025, 12, 31)
    return f"lot {lot.id}: processed_on"


def facility_capacity(s):
    f = _one(s, Facility)
    f.capacity_kg *= 10
    return f"facility {f.id}: capacity_kg"


def line_capacity(s):
    line = _one(s, ProductionLine)
    line.capacity_kg *= 10
    return f"production line {line.id}: capacity_kg"


def determination_record(s):
    d = _one(s, Determination, Determination.status == "current")
    d.record = {**d.record, "mandate_share": "0.01"}
    return f"determination {d.id}: record"


def determination_superseded(s):
    d = _one(s, Determination, Determination.status == "superseded")
    d.status, d.superseded_by = "current", None
    return f"determination {d.id}: status"


def disposition_counterparty(s):
    d = _one(s, Disposition)
    d.counterparty = "Someone Else Inc"
    return f"lot disposition {d.id}: counterparty"


def participant_gpp(s):
    p = _one(s, Participant)
    p.gpp_signed_on = date(2020, 1, 1)
    return f"participant {p.id}: gpp_signed_on"


def participant_removed(s):
    p = _one(s, Participant, Participant.name == "Prairie Polymers")
    p.generator_removed_on = date(2026, 6, 2)
    return f"participant {p.id}: generator_removed_on"


def user_made_admin(s):
    u = _one(s, User, User.role == "member")
    u.role = "admin"
    return f"user {u.id}: role expected None (replayed from the log), found 'admin'"


def user_added_admin(s):
    s.add(User(email="intruder@example.org", role="admin", created_at=LATER))
    s.flush()
    u = _one(s, User, User.email == "intruder@example.org")
    return f"user {u.id}: role expected None (replayed from the log), found 'admin'"


def user_certifier_body(s):
    u = _one(s, User, User.role == "certifier")
    u.body_code = "SCS"
    return f"user {u.id}: body_code expected 'NSF'"


def user_admin_demoted(s):
    u = _one(s, User, User.role == "admin")
    u.role = "member"
    return f"user {u.id}: role expected 'admin'"


def block_parent(s):
    b = _one(s, Block, Block.parent_serial.is_not(None), order=Block.serial)
    b.parent_serial = None
    return f"block '{b.serial}': parent_serial"


def block_lineage_link(s):
    b = _one(s, Block, Block.state == "active", order=Block.serial)
    b.log_index = 0
    return f"block '{b.serial}': log_index"


CASES: list[Callable[[Session], str]] = [
    retirement_statement, retirement_claim_type, retirement_product, retirement_reporting_year,
    retirement_claimed_status, retirement_label_reference,
    retirement_dates, retirement_range, retirement_location, retirement_period,
    amendment_changes, amendment_deleted, amendment_moved,
    certificate_event_deleted, certificate_event_edited, certificate_event_reason, certificate_event_added,
    certificate_scope, certificate_renewal_gap_closed, certificate_site_added, certificate_group_name,
    lot_material_code, lot_reference, lot_certificate, lot_inputs, lot_processed_on,
    facility_capacity, line_capacity, determination_record, determination_superseded, disposition_counterparty,
    participant_gpp, participant_removed,
    user_made_admin, user_added_admin, user_certifier_body, user_admin_demoted,
    block_parent, block_lineage_link,
]


def test_a_clean_registry_verifies(engine, registry):
    report = verify(engine, registry)
    assert report.ok, report.failure()
    assert report.findings == []


@pytest.mark.parametrize("edit", CASES, ids=[c.__name__ for c in CASES])
def test_an_edited_field_is_named(engine, registry, edit):
    with session_factory(engine)() as session:
        expected = edit(session)
        session.commit()
    report = verify(engine, registry)
    assert not report.ok
    assert report.error.kind == "state_drift", report.failure()
    assert expected in report.failure(), report.failure()


def test_every_edit_is_reported_not_only_the_first(engine, registry):
    with session_factory(engine)() as session:
        named = [retirement_statement(session), lot_material_code(session), user_made_admin(session)]
        session.commit()
    report = verify(engine, registry)
    failure = report.failure()
    assert not report.ok and all(n in failure for n in named), failure
    assert len(report.findings) == 3, failure


def test_arcreg_verify_names_a_role_written_in_sql(engine, registry):
    """The reproduction of the audit, through the real command."""
    env = clean_env(ARCREG_DATABASE_URL=registry.database_url, ARCREG_SIGNING_KEY_FILE=str(registry.signing_key_file))
    with engine.begin() as conn:
        member = conn.execute(text("SELECT id FROM app_user WHERE role = 'member' ORDER BY id")).scalar()
        conn.execute(text("UPDATE app_user SET role = 'admin' WHERE id = :i"), {"i": member})
    done = subprocess.run([ARCREG, "verify"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAILED: state_drift: user {member}: role expected None" in done.stdout, done.stdout

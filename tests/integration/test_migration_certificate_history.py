"""Migration 0018 (R-C6, R-G5): a registry whose certificates were recorded
before renewals, amendments and strict site lists -- the demo as it was
written then, certificates listing no site -- gets one validity period and
one scope version per certificate, and each certificate listing no site gets
the sites of the lots registered under it. The registry then verifies
(replay derives the same lists from the log), R-G5 is strict for any other
site, and the downgrade works. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from chainlog import store
from registry import demo, facilities, lot_rules, lots, rms_certificates
from registry.certification import NORTH_AMERICA
from registry.clock import FrozenClock
from registry.config import Config
from registry.db import UnitOfWork, make_engine, session_factory
from registry.demo import build_demo
from registry.errors import RegistryError
from registry.identity import actor_of
from registry.migrate import current_revision, head_revision, upgrade
from registry.models import Facility, Participant, RmsCertificate, User
from registry.signing import load_signer
from registry.units import Mass
from registry.verification import verify_registry
from tests.integration.test_migration_identity_keys import _downgrade

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _legacy_site_rule(country, name, sites):
    """R-G5 before 0018: a certificate listing no site did not restrict them."""
    if country not in NORTH_AMERICA or sites:
        return _strict(country, name, sites)


_strict = lot_rules.require_certified_site


@pytest.fixture
def legacy(empty_db_url, backend, tmp_path, monkeypatch):
    engine = make_engine(empty_db_url)
    upgrade(engine)  # built with today's models as the old code wrote it, then taken back to 0017
    config = Config(database_url=empty_db_url, clock=START.isoformat(), signing_key_file=tmp_path / "key.pem")
    record_certificate, record = rms_certificates.record_certificate, rms_certificates.record
    with monkeypatch.context() as before:
        before.setattr(rms_certificates, "record_certificate",
                       lambda *a, facilities=None, **k: record_certificate(*a, facilities=[], **k))
        before.setattr(rms_certificates, "record",
                       lambda uow, kind, actor, payload: record(uow, kind, actor, {
                           k: v for k, v in payload.items() if k != "strict_sites"}))
        before.setattr(lot_rules, "require_certified_site", _legacy_site_rule)
        # and without what came after 0017: bulk retirements, reviewed transfers (offers), custody generation
        before.setattr(demo.bulk, "retire_many", lambda *a, **k: None)
        before.setattr(demo.participant_details, "update_participant", lambda *a, **k: None)
        before.setattr(demo, "_custody", lambda *a, **k: None)
        build_demo(engine, config)
    with UnitOfWork(session_factory(engine), FrozenClock(START)) as uow:
        store.sign_checkpoint(uow.session, load_signer(config, create=True), config.log_origin, START)
        uow.commit()
    _downgrade(engine, empty_db_url, backend, "0017")
    yield engine, config
    engine.dispose()


def _verify(engine, config):
    with session_factory(engine)() as session:
        return verify_registry(session, [load_signer(config).verifier], record=False)


def test_upgrade_lists_the_sites_already_used_and_the_registry_verifies(legacy, empty_db_url, backend):
    engine, config = legacy
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session_factory(engine)() as session:
        certs = {c.number: c for c in session.exec(select(RmsCertificate))}
        lakes = certs["RMS-NSF-00234"]
        site = {"name": "Great Lakes Reprocessing plant", "address": "1 Mill Road", "country": "US"}
        assert lakes.facilities == [site]
        assert lakes.periods == [{"issued_on": "2025-01-01", "expires_on": "2027-12-31"}]
        assert lakes.versions == [{"effective_on": "2025-01-01", "activities": ["reprocessing", "trading"],
                                   "product_groups": ["resins"], "control_systems": ["mass-balance"],
                                   "facilities": [site], "members": []}]
    report = _verify(engine, config)
    assert report.ok, report.failure()

    # R-G5 is strict from now: another site of the same generator needs an amendment.
    clock = FrozenClock(START)
    with UnitOfWork(session_factory(engine), clock) as uow:
        holder = uow.session.exec(select(Participant).where(Participant.name == "Great Lakes Reprocessing")).one()
        member = actor_of(uow.session.exec(select(User).where(User.participant_id == holder.id)).first())
        annex = facilities.register_facility(uow, member, participant_id=holder.id, name="Lakes annex",
                                             address="2 Mill Road", country="US", capacity=Mass(Decimal(10**6)))
        plant = uow.session.exec(select(Facility).where(Facility.participant_id == holder.id,
                                                        Facility.name != "Lakes annex")).one()
        template = dict(reference="LEGACY-2", material_code="PC_P3.1.9", mass=Mass(Decimal(1000)),
                        processed_on=date(2026, 5, 30), rms_certificate="RMS-NSF-00234",
                        non_plastic_fraction=Decimal(0),
                        conversion={"inputs": [{"material_code": "PC_P5.1.6", "mass": Mass(Decimal(1000))}],
                                    "transformation": "physical", "description": "extrude", "factor": Decimal(100),
                                    "justification": "measured",
                                    "outputs": [{"material_code": "PC_P3.1.9", "mass": Mass(Decimal(1000))}]})
        with pytest.raises(RegistryError) as refused:
            lots.register_lot(uow, member, facility_id=annex.id, **template)
        assert refused.value.code == "facility_not_certified"
        lots.register_lot(uow, member, facility_id=plant.id, **template)
        uow.commit()

    _downgrade(engine, empty_db_url, backend, "0017")  # and back: plain DROP COLUMN
    assert current_revision(engine) == "0017"
    upgrade(engine)
    assert current_revision(engine) == head_revision()

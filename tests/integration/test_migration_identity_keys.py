"""Migration 0010 keys the retirements already recorded (R-R5, R-R8): a
registry written before the identity key finds them by any spelling after
the upgrade, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from registry.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.api.driver import t

REVISION = "0010"


def _downgrade(engine, db_url: str, backend: str, revision: str) -> None:
    """Downgrade through the later migrations too. On SQLite their batch mode
    recreates tables (participant), which SQLite refuses while foreign keys
    are enforced and rows refer to them: a plain engine, foreign keys off, as
    Alembic's batch-mode documentation advises."""
    if backend == "sqlite":
        engine = create_engine(db_url)
    cfg = alembic_config()
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
    finally:
        if backend == "sqlite":
            engine.dispose()


def test_upgrade_keys_existing_retirements(driver, engine, db_url, backend):
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, "PC_P3.1.5", t(10))
    driver.sell(gen.token, lot["id"], t(10), on=lot["processed_on"])
    serial = driver.generate(gen.token, lot["id"])["serial"]
    made = []
    for product in ("Tub", None, None):
        body = {"serial": serial, "quantity": "1", "beneficiary": "Société Générale", "reporting_year": 2026,
                "claim_type": "product" if product else "general"}
        if product:
            body["product"] = {"name": product, "composition": [{"arc_type": "PE", "mass": t(5)}]}
        done = driver.ok("/retirements", body, gen.token)
        made.append(done["id"])
        serial = done["remainder"]["serial"]
    _downgrade(engine, db_url, backend, f"{REVISION}-1")
    assert current_revision(engine) != head_revision()
    with engine.begin() as connection:  # names as a registry before R-R5 stored them
        for row_id, name in zip(made, ("SOCIÉTÉ  GÉNÉRALE", "Ｓｏｃｉéｔé Ｇéｎéｒａｌｅ", "Société Générale\u200b"),
                                strict=True):
            connection.execute(text("UPDATE retirement SET beneficiary = :name WHERE id = :id"),
                               {"name": name, "id": row_id})
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT id, beneficiary_key, product_key FROM retirement ORDER BY id")).all()
    assert [tuple(k) for k in keys] == [(made[0], "société générale", "tub"), (made[1], "société générale", None),
                                        (made[2], "société générale", None)]
    found = driver.client.get("/api/v1/retirements", query_string={"beneficiary": "société générale"}).get_json()
    assert [r["id"] for r in found["items"]] == made

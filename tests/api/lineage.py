"""A long lineage built over the API, for the tests of deep provenance reads (R-X6)."""

from __future__ import annotations

from tests.api.driver import t


def long_lineage(driver, transfers: int) -> dict:
    """A generator moves 0.001 from the same remainder `transfers` times: the
    remainder's lineage grows by one entry per transfer (issue 16, finding 2)."""
    gen = driver.generator()
    lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(10))
    driver.sell(gen.token, lot["id"], t(10))
    serial = driver.generate(gen.token, lot["id"])["serial"]
    buyer = driver.participant("Trader A")["id"]
    for _ in range(transfers):
        moved = driver.ok("/transfers", {"serial": serial, "quantity": "0.001", "to_participant_id": buyer},
                          gen.token)
        serial = moved["remainder"]["serial"]
    return {"serial": serial, "gen": gen, "buyer": buyer}

"""R-N2 on PostgreSQL: the event feed's cursors are stable while writers race.
Four threads transfer to one brand at once while a reader pages
``/events?after=`` as fast as it can; every event committed is read exactly
once, in id order — an event never appears below a cursor already passed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from registry.db import session_factory
from registry.notifications.models import NotificationEvent
from tests.api.driver import t
from tests.threads import Problems, Worker, finish

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

WRITERS, TRANSFERS = 4, 15


def test_cursors_are_stable_under_concurrent_writes(pg_driver, pg_wide_engine):
    driver = pg_driver
    brand = driver.participant("Brand Co")["id"]
    brand_token = driver.member(brand)
    senders = []
    for i in range(WRITERS):
        gen = driver.generator(f"Recycler {i}")
        lot = driver.lot(gen.token, gen.facility_id, gen.certificate, mass=t(TRANSFERS))
        driver.sell(gen.token, lot["id"], t(TRANSFERS))
        senders.append((gen, [driver.generate(gen.token, lot["id"], mass=t(1))["serial"]
                              for _ in range(TRANSFERS)]))
    app = driver.client.application
    problems = Problems()
    done = []

    def write(gen, serials):
        client = app.test_client()
        for serial in serials:
            response = client.post("/api/v1/transfers", json={"serial": serial, "quantity": "1",
                                                              "to_participant_id": brand},
                                   headers={"Authorization": f"Bearer {gen.token}"})
            problems.status("transfer", response.status_code, [201], response.get_data(as_text=True))
        done.append(1)

    seen: list[int] = []

    def read():
        client = app.test_client()
        cursor, finished_reads = "", 0
        while finished_reads < 2:  # two empty reads after every writer finished
            writers_done = len(done) == WRITERS
            response = client.get(f"/api/v1/events?after={cursor}&limit=7",
                                  headers={"Authorization": f"Bearer {brand_token}"})
            if not problems.status("feed", response.status_code, [200], response.get_data(as_text=True)):
                return
            page = response.get_json()
            seen.extend(int(e["id"].removeprefix("evt_")) for e in page["items"])
            cursor = page["next_cursor"]
            finished_reads += 1 if writers_done and not page["items"] else 0

    workers = [Worker(write, gen, serials, name=f"writer-{i}") for i, (gen, serials) in enumerate(senders)]
    reader = Worker(read, name="reader")
    for worker in [reader, *workers]:
        worker.start()
    finish([*workers, reader], timeout=300, problems=problems)
    with session_factory(pg_wide_engine)() as session:
        committed = [e.id for e in session.exec(select(NotificationEvent).where(
            NotificationEvent.participant_id == brand).order_by(NotificationEvent.id))]
    assert len(committed) == WRITERS * TRANSFERS
    assert seen == committed  # each once, in order: no event appeared behind the cursor

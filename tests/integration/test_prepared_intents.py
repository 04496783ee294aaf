"""Prepared intents' lifecycle (api.http.prepared) on a real ledger: pending, attached, settled, expired.

The end-to-end path through ``serve`` is tests/e2e/test_http_personal.py; here the clock is
moved past the 24 h a sealed record waits, which no end-to-end test can wait for.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.http.personal import ACCESS_WINDOW, _check_access
from api.http.prepared import TTL, PreparedIntents, prepared_from
from api.http.problems import ApiProblem
from projections.db import engine_for
from support.scenario import Scenario

PERSON = {"name": "马秀兰", "id_number": "64042219850601242X", "phone": "13995412345", "bank_account": "6228480078123456789"}
BODY = {"laborer_id": "L-0042", "household_id": "H-0042", "jurisdiction": "640422", "township": "吉强镇", "village": "龙王坝村",
        "birth_date": "1985-06-01", "gender": "female", "category": "poor"}  # fmt: skip
INTENT = {"actor": "pov-xj", "type": "LaborerRegistered", "at": "2019-03-02T10:00:00+08:00", "body": BODY, "pii": PERSON}


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    scenario = Scenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


def test_a_record_waits_for_its_envelope_then_goes_with_it(sc: Scenario) -> None:
    store, now = PreparedIntents(engine_for(sc.ledger), quota=10), time.time()
    unsigned, sealed = sc.session.signer().prepare(INTENT)
    store.put(prepared_from(unsigned, sealed, now), now)
    assert store.settle(sc.ledger, now) == (1, 0)
    item = sc.session.signer().sign(unsigned)  # what the office signs: no pii, so nothing sealed at its desk
    assert item.vault is None
    store.attach(item, now)
    assert item.vault is not None and item.vault[0] == "L-0042"
    assert sc.ledger.append([item])[0].status == "accepted"
    assert sc.session.personal_data("L-0042") == PERSON
    assert store.settle(sc.ledger, now) == (0, 0)  # settled: its envelope is in the log


def test_an_unused_record_expires_its_sealed_data_erased(sc: Scenario) -> None:
    store, now = PreparedIntents(engine_for(sc.ledger), quota=10), time.time()
    unsigned, sealed = sc.session.signer().prepare(INTENT)
    store.put(prepared_from(unsigned, sealed, now), now)
    later = now + TTL + 1
    assert store.settle(sc.ledger, later) == (0, 1)  # counted in /metrics as never used
    with engine_for(sc.ledger).connect() as conn:
        assert conn.execute(sa.select(store.table.c.ciphertext)).scalar_one() is None
    item = sc.session.signer().sign(unsigned)
    store.attach(item, now)  # even at the old clock: the record is gone
    assert item.vault is None
    assert store.pending_by_other("L-0042", "tw-other", later) is None


def test_a_read_needs_a_fresh_access_of_its_own() -> None:
    def leaf(seconds_ago: float, actor: str = "pov-xj", laborer: str = "L-0042") -> dict[str, object]:
        moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
        return {"seq": 7, "recorded_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "envelope": {"type": "PersonalDataAccessed", "actor": actor, "body": {"laborer_id": laborer, "purpose": "核实"}}}  # fmt: skip

    _check_access(leaf(1), "pov-xj", "L-0042", 7)
    for bad in (leaf(ACCESS_WINDOW + 5), leaf(1, actor="insp"), leaf(1, laborer="L-0043")):
        with pytest.raises(ApiProblem) as refused:
            _check_access(bad, "pov-xj", "L-0042", 7)
        assert refused.value.code == "forbidden"

"""Exactly-once across crashes: a runner killed anywhere resumes to the rows a rebuild gives.

The runner runs in a child process that dies like ``kill -9`` — ``os._exit`` at a chosen point
(after N rows written and before the commit, or right after the N-th commit) through the
``LEDGER_PROJECTIONS_CRASH`` test hook, or a real SIGKILL at a random moment — then a clean
catch-up resumes from the committed position. The rows must equal a rebuild from scratch: a
batch is all in or all out, and the position moves in the same transaction as its rows.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_projections_property import OPS, World  # the same random world as the property test

from projections import tables as T
from projections.db import dispose_engines, engine_for
from projections.runner.catchup import catch_up, position, rebuild, reset
from projections.uow import CRASH_ENV
from support.scenario import Scenario

CHILD = "import sys; from ledger.application import Ledger; from projections.runner.catchup import catch_up; " \
        "catch_up(Ledger.open(sys.argv[1]), batch=int(sys.argv[2]))"  # fmt: skip
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    scenario = Scenario.create(db_url, tmp_path)
    world, rng = World(scenario), random.Random(4)
    for _ in range(220):
        world.apply(rng.choice(OPS), rng.randrange(2**32))
    yield scenario
    scenario.close()


def child(url: str, batch: int, crash: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop(CRASH_ENV, None)
    if crash is not None:
        env[CRASH_ENV] = crash
    return subprocess.Popen([sys.executable, "-c", CHILD, url, str(batch)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def rows_after_rebuild(sc: Scenario) -> dict[str, list[dict[str, object]]]:
    engine = engine_for(sc.ledger)
    with engine.connect() as conn:
        resumed = T.dump(conn)
    rebuild(sc.ledger)
    with engine.connect() as conn:
        assert T.dump(conn) == resumed
    return resumed


def test_crashes_inside_and_between_batches_resume_to_the_same_rows(sc: Scenario, db_url: str) -> None:
    engine = engine_for(sc.ledger)
    reset(engine)
    size, batch = sc.ledger.size(), 40
    # 1. die while writing the first batch: nothing committed
    proc = child(db_url, batch, "rows:30")
    assert proc.wait(timeout=120) == 75, proc.stderr.read() if proc.stderr else ""
    assert position(engine) == 0
    # 2. die right after the second commit: exactly two batches in
    proc = child(db_url, batch, "commits:2")
    assert proc.wait(timeout=120) == 75
    assert position(engine) == 2 * batch
    # 3. die halfway through writing a later batch: the position stays on a batch boundary
    proc = child(db_url, batch, "rows:150")
    assert proc.wait(timeout=120) == 75
    assert position(engine) in range(2 * batch, size, batch)
    # 4. resume cleanly
    assert catch_up(sc.ledger, batch=batch) == size
    rows_after_rebuild(sc)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sigkill_at_a_random_moment_resumes_to_the_same_rows(sc: Scenario, db_url: str, seed: int) -> None:
    engine = engine_for(sc.ledger)
    reset(engine)
    size = sc.ledger.size()
    target = random.Random(seed).randint(10, size - 40)
    proc = child(db_url, 1)  # one leaf per transaction: many commit points to land between
    deadline = time.monotonic() + 120
    while position(engine) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(random.Random(seed).uniform(0, 0.02))  # anywhere: between commits or inside one
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the runner finished before it could be killed"
    dispose_engines()  # our pooled connections saw nothing; start clean anyway
    engine = engine_for(sc.ledger)
    assert target <= position(engine) < size
    assert catch_up(sc.ledger) == sc.ledger.size()
    rows_after_rebuild(sc)

"""Faults with real processes (issue 12): kill -9, a PostgreSQL server lost mid-load, a full disk.

A bounded sample of ``benchmarks/bench_faults.py``'s campaign, through the same functions: the
real CLI in its own process group, SIGKILLed after a seeded, stratified delay during ``import``,
``rebuild`` and ``checkpoint``; then no partial event, ``verify`` passes, and the re-run records
each envelope exactly once (duplicates for what was in). ``serve`` does not exist yet.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support.pg import PG_ADMIN, require_postgres

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
LINES = 800  # an import of ~1 s: kill points spread over start-up, appends, catch-up, checkpoint
POINTS = {"import": 3, "rebuild": 2, "checkpoint": 2}  # per backend: the suite stays near a minute


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_faults", BENCH / "bench_faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


faults = _load()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def prepared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path]]:
    """Templates to copy for every kill point, on each backend; dropped afterwards."""
    if request.param == "postgres":
        require_postgres()
    work = tmp_path_factory.mktemp(f"faults-{request.param}")
    dbs = faults.Databases(request.param, work, admin=PG_ADMIN, prefix="ledger_t_faults_")
    try:
        yield dbs, faults.prepare(dbs, work, LINES), work
    finally:
        dbs.drop_all()


@pytest.mark.parametrize("command", ["import", "rebuild", "checkpoint"])
def test_a_kill_9_anywhere_leaves_no_partial_event_and_the_rerun_completes(prepared: Any, command: str) -> None:
    dbs, templates, work = prepared
    points = faults.campaign(dbs, templates, {command: POINTS[command]}, seed=12, work=work,
                             thorough=False, attempts=1)  # fmt: skip
    assert len(points) == POINTS[command]
    assert [p.problems for p in points] == [[]] * len(points), [(p.delay, p.landed) for p in points]


def test_postgres_lost_mid_import_is_one_line_and_a_retry_records_each_envelope_once(tmp_path: Path) -> None:
    if faults.find_pg_bin("initdb") is None:
        message = "initdb is not installed: no private PostgreSQL server to stop mid-import"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must have it", pytrace=False)
        pytest.skip(message)
    out = faults.postgres_lost_mid_import(LINES, tmp_path)
    assert out["problems"] == [], out
    assert 0 < out["appended_before_loss"] < LINES, out  # the server went away mid-load
    assert out["client"]["exit"] == 2


def test_sqlite_on_a_full_disk_is_one_line_the_file_intact_and_a_reimport_records_the_rest(tmp_path: Path) -> None:
    out = faults.sqlite_disk_full(LINES, tmp_path, headroom=1 << 20)  # room for some batches, not all
    assert out["problems"] == [], out
    assert out["client"]["exit"] == 2
    assert out["appended_before_full"] < LINES, out

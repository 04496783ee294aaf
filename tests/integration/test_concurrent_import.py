"""Four importer processes at once: a gapless global order, every envelope exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.encoding.canonical import loads_strict
from support.scenario import Scenario

PROCESSES = 4
OWN = 120
SHARED = 40


def test_four_concurrent_importers(db_url: str, tmp_path: Path) -> None:
    sc = Scenario.create(db_url, tmp_path)
    base = sc.ledger.size()
    shared = [
        sc.envelope("pov-xj", "LaborerRegistered", _laborer(f"L-S{n:04d}"), nonce=f"shared-{n:05d}")
        for n in range(SHARED)
    ]
    files = []
    for p in range(PROCESSES):
        own = [
            sc.envelope("tw-jq" if n % 2 else "pov-xj", "LaborerRegistered", _laborer(f"L-P{p}-{n:04d}"),
                        nonce=f"proc{p}-{n:05d}")
            for n in range(OWN)
        ]  # fmt: skip
        lines = own[: OWN // 2] + shared + own[OWN // 2 :]
        path = tmp_path / f"import-{p}.jsonl"
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in lines), encoding="utf-8")
        files.append(path)
    sc.close()

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "support.importer", db_url, str(tmp_path / "keys"), str(f),
             str(tmp_path / f"report-{p}.json")],
            env=env, cwd=Path(__file__).parents[1], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        for p, f in enumerate(files)
    ]
    # A barrier on pipes: every importer has opened its session before any of them appends.
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    for proc in procs:
        assert proc.wait(timeout=300) == 0

    reports = [json.loads((tmp_path / f"report-{p}.json").read_text()) for p in range(PROCESSES)]
    accepted = [seq for r in reports for (_, status, seq, _) in r if status == "accepted"]
    statuses = {status for r in reports for (_, status, _, _) in r}
    assert statuses <= {"accepted", "duplicate"}, [r for rep in reports for r in rep if r[1] == "refused"][:3]
    assert len(accepted) == PROCESSES * OWN + SHARED
    assert len(set(accepted)) == len(accepted)

    sc = Scenario(__import__("ledger.service", fromlist=["Session"]).Session.open(db_url, tmp_path / "keys"))
    try:
        seqs, nonces = [], []
        for seq, _, leaf in sc.ledger.leaves():
            seqs.append(seq)
            env = loads_strict(leaf)["envelope"]
            nonces.append((env["actor"], env["nonce"]))
        assert seqs == list(range(base + PROCESSES * OWN + SHARED)), "gapless, 0-based"
        assert len(set(nonces)) == len(nonces), "every envelope exactly once"
        assert sorted(accepted) == list(range(base, len(seqs)))
        # The tree written by concurrent transactions equals one computed from the leaves.
        from ledger.translog import merkle

        store = merkle.MemoryNodeStore.from_leaves(leaf for _, _, leaf in sc.ledger.leaves())
        assert sc.ledger.root() == store.root()
        for (_, status, seq, _), line in zip(reports[0], range(1, OWN + SHARED + 1), strict=True):
            assert seq is not None and status in ("accepted", "duplicate"), line
    finally:
        sc.close()


def _laborer(laborer_id: str) -> dict:
    n = sum(ord(c) * 31**i for i, c in enumerate(laborer_id)) % 10**12
    return {"laborer_id": laborer_id, "household_id": "H-" + laborer_id[2:], "jurisdiction": "640422",
            "township": "吉强镇", "village": "龙王坝村", "birth_date": "1980-01-01", "category": "poor",
            "id_fingerprint": f"{n:064x}", "pii_commitment": f"{n + 1:064x}"}  # fmt: skip


def test_an_append_whose_pipeline_postgresql_aborted_is_tried_again(tmp_path: Path, monkeypatch: Any) -> None:
    """psycopg's PipelineAborted (a statement before it failed — under concurrent writers the lost race
    on a seq — and the whole transaction rolled back) is a lost race: the append is tried again and
    accepted, not answered as a database error (seen as two 503s in 600 writes under load)."""
    from eventsourcing.persistence import OperationalError as ESOperationalError
    from psycopg.errors import PipelineAborted

    from ledger.application import Ledger

    scenario = Scenario.create(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    try:
        real, calls = Ledger._append_once, []

        def aborted_once(self: Ledger, *args: Any, **kw: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise ESOperationalError("pipeline aborted") from PipelineAborted("pipeline aborted")
            return real(self, *args, **kw)

        monkeypatch.setattr(Ledger, "_append_once", aborted_once)
        before = scenario.ledger.size()
        seq = scenario.fund("F-2019-640422-retry")
        assert len(calls) == 2 and seq == before and scenario.ledger.size() == before + 1
    finally:
        scenario.close()


def test_any_other_database_error_is_not_retried(tmp_path: Path, monkeypatch: Any) -> None:
    from eventsourcing.persistence import OperationalError as ESOperationalError

    from ledger.application import Ledger
    from ledger.errors import OperationalError

    scenario = Scenario.create(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    try:
        calls = []

        def broken(self: Ledger, *args: Any, **kw: Any) -> Any:
            calls.append(1)
            raise ESOperationalError("connection lost")

        monkeypatch.setattr(Ledger, "_append_once", broken)
        before = scenario.ledger.size()
        with pytest.raises(OperationalError, match="connection lost"):
            scenario.fund("F-2019-640422-broken")
        assert len(calls) == 1 and scenario.ledger.size() == before
    finally:
        scenario.close()

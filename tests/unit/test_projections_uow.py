"""The unit of work: rows by key, in memory until one flush; superseded facts stamped everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from projections import tables as T
from projections.runner.catchup import memory_engine, project_in_memory, reset
from projections.runner.registry import load_plugins
from projections.uow import MemoryTables, MemoryUnitOfWork, Trace, UnitOfWork
from support.scenario import Scenario


def engine() -> sa.Engine:
    eng = memory_engine()
    reset(eng)
    return eng


def test_rows_are_loaded_by_key_changed_in_memory_and_written_once() -> None:
    eng = engine()
    with eng.begin() as conn:
        uow = UnitOfWork(conn, 0, None)
        uow.prefetch([(T.standards, ("S-1",))])
        row = uow.add(T.standards, standard_id="S-1", kind="training", amount_fen=80000, per="trainee",
                      effective_from="2019-01-01", seq=3)  # fmt: skip
        row["amount_fen"] = 90000  # still in memory
        assert conn.execute(sa.select(sa.func.count()).select_from(T.standards)).scalar() == 0
        assert uow.flush() == 1
    with eng.begin() as conn:
        uow = UnitOfWork(conn, 0, None)
        edited = uow.edit(T.standards, "S-1")
        assert edited is not None and edited["amount_fen"] == 90000
        edited["effective_to"] = "2020-12-31"
        assert uow.get(T.standards, "S-2") is None
        uow.flush()
        assert conn.execute(sa.select(T.standards.c.effective_to)).scalar() == "2020-12-31"


def test_retire_stamps_facts_written_earlier_and_facts_still_in_memory() -> None:
    eng = engine()
    with eng.begin() as conn:
        uow = UnitOfWork(conn, 0, None)
        uow.append(T.approval_lines, seq=5, line=0, claim_id="C", laborer_id="L-1", amount_fen=1)
        uow.flush()
        uow.append(T.approval_lines, seq=6, line=0, claim_id="C", laborer_id="L-1", amount_fen=2)
        uow.retire(T.approval_lines, {"seq": 5}, replaced_seq=6)
        uow.retire(T.approval_lines, {"seq": 6}, replaced_seq=7)  # in memory, before its own insert
        uow.append(T.approval_lines, seq=7, line=0, claim_id="C", laborer_id="L-1", amount_fen=3)
        uow.flush()
        got = conn.execute(sa.select(T.approval_lines.c.seq, T.approval_lines.c.replaced_seq)
                           .order_by(T.approval_lines.c.seq)).all()  # fmt: skip
        assert [tuple(r) for r in got] == [(5, 6), (6, 7), (7, None)]


def test_an_unknown_column_is_refused_at_once() -> None:
    eng = engine()
    with eng.begin() as conn:
        uow = UnitOfWork(conn, 0, None)
        try:
            uow.append(T.dispositions, seq=1, anomaly="A", disposition="confirmed", note="", actor="insp")
        except KeyError as exc:
            assert "anomaly" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("a misspelt column must not be dropped silently")


# --- the in-memory unit of work (no database) -------------------------------------------------------------
def every_table() -> MemoryTables:
    load_plugins()
    return MemoryTables([t for t in T.metadata.tables.values() if t is not T.position], 10_000, Trace())


def event(uow: UnitOfWork, seq: int, actor: str, at: str, officer: str | None = None) -> None:
    uow.append(T.events, seq=seq, type="AttendanceRecorded", actor=actor, officer=officer, at=at,
               recorded_at=at, business_date=at[:10], subject_kind="class", subject_id="C-1")  # fmt: skip


def test_memory_rows_are_kept_by_key_and_facts_are_retired_as_the_database_would() -> None:
    tables = every_table()
    uow = MemoryUnitOfWork(tables)
    uow.add(T.standards, standard_id="S-1", kind="training", amount_fen=80000, per="trainee",
            effective_from="2019-01-01", seq=3)  # fmt: skip
    uow.append(T.approval_lines, seq=5, line=0, claim_id="C", laborer_id="L-1", amount_fen=1)
    uow.flush()
    uow = MemoryUnitOfWork(tables)  # the next batch sees the rows the first one left
    edited = uow.edit(T.standards, "S-1")
    assert edited is not None and uow.get(T.standards, "S-2") is None  # complete: no query for a miss
    uow.append(T.approval_lines, seq=6, line=0, claim_id="C", laborer_id="L-1", amount_fen=2)
    uow.retire(T.approval_lines, {"seq": 5}, replaced_seq=6)
    uow.flush()
    assert [(r["seq"], r["replaced_seq"]) for r in tables.rows(T.approval_lines)] == [(5, 6), (6, None)]
    assert [r["standard_id"] for r in tables.rows(T.standards)] == ["S-1"]


def signed(uow: UnitOfWork) -> list[list[tuple[int, str]]]:
    event(uow, 0, "inst-xj", "2019-04-08T09:00:00+08:00")
    event(uow, 1, "inst-ld", "2019-04-09T09:00:00+08:00", officer="o-1")
    event(uow, 3, "inst-xj", "2019-04-11T09:00:00+08:00")
    event(uow, 2, "inst-xj", "2019-04-10T09:00:00+08:00")  # pending, and out of order: written first
    return [uow.signed_by("inst-xj", 0, 3), uow.signed_by("inst-xj", 1, 2), uow.signed_by("inst-ld", 2, 3)]


def test_signed_by_answers_the_same_in_memory_and_in_sql() -> None:
    expected = [
        [(0, "2019-04-08T09:00:00+08:00"), (2, "2019-04-10T09:00:00+08:00"), (3, "2019-04-11T09:00:00+08:00")],
        [(2, "2019-04-10T09:00:00+08:00")],
        [],
    ]
    assert signed(MemoryUnitOfWork(every_table())) == expected
    with engine().begin() as conn:
        assert signed(UnitOfWork(conn, 0, None)) == expected


def test_an_in_memory_unit_of_work_needs_every_table_and_has_no_connection() -> None:
    with pytest.raises(ValueError):
        MemoryUnitOfWork(MemoryTables([T.events], 10, Trace()))
    with pytest.raises(TypeError):
        _ = MemoryUnitOfWork(every_table()).conn


def test_project_in_memory_follows_the_log_exactly_once(tmp_path: Path) -> None:
    sc = Scenario.in_memory(tmp_path)
    tables = project_in_memory(sc.ledger)
    assert tables.position == sc.ledger.size() > 0
    sc.laborer("L-1")
    assert project_in_memory(sc.ledger, tables) is tables and tables.position == sc.ledger.size()
    assert [r["seq"] for r in tables.rows(T.events)] == list(range(sc.ledger.size()))  # each leaf once
    assert [r["laborer_id"] for r in tables.rows(T.laborers)] == ["L-1"]
    with pytest.raises(TypeError):
        project_in_memory(sc.ledger, every_table())  # only tables it returned know where they stand

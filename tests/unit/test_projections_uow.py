"""The unit of work: rows by key, in memory until one flush; superseded facts stamped everywhere."""

from __future__ import annotations

import sqlalchemy as sa

from projections import tables as T
from projections.runner.catchup import memory_engine, reset
from projections.uow import UnitOfWork


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

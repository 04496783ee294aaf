"""Attacks on the projection tables, each caught by ``verify --projections`` (projections.runner.integrity).

The log is signed; the ``pj_`` tables beside it are not. An operator or intruder with write access
edits them directly (SQL through the projections' own engine), on SQLite and PostgreSQL, on real
signed ledgers: the edits below pass the log's ``verify`` and keep the trial balance at zero, and
the replay comparison names the table, the row and the seq. A rewound position must make a
catch-up refuse with the fix named (never a duplicate-key error), and ``rebuild`` must repair all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.service import Session
from ledger.translog.verify import run_verify
from projections import tables as T
from projections.anomalies import TABLES
from projections.anomalies import tables as A
from projections.anomalies.query import list_flags
from projections.db import engine_for
from projections.readmodels.balances import balances
from projections.runner import catchup as runner
from projections.runner.catchup import ProjectionInconsistent, catch_up, rebuild, rebuild_only
from projections.runner.integrity import ProjectionMismatch, verify_projections
from simulator import simulate
from support.scenario import Scenario

CLASS = "CLS-2019-640422-001"
CLAIM = "C-2019-0001"
FUND = "F-2019-640422-training"


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    """A paid class with a claim approved twice (the first approval's lines retired by the second)
    and paid above its approval: postings, retired facts, critical flags. ``sc.paid`` is the
    payment's seq."""
    s = Scenario.create(db_url, tmp_path)
    s.fund()
    for n in (1, 2, 3):
        s.laborer(f"L-000{n}")
    s.klass(CLASS)
    s.ok("hr-xj", "ClassOpeningApproved", {"class_id": CLASS})
    for n in (1, 2, 3):
        s.ok("inst-xj", "TraineeEnrolled", {"class_id": CLASS, "laborer_id": f"L-000{n}"})
    s.ok("inst-xj", "AttendanceRecorded", {"class_id": CLASS, "date": "2019-04-08", "trainees": [
        {"laborer_id": f"L-000{n}", "theory_hours": 2, "practical_hours": 6} for n in (1, 2, 3)]})  # fmt: skip
    s.claim(CLAIM, CLASS, ["L-0001", "L-0002", "L-0003"])
    for amount in (150000, 100000):
        s.ok("hr-xj", "ClaimApproved", {"claim_id": CLAIM, "total_fen": 3 * amount, "lines": [
            {"laborer_id": f"L-000{n}", "amount_fen": amount} for n in (1, 2, 3)]})  # fmt: skip
    s.paid = s.ok("fin-xj", "PaymentDisbursed", {
        "payment_id": "P-2019-0001", "claim_id": CLAIM, "fund_id": FUND, "amount_fen": 450000,
        "payee_account": "ab" * 32, "bank_reference": "XJ20190601", "value_date": "2019-06-01",
    })  # fmt: skip
    catch_up(s.ledger)
    yield s
    s.close()


def engine(sc: Scenario) -> sa.Engine:
    return engine_for(sc.ledger)


def tamper(sc: Scenario, *statements: Any) -> None:
    with engine(sc).begin() as conn:
        for statement in statements:
            conn.execute(statement)


def caught(sc: Scenario, **kw: Any) -> ProjectionMismatch:
    with pytest.raises(ProjectionMismatch) as info:
        verify_projections(sc.ledger, **kw)
    return info.value


def dump(sc: Scenario) -> dict[str, list[dict[str, Any]]]:
    with engine(sc).connect() as conn:
        return T.dump(conn)


def forge_posting(sc: Scenario, seq: int) -> None:
    """5,000 yuan more expense against the fund, balanced: debit and credit lines at ``seq``."""
    common = {"seq": seq, "entry": "payment", "event_type": "PaymentDisbursed", "jurisdiction": "640422",
              "fund_id": FUND, "institution": "inst-xj", "claim_id": CLAIM, "payment_id": "P-2019-0001",
              "business_date": "2019-06-01", "period": "2019-06"}  # fmt: skip
    tamper(sc, T.postings.insert().values(line=90, account="expense:training:640422", kind="expense",
                                          debit_fen=500000, credit_fen=0, **common),
           T.postings.insert().values(line=91, account=f"fund:{FUND}", kind="fund",
                                      debit_fen=0, credit_fen=500000, **common))  # fmt: skip


# --- a clean ledger -------------------------------------------------------------------------------------------
def test_a_clean_ledger_passes_verify_projections_whatever_the_replays_batches(sc: Scenario) -> None:
    """Batches of 1 and 4 leaves retire the first approval's lines in a later batch than wrote them;
    a projection behind the log is compared at its own position."""
    stored = dump(sc)
    rows = sum(len(r) for r in stored.values())
    for batch in (1, 4, 10_000):
        report = verify_projections(sc.ledger, batch=batch)
        assert report.ok and report.position == sc.ledger.size() and report.rows == rows
        assert report.tables == len(stored)
    assert [r["replaced_seq"] for r in stored["pj_approval_lines"]].count(None) == 3  # a retired fact was compared
    assert dump(sc) == stored  # nothing written
    runner.reset(engine(sc))
    catch_up(sc.ledger, stop=12)  # projections behind the log: compared at their own position
    report = verify_projections(sc.ledger)
    assert report.ok and report.position == 12 and report.log_size == sc.ledger.size()


def test_a_clean_simulated_ledger_passes_verify_projections_with_every_table_filled(db_url: str, tmp_path: Path) -> None:
    """The misuse simulation raises every rule, disposes, recovers, reconciles: every table has rows."""
    session = Session.open(db_url, tmp_path / "keys")
    session.checkpoint_interval = 0
    try:
        session.init()
        counts = session.run_simulation(simulate("small", seed=2019, misuse_rate=0.03))
        assert counts["refused"] == 0, counts
        catch_up(session.ledger)
        stored = {name: len(rows) for name, rows in _dump(session).items()}
        assert all(stored.values()), [name for name, n in stored.items() if not n]
        report = verify_projections(session.ledger)
        assert report.ok and report.rows == sum(stored.values()) and report.position == session.ledger.size()
    finally:
        session.close()


def _dump(session: Session) -> dict[str, list[dict[str, Any]]]:
    with engine_for(session.ledger).connect() as conn:
        return T.dump(conn)


# --- attacks ----------------------------------------------------------------------------------------------------
def test_forged_balanced_posting_caught_by_verify_projections(sc: Scenario) -> None:
    expense = "expense:training:640422"
    honest = {a["account"]: a["balance_fen"] for a in balances(engine(sc))["accounts"]}
    forge_posting(sc, sc.paid)
    run_verify(sc.ledger, sc.session.keys, workers=0)  # the log is untouched: verify alone passes
    forged = balances(engine(sc))
    assert forged["trial_balance"]["total_fen"] == 0  # and the books still balance
    assert {a["account"]: a["balance_fen"] for a in forged["accounts"]}[expense] == honest[expense] + 500000
    error = caught(sc)
    assert (error.first.table, error.first.key, error.first.seq, error.first.kind) == (
        "pj_postings", {"seq": sc.paid, "line": 90}, sc.paid, "extra")  # fmt: skip
    assert error.seq == sc.paid and error.report.differences == 2 and error.report.by_table == {"pj_postings": 2}
    assert "pj_postings (seq=" in str(error) and "rebuild" in str(error)

    # An existing posting's amount edited: named with its seq and both values.
    approved = sc.paid - 2  # the first approval: its postings are the earliest edited
    p = T.postings.c
    tamper(sc, T.postings.update().where(p.seq >= approved, p.debit_fen > 0).values(debit_fen=p.debit_fen + 100))
    first = caught(sc).first
    assert (first.table, first.seq, first.kind, first.columns) == ("pj_postings", approved, "changed", ("debit_fen",))
    assert first.stored["debit_fen"] == first.replayed["debit_fen"] + 100


def test_flag_set_false_positive_without_disposal_caught(sc: Scenario) -> None:
    flags = [f for f in list_flags(engine(sc)) if f["severity"] == "critical"]
    assert flags and not [f for f in flags if f["status"] != "open"]
    target = flags[0]["id"]
    tamper(sc, A.anomalies.update().where(A.anomalies.c.id == target).values(status="false_positive"))
    assert [f["id"] for f in list_flags(engine(sc), status="false_positive")] == [target]  # shown as disposed
    error = caught(sc)
    first = error.first
    assert (first.table, first.key, first.kind, first.columns) == ("pj_anomalies", {"id": target}, "changed", ("status",))
    assert (first.stored, first.replayed) == ({"status": "false_positive"}, {"status": "open"})
    with engine(sc).connect() as conn:  # the seq named is the last leaf that changed the flag
        updated = conn.execute(sa.select(A.anomalies.c.updated_seq).where(A.anomalies.c.id == target)).scalar()
    assert first.seq == updated

    # A forged disposal in the flag's history, then the flag deleted: named too.
    flag = flags[1]
    tamper(sc, A.history.insert().values(anomaly_id=flag["id"], seq=sc.paid, n=9, change="disposed",
                                         status="false_positive", raised_seq=sc.paid, jurisdiction="640422",
                                         message="m", message_en="m"))  # fmt: skip
    history = caught(sc)
    assert history.report.by_table == {"pj_anomalies": 1, "pj_anomaly_history": 1}
    assert history.report.first == first  # the edited flag's seq is no later than the forged row's
    tamper(sc, A.anomalies.update().values(status="open"), sa.delete(A.anomalies).where(A.anomalies.c.id == flag["id"]))
    deleted = caught(sc).report
    assert deleted.by_table == {"pj_anomalies": 1, "pj_anomaly_history": 1}
    assert deleted.first is not None and deleted.first.kind in ("missing", "extra")


def test_a_rewound_projection_position_is_refused_by_catch_up_with_rebuild_named(sc: Scenario) -> None:
    size = sc.ledger.size()
    tamper(sc, T.position.update().values(next_seq=size - 6))
    with pytest.raises(ProjectionInconsistent) as info:
        catch_up(sc.ledger)
    assert info.value.problem == "behind" and info.value.facts == {"position": size - 6, "seq": size - 1}
    assert "run `subsidy-ledger rebuild`" in str(info.value)
    with pytest.raises(ProjectionInconsistent):  # rebuild --anomalies cannot repair it: refused before replaying
        rebuild_only(sc.ledger, TABLES)
    first = caught(sc).first
    assert (first.table, first.seq, first.kind, first.stored) == ("pj_position", size - 1, "rewound", {"next_seq": size - 6})

    # The attacker also deletes the leaves' index beyond it: the next table's duplicate key is named.
    tamper(sc, sa.delete(T.events).where(T.events.c.seq >= size - 6))
    with pytest.raises(ProjectionInconsistent) as info:
        catch_up(sc.ledger)
    assert info.value.problem == "rows" and info.value.facts["table"].startswith("pj_")
    first = caught(sc).first  # compared at the rewound position: rows of later leaves are extra
    assert first.kind in ("extra", "changed") and first.seq is not None and first.seq <= size - 1

    tamper(sc, T.position.update().values(next_seq=size - 3))  # forwarded within the log: leaves would be skipped
    with pytest.raises(ProjectionInconsistent) as info:
        catch_up(sc.ledger)
    assert info.value.problem == "short" and info.value.facts == {"position": size - 3, "seq": size - 7}
    assert "pj_events" in str(caught(sc).report.by_table)  # the replay has the leaves the tables lack

    tamper(sc, T.position.update().values(next_seq=size + 5))
    with pytest.raises(ProjectionInconsistent) as info:
        catch_up(sc.ledger)
    assert info.value.problem == "ahead" and info.value.facts == {"position": size + 5, "size": size}
    assert caught(sc).first.kind == "ahead"


def test_a_dropped_or_altered_projection_table_is_named(sc: Scenario) -> None:
    tamper(sc, sa.text("DROP TABLE pj_dispositions"))
    first = caught(sc).first
    assert (first.table, first.kind) == ("pj_dispositions", "table_missing")
    runner._VERIFIED.discard(engine(sc))  # as a new process would: the tables' shape is checked once
    with pytest.raises(ProjectionInconsistent) as info:
        catch_up(sc.ledger)
    assert (info.value.problem, info.value.facts) == ("shape", {"table": "pj_dispositions"})


def test_rebuild_repairs_tampered_projection(sc: Scenario) -> None:
    before = dump(sc)
    forge_posting(sc, sc.paid)
    tamper(sc, A.anomalies.update().values(status="false_positive"), T.claims.update().values(paid_fen=0))
    assert caught(sc).report.differences > 5
    tamper(sc, T.position.update().values(next_seq=3))
    with pytest.raises(ProjectionInconsistent):
        catch_up(sc.ledger)
    rebuild(sc.ledger)
    assert verify_projections(sc.ledger).ok
    assert dump(sc) == before
    catch_up(sc.ledger)  # and catching up works again

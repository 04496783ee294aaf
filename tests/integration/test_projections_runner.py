"""The runner and the read models on SQLite and PostgreSQL: exactly-once, as-of, hooks, content."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from projections import tables as T
from projections.db import engine_for
from projections.readmodels.queries import log_clock
from projections.runner import registry
from projections.runner.catchup import catch_up, position, rebuild, snapshot
from support.scenario import Scenario

FUND = "F-2019-640422-training"


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    scenario = Scenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


def rows(sc: Scenario, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
    with engine_for(sc.ledger).connect() as conn:
        query = sa.select(table).where(*[table.c[k] == v for k, v in where.items()])
        return [dict(r) for r in conn.execute(query.order_by(*table.primary_key.columns)).mappings()]


def one(sc: Scenario, table: sa.Table, **where: Any) -> dict[str, Any]:
    found = rows(sc, table, **where)
    assert len(found) == 1, found
    return found[0]


def attend(sc: Scenario, class_id: str, date: str, *people: tuple[str, int, int], at: str | None = None) -> int:
    trainees = [{"laborer_id": lid, "theory_hours": t, "practical_hours": p} for lid, t, p in people]
    return sc.ok("inst-xj", "AttendanceRecorded", {"class_id": class_id, "date": date, "trainees": trainees},
                 at=at or f"{date}T18:00:00+08:00")  # fmt: skip


def test_catch_up_projects_each_leaf_exactly_once(sc: Scenario) -> None:
    sc.laborer("L-1")
    first = catch_up(sc.ledger)
    assert first == sc.ledger.size()
    assert catch_up(sc.ledger) == first  # nothing new: nothing written
    with engine_for(sc.ledger).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar() == first
    sc.laborer("L-2")
    assert catch_up(sc.ledger) == first + 1
    assert [r["seq"] for r in rows(sc, T.events)] == list(range(first + 1))


def test_a_later_attendance_record_replaces_the_day_and_the_trainees_totals(sc: Scenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.laborer(lid)
    sc.klass("C-1")
    first = attend(sc, "C-1", "2019-04-08", ("L-1", 2, 6), ("L-2", 2, 6))
    attend(sc, "C-1", "2019-04-09", ("L-1", 3, 5))
    catch_up(sc.ledger)  # the replacement arrives in a later batch than the record it replaces
    second = attend(sc, "C-1", "2019-04-08", ("L-1", 1, 7))
    catch_up(sc.ledger)
    day = one(sc, T.class_days, class_id="C-1", date="2019-04-08")
    assert (day["seq"], day["first_seq"], day["versions"], day["hours"]) == (second, first, 2, 8)
    assert day["trainees"] == [["L-1", 1, 7]]
    l1, l2 = one(sc, T.trainees, laborer_id="L-1"), one(sc, T.trainees, laborer_id="L-2")
    assert (l1["attendance_days"], l1["theory_hours"], l1["practical_hours"]) == (2, 4, 12)
    assert (l2["attendance_days"], l2["theory_hours"], l2["practical_hours"]) == (0, 0, 0)
    klass = one(sc, T.classes, class_id="C-1")
    assert (klass["attendance_days"], klass["first_attendance"], klass["last_attendance"]) == (2, "2019-04-08", "2019-04-09")


def test_identity_status_is_the_latest_decision_by_business_date(sc: Scenario) -> None:
    sc.laborer("L-1")
    rejected = sc.ok("pov-xj", "IdentityRejected", {"laborer_id": "L-1", "reason": "非建档立卡"}, at="2019-05-01T10:00:00+08:00")
    # A migrated confirmation of March arrives later in the log: it does not override May's rejection.
    sc.ok("pov-xj", "IdentityConfirmed", {"laborer_id": "L-1", "basis": "迁移"}, at="2019-03-01T10:00:00+08:00")
    catch_up(sc.ledger)
    laborer = one(sc, T.laborers, laborer_id="L-1")
    assert (laborer["identity_status"], laborer["identity_seq"], laborer["identity_date"]) == ("rejected", rejected, "2019-05-01")
    assert [r["decision"] for r in rows(sc, T.identity_decisions, laborer_id="L-1")] == ["rejected", "confirmed"]


def test_events_carry_the_jurisdiction_of_their_subject(sc: Scenario) -> None:
    sc.laborer("L-1")
    sc.klass("C-LD", code="640423", by="inst-ld")
    sc.fund()
    claim = sc.ok("inst-ld", "SubsidyClaimed", {
        "claim_id": "CL-LD", "kind": "training", "class_id": "C-LD", "lines": [{"laborer_id": "L-1", "amount_fen": 100}],
        "payee_account": "ab" * 32, "total_fen": 100})  # fmt: skip
    payment = sc.ok("fin-xj", "PaymentDisbursed", {
        "payment_id": "P-1", "claim_id": "CL-LD", "fund_id": FUND, "amount_fen": 100, "payee_account": "ab" * 32,
        "bank_reference": "B1", "value_date": "2019-06-03"})  # fmt: skip
    catch_up(sc.ledger)
    by_seq = {r["seq"]: r for r in rows(sc, T.events)}
    assert by_seq[claim]["jurisdiction"] == "640423"  # the class's county (a labourer of 西吉 trains in 隆德)
    assert by_seq[payment]["jurisdiction"] == "640422"  # the fund's
    assert by_seq[payment]["business_date"] == "2019-06-03"  # value_date
    assert by_seq[0]["jurisdiction"] == "640400"  # the genesis admin


def test_the_log_clock_ignores_registry_events_and_is_kept_per_position(sc: Scenario) -> None:
    catch_up(sc.ledger)
    with engine_for(sc.ledger).connect() as conn:
        assert log_clock(conn) is None  # only registry events so far (they carry set-up dates)
    a = sc.laborer("L-1")  # at 2019-04-01
    sc.ok("pov-xj", "IdentityConfirmed", {"laborer_id": "L-1", "basis": "x"}, at="2019-03-01T10:00:00+08:00")
    sc.session.rotate_actor("inst-xj")  # signed now: a registry event does not move the clock
    catch_up(sc.ledger)
    with engine_for(sc.ledger).connect() as conn:
        assert log_clock(conn) == "2019-04-01"
        assert log_clock(conn, a - 1) is None
        assert log_clock(conn, a) == "2019-04-01"


def test_hooks_run_once_per_event_inside_the_batch_transaction(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def count_laborers(uow: Any, seq: int, envelope: dict[str, Any]) -> None:
        seen.append(seq)
        assert uow.event.seq == seq and uow.position == seq + 1
        if envelope["type"] == "LaborerRegistered":
            assert uow.get(T.laborers, envelope["body"]["laborer_id"]) is not None  # the handler ran first
            uow.flush()  # pending rows reach the batch's own transaction
            n = uow.conn.execute(sa.select(sa.func.count()).select_from(T.laborers)).scalar()
            assert n >= 1

    monkeypatch.setattr(registry.REGISTRY, "hooks", [count_laborers])
    sc.laborer("L-1")
    sc.laborer("L-2")
    size = catch_up(sc.ledger, batch=4)
    assert seen == list(range(size))


def test_a_failing_hook_rolls_back_the_whole_batch(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    sc.laborer("L-1")
    engine = engine_for(sc.ledger)
    done = catch_up(sc.ledger)
    bad = sc.laborer("L-2")

    def explode(uow: Any, seq: int, envelope: dict[str, Any]) -> None:
        if seq == bad:
            raise RuntimeError("rule bug")

    monkeypatch.setattr(registry.REGISTRY, "hooks", [explode])
    with pytest.raises(RuntimeError):
        catch_up(sc.ledger)
    assert position(engine) == done
    assert rows(sc, T.laborers, laborer_id="L-2") == []
    monkeypatch.setattr(registry.REGISTRY, "hooks", [])
    assert catch_up(sc.ledger) == bad + 1


def test_snapshot_gives_every_table_as_of_a_past_leaf(sc: Scenario) -> None:
    sc.laborer("L-1")
    sc.klass("C-1")
    mark = sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "C-1"})
    sc.ok("inst-xj", "ClassCancelled", {"class_id": "C-1", "reason": "生源不足"}, at="2019-04-02T10:00:00+08:00")
    catch_up(sc.ledger)
    assert one(sc, T.classes, class_id="C-1")["status"] == "cancelled"
    past = snapshot(sc.ledger, mark)
    with past.connect() as conn:
        status = conn.execute(sa.select(T.classes.c.status)).scalar()
        assert status == "approved"
        assert conn.execute(sa.select(sa.func.max(T.events.c.seq))).scalar() == mark


def test_two_runners_at_once_project_every_leaf_once(sc: Scenario) -> None:
    for n in range(40):
        sc.laborer(f"L-{n}")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            catch_up(sc.ledger, batch=3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = engine_for(sc.ledger)
    with engine.connect() as conn:
        live = T.dump(conn)
    rebuild(sc.ledger)
    with engine.connect() as conn:
        assert T.dump(conn) == live


def test_a_changed_table_shape_rebuilds_on_the_next_catch_up(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    from projections.runner import catchup as runner

    sc.laborer("L-1")
    engine = engine_for(sc.ledger)
    size = catch_up(sc.ledger)
    with engine.begin() as conn:  # simulate rows written by an older version of the code
        conn.execute(T.position.update().values(schema="older", next_seq=size))
        conn.execute(T.laborers.delete())
    monkeypatch.setattr(runner, "_VERIFIED", type(runner._VERIFIED)())  # a new process
    assert catch_up(sc.ledger) == size
    assert one(sc, T.laborers, laborer_id="L-1")["registered_seq"] == size - 1


def test_a_changed_rules_version_recomputes_the_anomaly_tables_alone_a_changed_base_version_everything(
    sc: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections.runner import catchup as runner

    sc.laborer("L-1")
    engine = engine_for(sc.ledger)
    size = catch_up(sc.ledger)

    def mark() -> None:  # a row a full rebuild would rewrite
        with engine.begin() as conn:
            conn.execute(T.events.update().where(T.events.c.seq == 0).values(officer="marker"))

    def marked() -> bool:
        return one(sc, T.events, seq=0)["officer"] == "marker"

    def schema() -> str:
        with engine.connect() as conn:
            return str(conn.execute(sa.select(T.position.c.schema)).scalar())

    mark()
    replayed: list[list[str]] = []
    real = runner.rebuild_only
    monkeypatch.setattr(runner, "rebuild_only", lambda ledger, tables, **kw: replayed.append(
        sorted(t.name for t in tables)) or real(ledger, tables, **kw))  # fmt: skip
    monkeypatch.setitem(registry.REGISTRY.versions, "projections.anomalies", "a new threshold")
    monkeypatch.setattr(runner, "_VERIFIED", type(runner._VERIFIED)())  # a new process
    assert schema() != runner.schema_id()
    assert catch_up(sc.ledger) == size
    assert replayed == [["pj_anomalies", "pj_anomaly_evidence", "pj_anomaly_history", "pj_rule_state"]]
    assert marked() and schema() == runner.schema_id()  # the base tables were left alone
    assert catch_up(sc.ledger) == size and len(replayed) == 1  # and it is done once

    monkeypatch.setitem(registry.REGISTRY.versions, "projections.readmodels.handlers", "a new handler")
    monkeypatch.setattr(runner, "_VERIFIED", type(runner._VERIFIED)())
    assert catch_up(sc.ledger) == size
    assert not marked() and len(replayed) == 1 and schema() == runner.schema_id()  # everything rebuilt


def test_projecting_after_an_import_warns_instead_of_failing_the_import(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.services import after_write

    sc.laborer("L-1")

    def explode(uow: Any, seq: int, envelope: dict[str, Any]) -> None:
        raise RuntimeError("rule bug")

    monkeypatch.setattr(registry.REGISTRY, "hooks", [explode])
    assert "rule bug" in str(after_write(sc.ledger))  # the import's caller: accepted stays accepted
    with pytest.raises(RuntimeError):
        catch_up(sc.ledger)  # balances cannot answer from stale rows
    monkeypatch.setattr(registry.REGISTRY, "hooks", [])
    catch_up(sc.ledger)
    assert position(engine_for(sc.ledger)) == sc.ledger.size()

"""``reconcile`` over every bank statement the simulator writes, against its truth (issue 14).

The simulator writes, per finance bureau and month, the statement its payments imply (GBK CSV and
XLSX alternating), injects exceptions into some, and lists per statement what matching must
find, by construction. Here the real statement reader and matcher run over the real files against
the simulated ledger: every exception the truth lists is found with its status (recall 1.0) and
none outside it, every status's count agrees, and the ``ReconciliationRecorded`` the simulator
signed is the very one ``reconcile --record`` would sign — recording it again is a duplicate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api import services
from ledger.errors import OperationalError
from ledger.service import Session
from projections.anomalies.query import list_flags
from projections.db import engine_for
from projections.reconciliation.result import CLEAR
from projections.runner.catchup import catch_up
from simulator import simulate

Found = tuple[str, str, str]  # (file, status, line number or payment id)


def found_in(name: str, exceptions: list[dict[str, Any]]) -> set[Found]:
    return {(name, e["status"], str(e["line"]) if "line" in e else e["payment_id"]) for e in exceptions}


def test_reconcile_finds_every_injected_exception_in_every_simulated_statement(db_url: str, tmp_path: Path) -> None:
    session = Session.open(db_url, tmp_path / "keys")
    session.checkpoint_interval = 0
    try:
        session.init()
        sim = simulate("small", seed=2019)
        assert session.run_simulation(sim)["refused"] == 0
        catch_up(session.ledger)
        truth = {t["file"]: t for t in sim.statement_truth()}
        forms = {name.rsplit(".", 1)[1] for name in truth}
        assert forms == {"csv", "xlsx"}
        expected: set[Found] = set()
        found: set[Found] = set()
        for name, data in sim.statements():
            (tmp_path / name).write_bytes(data)
            t = truth[name]
            result = services.reconcile(session, tmp_path / name, actor=t["actor"], period=t["period"])
            assert result["summary"] == t["summary"], name
            assert result["reconciliation_id"] == t["reconciliation_id"], name
            lines = [line for line in result["lines"] if line["status"] not in CLEAR]
            unmatched = [dict(p, status="unmatched_ledger") for p in result["unmatched_payments"]]
            expected |= found_in(name, t["exceptions"])
            found |= found_in(name, lines + unmatched)
            recorded = services.record_reconciliation(session, result)
            assert recorded.outcome.status == "duplicate", name  # the simulator signed this very event
        statuses = {status for _, status, _ in expected}
        assert statuses >= {"unmatched_bank", "duplicate_bank", "amount_mismatch", "payee_mismatch", "date_mismatch",
                            "return_not_recorded", "unmatched_ledger", "ambiguous"}  # fmt: skip
        recall = len(expected & found) / len(expected)
        print(f"\n{len(truth)} statements ({sorted(forms)}), {len(expected)} exceptions expected, "
              f"{len(found)} found: recall {recall:.3f}, {len(found - expected)} outside the truth")  # fmt: skip
        assert recall == 1.0 and found == expected
        flags = {(f["rule"], f["subject"]["id"]) for f in list_flags(engine_for(session.ledger))
                 if f["rule"] in ("FIN-RECON-EXCEPTION", "FIN-BANK-UNMATCHED")}  # fmt: skip
        assert flags == {(c.rule, c.subject_id) for c in sim.truth if c.rule in ("FIN-RECON-EXCEPTION", "FIN-BANK-UNMATCHED")}
    finally:
        session.close()


def test_statements_are_written_where_asked_or_refused_in_one_line(tmp_path: Path) -> None:
    sim = simulate("small", seed=2019)
    written = services.write_statements(sim, tmp_path / "statements")
    assert [p.name for p in written] == [name for name, _ in sim.statements()]
    assert all(p.read_bytes() == data for p, (_, data) in zip(written, sim.statements(), strict=True))
    assert {p.suffix for p in written} == {".csv", ".xlsx"} and written[0].read_bytes().decode("gbk")
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(OperationalError, match="cannot write the bank statements to"):
        services.write_statements(sim, tmp_path / "taken")

"""The projections keep each recorded reconciliation with its exceptions, and the latest per
finance bureau and month by ``at`` (issue 14): in memory, real signatures, the ledger's decider."""

from __future__ import annotations

from pathlib import Path

from projections import tables as T
from projections.uow import MemoryTables
from support.rules_builder import TRAINING_FUND, RuleScenario


def test_each_reconciliation_with_its_exceptions_and_the_latest_of_the_month_by_at(tmp_path: Path) -> None:
    sc = RuleScenario.in_memory(tmp_path)
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)], payment_id="P-1")
    first = sc.reconciled("2019-06", [("unmatched_bank", None, 5000, "2019-06-12"),
                                      ("amount_mismatch", "P-1", 80001, "2019-06-03")], on="2019-07-08",
                          funds=[TRAINING_FUND])  # fmt: skip
    sc.reconciled("2019-06", [], on="2019-07-05", matched=1)  # recorded later, signed earlier
    sc.reconciled("2019-07", [], on="2019-08-05", by="fin-xj")
    tables = sc.projected()
    assert isinstance(tables, MemoryTables)
    rows = {r["seq"]: r for r in tables.rows(T.reconciliations)}
    kept = rows[first]
    assert (kept["period"], kept["actor"], kept["funds"], kept["exceptions_total"], kept["jurisdiction"]) == (
        "2019-06", "fin-xj", [TRAINING_FUND], 2, "640422")
    assert kept["at"] == "2019-07-08T16:00:00+08:00" and kept["counts"]["unmatched_bank"] == 1
    exceptions = sorted((r["seq"], r["n"], r["status"], r["payment_id"], r["amount_fen"])
                        for r in tables.rows(T.reconciliation_exceptions))  # fmt: skip
    assert exceptions == [(first, 0, "unmatched_bank", None, 5000), (first, 1, "amount_mismatch", "P-1", 80001)]
    latest = {(r["actor"], r["period"]): r["seq"] for r in tables.rows(T.latest_reconciliations)}
    assert latest == {("fin-xj", "2019-06"): first, ("fin-xj", "2019-07"): max(rows)}

"""Anomaly rules SOD-* (RULES.md): segregation of duties — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import RuleScenario


def test_reviewer_only_check_every_inspection_by_the_approver(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.fund_of()
    for cid in ("C-1", "C-2"):
        sc.open_class(cid)
        sc.inspect(f"I-{cid}", cid, "2019-04-10", present=["L-1"], by="hr-xj", method="site_visit")
    sc.inspect("I-X", "C-2", "2019-04-12", present=["L-1"], by="insp")  # near miss: someone independent
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    sc.paid_claim("CL-2", "C-2", [("L-1", 80000)], payment_id="P-2")
    assert sc.flagged("SOD-REVIEWER-ONLY-CHECK") == [("C-1", None)]

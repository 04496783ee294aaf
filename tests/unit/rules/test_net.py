"""Anomaly rules NET-* (RULES.md): networks — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import LA_FUND, RuleScenario

SHARED = "cd" * 32


def test_shared_account_three_labourers_of_three_households_not_of_two(sc: RuleScenario) -> None:
    sc.person("L-1", household="H-A")
    sc.person("L-2", household="H-A")
    sc.person("L-3", household="H-B")
    sc.person("L-4", household="H-C")
    sc.open_class("C-1")
    sc.fund_of(LA_FUND, purpose="living_allowance")
    for n, lid in enumerate(("L-1", "L-2", "L-3", "L-4"), start=1):
        sc.claim_of(f"LA-{n}", "C-1", [(lid, 60000)], kind="living_allowance", payee=SHARED)
        sc.approve(f"LA-{n}", [(lid, 60000)])
        sc.pay(f"P-{n}", f"LA-{n}", 60000, fund=LA_FUND, payee=SHARED)
        assert sc.flagged("NET-SHARED-ACCOUNT") == ([] if n < 4 else [(SHARED, None)])
    flag = sc.one("NET-SHARED-ACCOUNT")
    assert flag["subject"]["kind"] == "account" and flag["jurisdiction"] == "640422" and len(flag["evidence"]) == 4


def test_recycled_trainee_three_classes_of_one_institution_in_one_year(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.person("L-2")
    for n, start in enumerate(("2019-03-04", "2019-06-03", "2019-09-02", "2020-03-02"), start=1):
        sc.open_class(f"C-{n}", occupation=f"工种{n}", start=start)
    for cid in ("C-1", "C-2", "C-4"):  # near miss: the third class starts in 2020
        sc.enrol(cid, "L-2")
    assert sc.flagged("NET-RECYCLED-TRAINEE") == []
    for cid in ("C-1", "C-2", "C-3"):
        sc.enrol(cid, "L-1")
    assert sc.flagged("NET-RECYCLED-TRAINEE") == [("L-1", "L-1")]

"""FIN-* and INSP-* rules (RULES.md): money controls and process inspection — end to end on SQLite and PostgreSQL (``db_url``).

One or two tests per family, through the real ledger, the runner and the database; each also
checks that the in-memory projection of its log (``project_in_memory``, what the rule tests in
``tests/unit/rules/`` run on) gives the very rows the database holds. Every rule's raise, near
miss and withdrawal is tested in memory in ``tests/unit/rules/test_<family>.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.rules_builder import RuleScenario


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[RuleScenario]:
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.memory_matches_database()
    scenario.close()


def test_overpaid_above_the_approved_total_and_cured_by_the_bank_return(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])  # paid exactly as approved
    sc.claim_of("CL-2", "C-1", [("L-2", 80000)])
    sc.approve("CL-2", [("L-2", 80000)])
    over = sc.pay("P-2", "CL-2", 80001)
    flag = sc.one("FIN-OVERPAID")
    assert flag["subject"]["id"] == "CL-2" and over in flag["evidence"] and flag["severity"] == "critical"
    back = sc.returned("P-2")
    assert sc.flagged("FIN-OVERPAID") == []
    assert sc.flags(rule="FIN-OVERPAID", status="withdrawn")[0]["withdrawn_seq"] == back


def test_failed_paid_only_when_the_latest_inspection_failed(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.fund_of()
    for cid in ("C-1", "C-2"):
        sc.open_class(cid)
        sc.inspect(f"I-{cid}-a", cid, "2019-04-10", present=["L-1"], verdict="fail")
    sc.inspect("I-C-1-b", "C-1", "2019-04-20", present=["L-1"], verdict="pass", by="fin-xj")  # rectified
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    sc.paid_claim("CL-2", "C-2", [("L-1", 80000)], payment_id="P-2")
    assert sc.flagged("INSP-FAILED-PAID") == [("C-2", None)]

"""DUP-* rules (RULES.md): each raised by a duplicate, and not by its nearest honest twin — end to end on SQLite and PostgreSQL (``db_url``).

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


def test_dup_payment_two_live_payments_alike_but_not_a_repayment_after_a_return(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)])
    sc.pay("P-1", "CL-1", 80000)
    sc.returned("P-1")
    sc.pay("P-2", "CL-1", 80000, value="2019-06-10")  # paid again after the bank returned it
    assert sc.flagged("DUP-PAYMENT") == []
    sc.pay("P-3", "CL-1", 80000, value="2019-06-12")
    assert sc.flagged("DUP-PAYMENT") == [("CL-1", None)]

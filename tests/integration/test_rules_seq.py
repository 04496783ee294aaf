"""SEQ-* rules (RULES.md): duties done out of order, and their in-order near misses — end to end on SQLite and PostgreSQL (``db_url``).

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


def test_paid_without_attendance_raised_at_approval_and_its_evidence_grows_at_payment(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.fund_of()
    for lid in ("L-1", "L-2"):
        sc.enrol("C-1", lid)
    sc.attend("C-1", "2019-04-08", ["L-1"])  # L-2 never attends: a ghost trainee
    claim = sc.claim_of("CL-1", "C-1", [("L-1", 80000), ("L-2", 80000)])
    assert sc.flagged("SEQ-PAID-WITHOUT-ATTENDANCE") == []  # only claimed: not yet judged
    approval = sc.approve("CL-1", [("L-1", 80000), ("L-2", 80000)])
    flag = sc.one("SEQ-PAID-WITHOUT-ATTENDANCE")
    assert (flag["subject"], flag["laborer_id"]) == ({"kind": "claim", "id": "CL-1"}, "L-2")
    assert flag["evidence"] == [claim, approval] and flag["raised_seq"] == approval
    payment = sc.pay("P-1", "CL-1", 160000)
    again = sc.one("SEQ-PAID-WITHOUT-ATTENDANCE")
    assert again["id"] == flag["id"] and again["evidence"] == [claim, approval, payment]
    assert again["raised_seq"] == approval

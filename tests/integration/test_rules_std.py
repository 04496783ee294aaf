"""STD-* rules (RULES.md, policy §4(3) and the five unifications): each at its threshold — end to end on SQLite and PostgreSQL (``db_url``).

One or two tests per family, through the real ledger, the runner and the database; each also
checks that the in-memory projection of its log (``project_in_memory``, what the rule tests in
``tests/unit/rules/`` run on) gives the very rows the database holds. Every rule's raise, near
miss and withdrawal is tested in memory in ``tests/unit/rules/test_<family>.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.rules_builder import RuleScenario, at


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[RuleScenario]:
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.memory_matches_database()
    scenario.close()


def test_class_size_exactly_fifty_is_fine_fifty_one_is_not_and_a_withdrawal_cures_it(sc: RuleScenario) -> None:
    ids = [f"L-{n}" for n in range(1, 52)]
    sc.people(ids)
    sc.open_class("C-1")
    sc.many([("inst-xj", "TraineeEnrolled", {"class_id": "C-1", "laborer_id": lid}, at("2019-04-03")) for lid in ids[:50]])
    assert sc.flagged("STD-CLASS-SIZE") == []
    last = sc.enrol("C-1", ids[50], on="2019-04-04")
    flag = sc.one("STD-CLASS-SIZE")
    assert flag["subject"] == {"kind": "class", "id": "C-1"} and flag["raised_seq"] == last
    assert len(flag["evidence"]) == 52  # the request and the 51 enrolments standing
    cure = sc.withdraw("C-1", ids[0], on="2019-04-05")
    assert sc.flagged("STD-CLASS-SIZE") == []
    assert sc.flags(rule="STD-CLASS-SIZE", status="withdrawn")[0]["withdrawn_seq"] == cure

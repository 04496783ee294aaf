"""ELIG-* and CONF-* rules (RULES.md): who may train, and facts that contradict each other — end to end on SQLite and PostgreSQL (``db_url``).

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


def test_age_range_is_withdrawn_when_the_birth_date_is_corrected(sc: RuleScenario) -> None:
    sc.person("L-1", birth="1950-01-01")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    assert sc.flagged("ELIG-AGE-RANGE") == [("C-1", "L-1")]
    cure = sc.ok("pov-xj", "LaborerCorrected", {"laborer_id": "L-1", "reason": "出生日期录入错误",
                                                 "birth_date": "1970-01-01"}, at=at("2019-04-10"))  # fmt: skip
    assert sc.flagged("ELIG-AGE-RANGE") == []
    assert sc.flags(rule="ELIG-AGE-RANGE", status="withdrawn")[0]["withdrawn_seq"] == cure


def test_double_presence_two_classes_on_one_day_not_on_different_days(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.open_class("C-2", occupation="中式烹调")
    sc.attend("C-1", "2019-04-08", ["L-1"])
    sc.attend("C-2", "2019-04-09", ["L-1"])
    assert sc.flagged("CONF-DOUBLE-PRESENCE") == []
    a = sc.attend("C-1", "2019-04-10", ["L-1"])
    b = sc.attend("C-2", "2019-04-10", ["L-1"])
    flag = sc.one("CONF-DOUBLE-PRESENCE")
    assert (flag["subject"], flag["laborer_id"], flag["evidence"]) == ({"kind": "laborer", "id": "L-1"}, "L-1", [a, b])
    sc.attend("C-2", "2019-04-10", [])  # the second class's day recorded again without her: cured
    assert sc.flagged("CONF-DOUBLE-PRESENCE") == []

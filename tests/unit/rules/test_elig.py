"""Anomaly rules ELIG-* (RULES.md): who may train — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

import pytest

from support.rules_builder import RuleScenario, at


# --- ELIG ------------------------------------------------------------------------------------------
def test_driver_age_the_day_before_turning_fifty_is_fine_on_the_birthday_it_is_not(sc: RuleScenario) -> None:
    sc.person("L-1", birth="1969-04-09")  # 49 on the planned start, 2019-04-08
    sc.person("L-2", birth="1969-04-08")  # 50 that day
    sc.open_class("C-D", programme="driver", occupation="机动车驾驶")
    sc.enrol("C-D", "L-1")
    enrolment = sc.enrol("C-D", "L-2")
    flag = sc.one("ELIG-DRIVER-AGE")
    assert (flag["subject"], flag["laborer_id"]) == ({"kind": "class", "id": "C-D"}, "L-2")
    assert enrolment in flag["evidence"] and "50" in flag["message"]


@pytest.mark.parametrize(("birth", "flagged"), [("1958-04-09", False), ("1958-04-08", True),
                                                ("2003-04-08", False), ("2003-04-09", True)])  # fmt: skip
def test_age_range_sixteen_to_sixty(sc: RuleScenario, birth: str, flagged: bool) -> None:
    sc.person("L-1", birth=birth)
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    assert sc.flagged("ELIG-AGE-RANGE") == ([("C-1", "L-1")] if flagged else [])


def test_age_range_is_withdrawn_when_the_birth_date_is_corrected(sc: RuleScenario) -> None:
    sc.person("L-1", birth="1950-01-01")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    assert sc.flagged("ELIG-AGE-RANGE") == [("C-1", "L-1")]
    cure = sc.ok("pov-xj", "LaborerCorrected", {"laborer_id": "L-1", "reason": "出生日期录入错误",
                                                 "birth_date": "1970-01-01"}, at=at("2019-04-10"))  # fmt: skip
    assert sc.flagged("ELIG-AGE-RANGE") == []
    assert sc.flags(rule="ELIG-AGE-RANGE", status="withdrawn")[0]["withdrawn_seq"] == cure


def test_not_poor_paid_from_a_poverty_only_fund_not_from_an_open_fund(sc: RuleScenario) -> None:
    sc.person("L-1", category="non_poor")
    sc.person("L-2", category="non_poor")
    sc.open_class("C-1")
    sc.fund_of("F-open", poverty_only=False)
    sc.fund_of()  # poverty_only by default (EVENTS.md)
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)], fund="F-open")
    assert sc.flagged("ELIG-NOT-POOR") == []
    sc.paid_claim("CL-2", "C-1", [("L-2", 80000)])
    assert sc.flagged("ELIG-NOT-POOR") == [("CL-2", "L-2")]

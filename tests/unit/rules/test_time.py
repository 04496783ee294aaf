"""Anomaly rules TIME-* (RULES.md): timeliness — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

import pytest

from support.rules_builder import RuleScenario, at


@pytest.mark.parametrize(("late", "flagged"), [(7, False), (8, True)])
def test_backdated_attendance_and_inspection(sc: RuleScenario, late: int, flagged: bool) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1"], signed=f"2019-04-{8 + late:02d}")
    sc.inspect("I-1", "C-1", "2019-04-09", present=[], signed=f"2019-04-{9 + late:02d}")
    flags = sc.flags(rule="TIME-BACKDATED")
    if flagged:
        assert [(f["subject"]["id"], len(f["evidence"])) for f in flags] == [("C-1", 2)]  # one flag, two records
    else:
        assert flags == []


@pytest.mark.parametrize(("signed", "flagged"), [("2019-05-07", False), ("2019-05-08", True)])
def test_backdated_payroll_counts_from_the_last_day_of_the_month(sc: RuleScenario, signed: str, flagged: bool) -> None:
    sc.person("L-1")
    sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-1", "laborer_id": "L-1", "position": "保洁员",
                                          "start_date": "2019-04-01"}, at=at("2019-04-01"))  # fmt: skip
    sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-1", "month": "2019-04", "wage_fen": 300000}, at=at(signed))
    assert sc.flagged("TIME-BACKDATED") == ([("E-1", None)] if flagged else [])


def test_certificate_issued_before_the_last_attendance_day_not_on_it(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1", "L-2"])
    sc.certify("TC-1", "L-1", "C-1", issued="2019-04-29")
    sc.certify("TC-2", "L-2", "C-1", issued="2019-04-28")
    sc.attend("C-1", "2019-04-29", ["L-1", "L-2"])  # the last day arrives after both certificates
    assert sc.flagged("TIME-CERT-BEFORE-END") == [("TC-2", "L-2")]


@pytest.mark.parametrize(("value", "flagged"), [("2019-04-28", False), ("2019-04-27", True), ("2019-05-01", True),
                                                ("2019-04-26", False), ("2022-01-01", False)])  # fmt: skip
def test_weekend_payment_by_the_holiday_table(sc: RuleScenario, value: str, flagged: bool) -> None:
    # 04-28 is a Sunday worked in exchange for the May holiday (调休); 05-01 a Wednesday holiday;
    # 2022 lies outside the table, which "cannot find a holiday" there and raises nothing.
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)], on="2019-04-15")
    sc.approve("CL-1", [("L-1", 80000)], on="2019-04-22")
    sc.pay("P-1", "CL-1", 80000, value=value)
    assert sc.flagged("TIME-WEEKEND-PAYMENT") == ([("P-1", None)] if flagged else [])


def test_stale_claim_by_the_log_clock_ninety_days_is_not_ninety_one_is_and_payment_cures(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)], on="2019-05-20")
    sc.person("L-2", day="2019-08-18", confirm=False)  # any event moves the log clock: 90 days on
    assert sc.flagged("TIME-STALE-CLAIM") == []
    tick = sc.person("L-3", day="2019-08-19", confirm=False)  # 91 days
    flag = sc.one("TIME-STALE-CLAIM")
    assert flag["raised_seq"] == tick and flag["subject"]["id"] == "CL-1"
    sc.pay("P-1", "CL-1", 80000, value="2019-08-20")
    assert sc.flagged("TIME-STALE-CLAIM") == []


def test_signed_after_revocation_only_what_was_signed_after_effective_at(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.open_class("C-2", by="inst-ld", hr="hr-ld", code="640423")
    covered = sc.attend("C-1", "2019-04-10", ["L-1"])  # signed 2019-04-10T18:00+08:00
    sc.attend("C-2", "2019-04-10", ["L-1"], by="inst-ld")
    sc.session.revoke_actor("inst-xj", "密钥被离职人员带走", effective_at="2019-04-10T12:00:00+08:00")
    sc.session.revoke_actor("inst-ld", "例行更换", effective_at="2019-04-11T00:00:00+08:00")  # near miss
    flag = sc.one("TIME-SIGNED-AFTER-REVOCATION")
    assert flag["subject"] == {"kind": "actor", "id": "inst-xj"} and covered in flag["evidence"]
    assert flag["laborer_id"] is None

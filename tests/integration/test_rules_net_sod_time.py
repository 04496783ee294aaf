"""NET-*, SOD-* and TIME-* rules (RULES.md): networks, segregation of duties, timeliness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.rules_builder import LA_FUND, RuleScenario, at


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[RuleScenario]:
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


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

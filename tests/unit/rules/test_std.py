"""Anomaly rules STD-* (RULES.md, policy §4(3) and the five unifications): each at its threshold — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

import pytest

from support.rules_builder import RuleScenario, at, plus


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


@pytest.mark.parametrize(("span", "flagged"), [(19, True), (20, False), (30, False), (31, True)])
def test_duration_is_judged_when_the_class_completes(sc: RuleScenario, span: int, flagged: bool) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1"])
    last = plus("2019-04-08", span - 1)
    sc.attend("C-1", last, ["L-1"])
    assert sc.flagged("STD-DURATION") == []  # not completed yet
    sc.complete("C-1", last, ["L-1"])
    assert sc.flagged("STD-DURATION") == ([("C-1", None)] if flagged else [])


def test_duration_and_daily_hours_leave_driver_training_alone(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-D", programme="driver", occupation="机动车驾驶")
    sc.attend("C-D", "2019-04-08", ["L-1"], theory=1, practical=3)
    sc.attend("C-D", "2019-05-28", ["L-1"], theory=1, practical=3)
    sc.complete("C-D", "2019-05-28", ["L-1"])
    assert sc.flagged("STD-DURATION") == [] and sc.flagged("STD-DAILY-HOURS") == []


def test_daily_hours_six_is_enough_five_is_not_and_a_corrected_day_cures_it(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1"], theory=2, practical=4)
    assert sc.flagged("STD-DAILY-HOURS") == []
    short = sc.attend("C-1", "2019-04-09", ["L-1"], theory=1, practical=4)
    flag = sc.one("STD-DAILY-HOURS")
    assert flag["evidence"] == [short] and flag["severity"] == "medium"
    sc.attend("C-1", "2019-04-09", ["L-1"], theory=2, practical=6)  # the day recorded again
    assert sc.flagged("STD-DAILY-HOURS") == []


@pytest.mark.parametrize(("theory", "practical", "flagged"), [(2, 4, False), (3, 5, True)])
def test_practical_share_at_least_two_thirds(sc: RuleScenario, theory: int, practical: int, flagged: bool) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    for day in ("2019-04-08", "2019-04-09"):
        sc.attend("C-1", day, ["L-1"], theory=theory, practical=practical)
    sc.complete("C-1", "2019-04-09", ["L-1"])
    assert sc.flagged("STD-PRACTICAL-SHARE") == ([("C-1", None)] if flagged else [])


def test_over_standard_a_line_one_fen_above_the_standard_in_force(sc: RuleScenario) -> None:
    sc.standards()
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1", "L-2"])
    sc.complete("C-1", "2019-05-02", ["L-1", "L-2"])
    sc.certify("TC-1", "L-1", "C-1")
    sc.certify("TC-2", "L-2", "C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000, "TC-1"), ("L-2", 80001, "TC-2")])
    flag = sc.one("STD-OVER-STANDARD")
    assert (flag["subject"]["id"], flag["laborer_id"]) == ("CL-1", "L-2") and "800" in flag["message"]


def test_over_standard_counts_living_allowance_per_day_attended_and_needs_a_standard(sc: RuleScenario) -> None:
    sc.standards(only=("STD-LA",))
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    for day in ("2019-04-08", "2019-04-09"):
        sc.attend("C-1", day, ["L-1", "L-2"])
    sc.claim_of("LA-1", "C-1", [("L-1", 6000)], kind="living_allowance", payee="01" * 32)  # 2 days × 30
    sc.claim_of("LA-2", "C-1", [("L-2", 6001)], kind="living_allowance", payee="02" * 32)
    sc.claim_of("CL-1", "C-1", [("L-1", 999999)])  # no training standard recorded: nothing to judge by
    assert sc.flagged("STD-OVER-STANDARD") == [("LA-2", "L-2")]


def test_unappraised_in_catalogue_class_paid_on_a_training_completion_certificate_only(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1", occupation="中式烹调师", in_catalog=True)
    sc.fund_of()
    sc.certify("VQ-1", "L-1", "C-1", ctype="vocational_qualification", occupation="中式烹调师", level="五级")
    sc.certify("TC-2", "L-2", "C-1", occupation="中式烹调师")
    sc.claim_of("CL-1", "C-1", [("L-1", 150000, "VQ-1"), ("L-2", 80000, "TC-2")])
    sc.approve("CL-1", [("L-1", 150000), ("L-2", 80000)])
    assert sc.flagged("STD-UNAPPRAISED") == []  # approved is not paid
    sc.pay("P-1", "CL-1", 230000)
    assert sc.flagged("STD-UNAPPRAISED") == [("CL-1", "L-2")]


def test_duration_cites_every_class_day_so_a_first_day_recorded_last_gives_the_same_evidence(sc: RuleScenario) -> None:
    """Issue 16: the ends of the span as they arrived are not the ends in every order, and evidence
    only grows, so the flag cites every class-day: the same whichever day came first."""
    sc.person("L-1")
    sc.open_class("C-1")
    middle = sc.attend("C-1", "2019-04-12", ["L-1"])
    last = sc.attend("C-1", "2019-04-20", ["L-1"])
    done = sc.complete("C-1", "2019-04-20", ["L-1"])
    assert sc.one("STD-DURATION")["evidence"] == [middle, last, done]  # 9 days, too short
    first = sc.attend("C-1", "2019-04-08", ["L-1"], signed="2019-04-21")  # the first day, recorded late
    assert sc.one("STD-DURATION")["evidence"] == [middle, last, done, first]  # 13 days: still short

"""Anomaly rules CONF-* (RULES.md): facts that contradict each other — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import RuleScenario, at


# --- CONF ------------------------------------------------------------------------------------------
def test_inspection_absent_yet_signed_in_that_day(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2", "L-3"):
        sc.person(lid)
    sc.open_class("C-1")
    check = sc.inspect("I-1", "C-1", "2019-04-10", present=["L-1"], absent=["L-2", "L-3"])
    sc.attend("C-1", "2019-04-10", ["L-1", "L-2"])  # L-3 truly absent: the near miss
    flag = sc.one("CONF-INSPECTION-ABSENT")
    assert (flag["subject"]["id"], flag["laborer_id"], flag["severity"]) == ("C-1", "L-2", "critical")
    assert check in flag["evidence"]


def test_headcount_fewer_present_than_the_attendance_lists(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2", "L-3"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-10", ["L-1", "L-2"])
    sc.inspect("I-1", "C-1", "2019-04-10", present=["L-1", "L-2"], absent=["L-3"])
    sc.attend("C-1", "2019-04-11", ["L-1", "L-2", "L-3"])
    sc.inspect("I-2", "C-1", "2019-04-11", present=["L-1", "L-2"], by="fin-xj", method="site_visit")
    flag = sc.one("CONF-HEADCOUNT")
    assert "2019-04-11" in flag["message"] and "2" in flag["message"] and "3" in flag["message"]


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


def test_after_withdrawal_attendance_after_the_withdrawal_not_before(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    for lid in ("L-1", "L-2"):
        sc.enrol("C-1", lid)
    sc.attend("C-1", "2019-04-08", ["L-1", "L-2"])
    for lid in ("L-1", "L-2"):
        sc.withdraw("C-1", lid, on="2019-04-09")
    sc.attend("C-1", "2019-04-09", [])
    late = sc.attend("C-1", "2019-04-10", ["L-2"])
    flag = sc.one("CONF-AFTER-WITHDRAWAL")
    assert (flag["subject"]["id"], flag["laborer_id"]) == ("C-1", "L-2") and late in flag["evidence"]


def test_after_withdrawal_a_same_day_tie_is_broken_by_at_not_by_arrival(sc: RuleScenario) -> None:
    """DESIGN §3 (issue 16): a class-day dated the withdrawal's day is after it when signed after it,
    whichever of the two arrived first; one signed before the withdrawal is not."""
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    for cid in ("C-1", "C-2"):
        sc.open_class(cid)
    sc.enrol("C-1", "L-1")
    sc.enrol("C-2", "L-2")
    evening = sc.attend("C-1", "2019-04-09", ["L-1"])  # signed 18:00, arrives before the 08:00 withdrawal
    sc.withdraw("C-1", "L-1", on="2019-04-09")
    sc.withdraw("C-2", "L-2", on="2019-04-09")
    sc.ok("inst-xj", "AttendanceRecorded", {"class_id": "C-2", "date": "2019-04-09", "trainees": [
        {"laborer_id": "L-2", "theory_hours": 2, "practical_hours": 6}]}, at=at("2019-04-09", 7))  # before it
    flag = sc.one("CONF-AFTER-WITHDRAWAL")
    assert (flag["subject"]["id"], flag["laborer_id"]) == ("C-1", "L-1") and evening in flag["evidence"]


def test_after_withdrawal_a_claim_line_for_the_withdrawn_trainee(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    sc.withdraw("C-1", "L-1", on="2019-04-09")
    claim = sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    assert claim in sc.one("CONF-AFTER-WITHDRAWAL")["evidence"]


def test_visit_denial_on_a_paid_line_not_on_an_unpaid_one(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000), ("L-2", 80000)])
    for n, lid in enumerate(("L-1", "L-2"), start=1):
        sc.inspect(f"V-{n}", "C-1", "2019-05-16", present=[], method="phone_visit", subject=("laborer", lid),
                   findings=[{"laborer_id": lid, "code": "attendance_denied", "note": "本人称从未参加培训"}],
                   verdict="fail")  # fmt: skip
    assert sc.flagged("CONF-VISIT-DENIAL") == []  # claimed, not paid
    sc.approve("CL-1", [("L-1", 80000), ("L-2", 0)])
    sc.pay("P-1", "CL-1", 80000)
    assert sc.flagged("CONF-VISIT-DENIAL") == [("L-1", "L-1")]


def test_employed_before_training_payroll_before_the_first_attendance_month(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1", "L-2"])
    for n, lid in ((1, "L-1"), (2, "L-2")):
        sc.ok("emp-xj", "EmploymentStarted", {"employment_id": f"E-{n}", "laborer_id": lid, "position": "保洁员",
                                              "start_date": "2019-03-01", "class_id": "C-1"}, at=at("2019-03-01"))  # fmt: skip
    sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-1", "month": "2019-04", "wage_fen": 300000},
          at=at("2019-05-03"))  # near miss: the month the class began  # fmt: skip
    early = sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-2", "month": "2019-03", "wage_fen": 300000},
                  at=at("2019-04-03"))  # fmt: skip
    flag = sc.one("CONF-EMPLOYED-BEFORE-TRAINING")
    assert (flag["subject"], flag["laborer_id"]) == ({"kind": "employment", "id": "E-2"}, "L-2")
    assert early in flag["evidence"]


def test_employed_before_training_cites_every_class_day_so_a_first_day_recorded_last_agrees(sc: RuleScenario) -> None:
    """Issue 16: the first day seen so far is not the first in every order, and evidence only grows:
    the flag cites every class-day, and the payroll of the months before the last attendance month."""
    sc.person("L-1")
    sc.open_class("C-1")
    later = sc.attend("C-1", "2019-05-06", ["L-1"])
    job = sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-1", "laborer_id": "L-1", "position": "保洁员",
                                                "start_date": "2019-03-01", "class_id": "C-1"}, at=at("2019-03-01"))  # fmt: skip
    march = sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-1", "month": "2019-03", "wage_fen": 300000},
                  at=at("2019-04-03"))  # fmt: skip
    assert sc.one("CONF-EMPLOYED-BEFORE-TRAINING")["evidence"] == [later, job, march]
    first = sc.attend("C-1", "2019-04-08", ["L-1"], signed="2019-05-07")  # the first day, recorded late
    assert sc.one("CONF-EMPLOYED-BEFORE-TRAINING")["evidence"] == [later, job, march, first]

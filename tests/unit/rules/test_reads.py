"""Rules re-judged on what they read (issue 16): a late arrival of anything a rule reads — a
correction, a standard, a certificate — changes the verdict as the rule text says, whatever the
order it came in. The first three tests are the issue's symptoms; then one test per (rule, kind of
event it reads), most valuable first.

In memory (``RuleScenario.in_memory``); ``tests/integration/test_rules_end_to_end.py`` runs the
symptoms again on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.rules_builder import LA_FUND, RuleScenario, at

SHARED = "cd" * 32
CHEF = "中式烹调师"


def _paid_allowances(sc: RuleScenario, households: list[str]) -> None:
    """Living allowances of L-1 … L-n (of these households) paid to one account."""
    for n, household in enumerate(households, start=1):
        sc.person(f"L-{n}", household=household)
    sc.open_class("C-1")
    sc.fund_of(LA_FUND, purpose="living_allowance")
    for n in range(1, len(households) + 1):
        sc.claim_of(f"LA-{n}", "C-1", [(f"L-{n}", 60000)], kind="living_allowance", payee=SHARED)
        sc.approve(f"LA-{n}", [(f"L-{n}", 60000)])
        sc.pay(f"P-{n}", f"LA-{n}", 60000, fund=LA_FUND, payee=SHARED)


def _move(sc: RuleScenario, laborer_id: str, household: str) -> int:
    return sc.ok("pov-xj", "LaborerCorrected", {"laborer_id": laborer_id, "reason": "户籍信息更正",
                                                "household_id": household}, at=at("2019-07-01"))  # fmt: skip


def test_shared_account_follows_a_household_correction_after_the_payments(sc: RuleScenario) -> None:
    """Symptom 1: a correction moving labourers into one household withdraws the flag (and one
    that leaves it standing updates its message); a split into a third household raises it."""
    _paid_allowances(sc, ["H-A", "H-B", "H-C", "H-D"])
    assert "4 户" in sc.one("NET-SHARED-ACCOUNT")["message"]
    _move(sc, "L-4", "H-A")
    assert "3 户" in sc.one("NET-SHARED-ACCOUNT")["message"]  # still 3 households: the message follows
    cure = _move(sc, "L-3", "H-A")
    assert sc.flagged("NET-SHARED-ACCOUNT") == []
    assert sc.flags(rule="NET-SHARED-ACCOUNT", status="withdrawn")[0]["withdrawn_seq"] == cure
    split = _move(sc, "L-3", "H-E")
    flag = sc.one("NET-SHARED-ACCOUNT")
    assert flag["raised_seq"] == split and "3 户" in flag["message"]


def test_shared_account_a_split_household_raises_it_with_no_later_payment(sc: RuleScenario) -> None:
    """Symptom 1, the opposite case: three labourers of two households, one split off later."""
    _paid_allowances(sc, ["H-A", "H-A", "H-B"])
    assert sc.flagged("NET-SHARED-ACCOUNT") == []
    raised = _move(sc, "L-2", "H-C")
    assert sc.flagged("NET-SHARED-ACCOUNT") == [(SHARED, None)]
    assert sc.one("NET-SHARED-ACCOUNT")["raised_seq"] == raised


def _standard(sc: RuleScenario, sid: str, amount: int, *, when: str = "2019-06-10", **scope: str) -> int:
    body: dict[str, Any] = {"standard_id": sid, "kind": "training", **scope, "amount_fen": amount, "per": "trainee",
                            "effective_from": "2018-01-01"}  # fmt: skip
    return sc.ok("admin", "SubsidyStandardSet", body, at=at(when))


def _padded_class(sc: RuleScenario, *, standards_first: bool) -> None:
    """Two completers, two claims of one institution, each line 1 yuan above the 800 standard."""
    if standards_first:
        _standard(sc, "STD-TC", 80000, when="2018-12-18", certificate_type="training_completion")
    sc.person("L-1")
    sc.person("L-2")
    sc.open_class("C-1")
    sc.complete("C-1", "2019-05-02", ["L-1", "L-2"])
    sc.certify("TC-1", "L-1", "C-1")
    sc.certify("TC-2", "L-2", "C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80100, "TC-1")])
    sc.claim_of("CL-2", "C-1", [("L-2", 80100, "TC-2")], on="2019-05-14")
    if not standards_first:
        _standard(sc, "STD-TC", 80000, certificate_type="training_completion")


def _verdicts(sc: RuleScenario) -> set[tuple[str, str, str | None, str]]:
    return {(f["rule"], f["subject"]["id"], f["laborer_id"], f["status"]) for f in sc.flags(status="all")}


def test_a_standard_recorded_after_the_claims_it_governs_judges_them(sc: RuleScenario, tmp_path: Path) -> None:
    """Symptom 2: the same events with the standard last raise what business order raises."""
    _padded_class(sc, standards_first=False)
    assert sc.flagged("STD-OVER-STANDARD") == [("CL-1", "L-1"), ("CL-2", "L-2")]
    assert sc.flagged("FIN-SPLIT-CLAIM") == [("C-1", None)]
    in_order = RuleScenario.in_memory(tmp_path / "in-order")
    _padded_class(in_order, standards_first=True)
    assert _verdicts(sc) == _verdicts(in_order)


def _chef_class(sc: RuleScenario, ctypes: tuple[str, str]) -> None:
    sc.standards()  # training_completion 800; 中式烹调师 vocational qualification 1500
    sc.person("L-1")
    sc.person("L-2")
    sc.open_class("C-1", occupation=CHEF)
    sc.complete("C-1", "2019-05-02", ["L-1", "L-2"])
    for n, ctype in enumerate(ctypes, start=1):
        sc.certify(f"CT-{n}", f"L-{n}", "C-1", ctype=ctype, occupation=CHEF,
                   level="四级" if ctype == "vocational_qualification" else None)  # fmt: skip


def test_split_claim_caps_training_completion_lines_at_the_training_completion_rate(sc: RuleScenario) -> None:
    """Symptom 3: lines citing training-completion certificates only are capped at 800, not at the
    programme's highest (1500 for a qualification)."""
    _chef_class(sc, ("training_completion", "training_completion"))
    sc.claim_of("CL-1", "C-1", [("L-1", 80000, "CT-1")])
    sc.claim_of("CL-2", "C-1", [("L-2", 80000, "CT-2")], on="2019-05-14")
    assert sc.flagged("FIN-SPLIT-CLAIM") == []  # exactly 800 × 2
    sc.claim_of("CL-3", "C-1", [("L-2", 70000, "CT-2")], on="2019-05-15")  # 2300 ≤ 1500 × 2, > 800 × 2
    flag = sc.one("FIN-SPLIT-CLAIM")
    assert flag["message"].endswith("共 2300 元，超过标准 800 元 × 结业 2 人 = 1600 元")


def test_split_claim_a_class_of_mixed_certificates_caps_each_completer_at_their_own(sc: RuleScenario) -> None:
    _chef_class(sc, ("vocational_qualification", "training_completion"))
    sc.claim_of("CL-1", "C-1", [("L-1", 150000, "CT-1")])
    sc.claim_of("CL-2", "C-1", [("L-2", 80000, "CT-2")], on="2019-05-14")
    assert sc.flagged("FIN-SPLIT-CLAIM") == []  # 1500 + 800
    sc.claim_of("CL-3", "C-1", [("L-2", 1, "CT-2")], on="2019-05-15")
    assert sc.one("FIN-SPLIT-CLAIM")["message"].endswith("超过标准 800/1500 元 × 结业 2 人 = 2300 元")


# --- one test per (rule, kind of event it reads) -------------------------------------------------------
def test_split_claim_reads_the_cited_certificates_issued_late(sc: RuleScenario) -> None:
    """Lines citing certificates not recorded yet count at the highest standard; the certificates'
    arrival (training completion) lowers the cap and raises the flag."""
    sc.standards()
    sc.person("L-1")
    sc.person("L-2")
    sc.open_class("C-1", occupation=CHEF)
    sc.complete("C-1", "2019-05-02", ["L-1", "L-2"])
    sc.claim_of("CL-1", "C-1", [("L-1", 80000, "CT-1")])
    sc.claim_of("CL-2", "C-1", [("L-2", 150000, "CT-2")], on="2019-05-14")
    assert sc.flagged("FIN-SPLIT-CLAIM") == []  # 2300 ≤ 1500 × 2
    sc.certify("CT-1", "L-1", "C-1", occupation=CHEF)
    assert sc.flagged("FIN-SPLIT-CLAIM") == []  # 2300 ≤ 800 + 1500 for L-2, still unknown
    raised = sc.certify("CT-2", "L-2", "C-1", occupation=CHEF)
    assert sc.flagged("FIN-SPLIT-CLAIM") == [("C-1", None)]
    assert sc.one("FIN-SPLIT-CLAIM")["raised_seq"] == raised


def test_over_standard_a_later_more_specific_standard_withdraws_it(sc: RuleScenario) -> None:
    """The 800 training-completion standard flags a 1200 line; a standard for the class's occupation
    recorded later (1500) is the more specific one in force, and withdraws the flag."""
    _padded_class(sc, standards_first=True)
    assert sc.flagged("STD-OVER-STANDARD") == [("CL-1", "L-1"), ("CL-2", "L-2")]
    cure = _standard(sc, "STD-HOUSE", 150000, occupation="家政服务")
    assert sc.flagged("STD-OVER-STANDARD") == []
    assert {f["withdrawn_seq"] for f in sc.flags(rule="STD-OVER-STANDARD", status="withdrawn")} == {cure}


def test_over_standard_a_late_standard_of_another_programme_touches_nothing(sc: RuleScenario) -> None:
    _padded_class(sc, standards_first=True)
    before = sc.flags(rule="STD-OVER-STANDARD")
    _standard(sc, "STD-DRIVER", 150000, programme="driver")
    assert sc.flags(rule="STD-OVER-STANDARD") == before


def test_split_claim_a_later_standard_withdraws_it(sc: RuleScenario) -> None:
    _padded_class(sc, standards_first=True)
    assert sc.flagged("FIN-SPLIT-CLAIM") == [("C-1", None)]
    _standard(sc, "STD-HOUSE", 150000, occupation="家政服务")
    assert sc.flagged("FIN-SPLIT-CLAIM") == []


def test_over_standard_reads_the_certificate_a_line_cites_issued_late(sc: RuleScenario) -> None:
    """A 1200 line citing a certificate not recorded yet finds only the generic standards; the
    training-completion certificate's arrival makes the 800 standard the one in force."""
    _standard(sc, "STD-TC", 80000, when="2018-12-18", certificate_type="training_completion")
    sc.person("L-1")
    sc.open_class("C-1")
    sc.complete("C-1", "2019-05-02", ["L-1"])
    sc.claim_of("CL-1", "C-1", [("L-1", 120000, "TC-1")])
    assert sc.flagged("STD-OVER-STANDARD") == []
    sc.certify("TC-1", "L-1", "C-1")
    assert sc.flagged("STD-OVER-STANDARD") == [("CL-1", "L-1")]


def test_not_poor_a_category_correction_after_payment_raises_and_withdraws_it(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    assert sc.flagged("ELIG-NOT-POOR") == []
    category = {"laborer_id": "L-1", "reason": "脱贫户识别有误"}
    sc.ok("pov-xj", "LaborerCorrected", {**category, "category": "non_poor"}, at=at("2019-07-01"))
    assert sc.flagged("ELIG-NOT-POOR") == [("CL-1", "L-1")]
    sc.ok("pov-xj", "LaborerCorrected", {**category, "category": "poor"}, at=at("2019-07-02"))
    assert sc.flagged("ELIG-NOT-POOR") == []


def test_paid_without_identity_withdrawn_by_a_late_confirmation(sc: RuleScenario) -> None:
    sc.person("L-1", confirm=False)
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    assert sc.flagged("SEQ-PAID-WITHOUT-IDENTITY") == [("CL-1", "L-1")]
    sc.ok("pov-xj", "IdentityConfirmed", {"laborer_id": "L-1", "basis": "补录：系统比对一致"}, at=at("2019-07-01"))
    assert sc.flagged("SEQ-PAID-WITHOUT-IDENTITY") == []


def test_paid_without_certificate_withdrawn_by_a_late_certificate(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000, "TC-1")])
    assert ("CL-1", "L-1") in sc.flagged("SEQ-PAID-WITHOUT-CERTIFICATE")
    sc.certify("TC-1", "L-1", "C-1")
    assert sc.flagged("SEQ-PAID-WITHOUT-CERTIFICATE") == []


def test_unappraised_withdrawn_by_a_late_qualification(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1", occupation=CHEF, in_catalog=True)
    sc.fund_of()
    sc.certify("TC-1", "L-1", "C-1", occupation=CHEF)
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000, "TC-1")])
    assert sc.flagged("STD-UNAPPRAISED") == [("CL-1", "L-1")]
    sc.certify("VQ-1", "L-1", "C-1", ctype="vocational_qualification", occupation=CHEF, level="五级",
               issued="2019-06-20")  # fmt: skip
    assert sc.flagged("STD-UNAPPRAISED") == []


def test_uninspected_withdrawn_by_a_late_site_visit(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    assert sc.flagged("INSP-UNINSPECTED") == [("C-1", None)]
    sc.inspect("I-1", "C-1", "2019-04-10", present=["L-1"], signed="2019-04-12")
    assert sc.flagged("INSP-UNINSPECTED") == []


def test_failed_paid_raised_by_a_late_failed_inspection_and_withdrawn_by_a_later_pass(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.inspect("I-1", "C-1", "2019-04-10", present=["L-1"])
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    assert sc.flagged("INSP-FAILED-PAID") == []
    sc.inspect("I-2", "C-1", "2019-04-20", present=["L-1"], verdict="fail", signed="2019-04-22")
    assert sc.flagged("INSP-FAILED-PAID") == [("C-1", None)]
    sc.inspect("I-3", "C-1", "2019-04-25", present=["L-1"], signed="2019-04-26")
    assert sc.flagged("INSP-FAILED-PAID") == []


def test_inspection_absent_raised_by_an_inspection_recorded_after_the_attendance(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.person("L-2")
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-10", ["L-1", "L-2"])
    assert sc.flagged("CONF-INSPECTION-ABSENT") == []
    sc.inspect("I-1", "C-1", "2019-04-10", present=["L-1"], absent=["L-2"])
    assert sc.flagged("CONF-INSPECTION-ABSENT") == [("C-1", "L-2")]


def test_split_claim_a_late_withdrawal_of_a_claim_withdraws_it(sc: RuleScenario) -> None:
    _padded_class(sc, standards_first=True)
    assert sc.flagged("FIN-SPLIT-CLAIM") == [("C-1", None)]
    sc.reject("CL-2", on="2019-05-25")
    assert sc.flagged("FIN-SPLIT-CLAIM") == []


def test_after_withdrawal_a_late_enrolment_dated_before_the_withdrawal_leaves_it_standing(sc: RuleScenario) -> None:
    """Migration order: the withdrawal arrives before the enrolment it ends; business dates decide."""
    sc.person("L-1")
    sc.open_class("C-1")
    sc.withdraw("C-1", "L-1", on="2019-04-09")
    sc.enrol("C-1", "L-1")  # dated 2019-04-03
    sc.attend("C-1", "2019-04-10", ["L-1"])
    assert sc.flagged("CONF-AFTER-WITHDRAWAL") == [("C-1", "L-1")]
    assert sc.flagged("STD-CLASS-SIZE") == []

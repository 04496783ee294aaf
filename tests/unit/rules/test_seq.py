"""Anomaly rules SEQ-* (RULES.md): duties done out of order, and their in-order near misses — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import EMPLOYER_FUND, RuleScenario


def test_paid_without_approval_before_the_approval_date_not_on_it(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)], on="2019-05-20")
    sc.pay("P-1", "CL-1", 80000, value="2019-05-20")  # near miss: paid the day it was approved
    sc.claim_of("CL-2", "C-1", [("L-2", 80000)])
    early = sc.pay("P-2", "CL-2", 80000, value="2019-05-21")
    sc.approve("CL-2", [("L-2", 80000)], on="2019-05-22")  # approved after the money left
    flag = sc.one("SEQ-PAID-WITHOUT-APPROVAL")
    assert flag["subject"]["id"] == "CL-2" and flag["raised_seq"] == early and flag["severity"] == "critical"


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


def test_paid_without_certificate_revoked_certificate_not_valid_one(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.certify("TC-1", "L-1", "C-1")
    sc.certify("TC-2", "L-2", "C-1")
    revoked = sc.ok("inst-xj", "CertificateRevoked", {"certificate_no": "TC-2", "reason": "冒名顶替"})
    sc.claim_of("CL-1", "C-1", [("L-1", 80000, "TC-1"), ("L-2", 80000, "TC-2")])
    sc.approve("CL-1", [("L-1", 80000), ("L-2", 80000)])
    flag = sc.one("SEQ-PAID-WITHOUT-CERTIFICATE")
    assert flag["laborer_id"] == "L-2" and revoked in flag["evidence"]


def test_paid_without_review_needs_an_approving_completion_review(sc: RuleScenario) -> None:
    sc.person("L-1")
    for cid in ("C-1", "C-2"):
        sc.open_class(cid)
    sc.review("C-1", approved=True)
    refused = sc.review("C-2", approved=False)
    for n, cid in enumerate(("C-1", "C-2"), start=1):
        sc.claim_of(f"CL-{n}", cid, [("L-1", 80000)])
        sc.approve(f"CL-{n}", [("L-1", 80000)])
    flag = sc.one("SEQ-PAID-WITHOUT-REVIEW")
    assert flag["subject"]["id"] == "CL-2" and refused in flag["evidence"] and flag["laborer_id"] is None


def test_paid_without_identity_never_confirmed_or_rejected_at_claim_verification(sc: RuleScenario) -> None:
    sc.person("L-1")  # confirmed: the near miss
    sc.person("L-2", confirm=False)
    sc.person("L-3")
    sc.open_class("C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000), ("L-2", 80000), ("L-3", 80000)])
    sc.ok("pov-xj", "ClaimIdentityVerified", {"claim_id": "CL-1", "rejected_laborers": ["L-3"]},
          at="2019-05-15T10:00:00+08:00")  # fmt: skip
    sc.approve("CL-1", [("L-1", 80000), ("L-2", 80000), ("L-3", 80000)])
    assert sc.flagged("SEQ-PAID-WITHOUT-IDENTITY") == [("CL-1", "L-2"), ("CL-1", "L-3")]


def test_employer_claim_needs_six_consecutive_payroll_months_and_a_certificate(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.certify("TC-1", "L-1", "C-1")
    sc.certify("TC-2", "L-2", "C-1")
    sc.fund_of(EMPLOYER_FUND, purpose="employer")
    for n, lid in ((1, "L-1"), (2, "L-2")):
        sc.ok("emp-xj", "EmploymentStarted", {"employment_id": f"E-{n}", "laborer_id": lid, "position": "保洁员",
                                              "start_date": "2019-05-15"}, at="2019-05-15T09:00:00+08:00")  # fmt: skip
    months = ["2019-05", "2019-06", "2019-07", "2019-08", "2019-09", "2019-10"]
    for month in months:  # E-1: six months from its start
        sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-1", "month": month, "wage_fen": 300000},
              at=f"{month}-28T10:00:00+08:00")  # fmt: skip
    for month in months[:3] + months[4:]:  # E-2: August missing
        sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-2", "month": month, "wage_fen": 300000},
              at=f"{month}-28T10:00:00+08:00")  # fmt: skip
    sc.claim_of("CL-E", None, [("L-1", 100000, "TC-1"), ("L-2", 100000, "TC-2")], kind="employer", by="emp-xj",
                on="2019-11-11", employment={"L-1": "E-1", "L-2": "E-2"})  # fmt: skip
    sc.approve("CL-E", [("L-1", 100000), ("L-2", 100000)], on="2019-11-18")
    assert sc.flagged("SEQ-EMPLOYER-WITHOUT-SIX-MONTHS") == [("CL-E", "L-2")]
    sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-2", "month": "2019-08", "wage_fen": 300000},
          at="2019-11-20T10:00:00+08:00")  # the missing month arrives: cured  # fmt: skip
    assert sc.flagged("SEQ-EMPLOYER-WITHOUT-SIX-MONTHS") == []
    assert sc.flags(rule="SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", status="withdrawn")[0]["laborer_id"] == "L-2"


def test_before_approval_attendance_the_day_before_not_enrolment_on_the_day(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1", approved_on="2019-04-01")
    sc.open_class("C-2", approved_on="2019-04-01")
    sc.enrol("C-1", "L-1", on="2019-04-01")  # near miss: enrolled the day it was approved
    sc.enrol("C-2", "L-1", on="2019-04-01")
    early = sc.attend("C-2", "2019-03-31", ["L-1"], signed="2019-04-01")
    flag = sc.one("SEQ-BEFORE-APPROVAL")
    assert flag["subject"] == {"kind": "class", "id": "C-2"} and early in flag["evidence"]


def test_before_approval_evidence_the_same_when_the_approval_arrives_late(sc: RuleScenario) -> None:
    """Issue 16: which entries are before the approval is known once it is recorded. Until then the flag
    cites the application alone, so a late approval leaves the evidence business order gives: the
    application, the entries dated before the approval and the approval — not the entries it cured."""
    sc.person("L-1")
    sc.person("L-2")
    requested = sc.open_class("C-1", approve=False)
    early = sc.enrol("C-1", "L-1", on="2019-03-30")
    sc.enrol("C-1", "L-2", on="2019-04-02")  # on/after the approval that comes later: no finding
    later = sc.attend("C-1", "2019-04-03", ["L-1", "L-2"])
    waiting = sc.one("SEQ-BEFORE-APPROVAL")
    assert waiting["evidence"] == [requested] and "尚未审批" in waiting["message"]
    approval = sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "C-1"}, at="2019-04-01T10:00:00+08:00")
    flag = sc.one("SEQ-BEFORE-APPROVAL")
    assert flag["evidence"] == [requested, early, approval] and later not in flag["evidence"]
    assert "2019-03-30" in flag["message"] and "共 1 天" in flag["message"]

"""Anomaly rules INSP-* (RULES.md): process inspection — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import RuleScenario


def test_uninspected_a_paid_class_with_only_a_phone_visit(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.fund_of()
    sc.open_class("C-1")
    sc.open_class("C-2")
    sc.inspect("I-1", "C-1", "2019-04-10", present=["L-1"])
    sc.inspect("V-2", "C-2", "2019-05-15", present=[], method="phone_visit", subject=("laborer", "L-1"),
               findings=[{"laborer_id": "L-1", "code": "attendance_confirmed", "note": "本人确认参训"}])  # fmt: skip
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    assert sc.flagged("INSP-UNINSPECTED") == []
    sc.paid_claim("CL-2", "C-2", [("L-1", 80000)], payment_id="P-2")
    assert sc.flagged("INSP-UNINSPECTED") == [("C-2", None)]


def test_failed_paid_only_when_the_latest_inspection_failed(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.fund_of()
    for cid in ("C-1", "C-2"):
        sc.open_class(cid)
        sc.inspect(f"I-{cid}-a", cid, "2019-04-10", present=["L-1"], verdict="fail")
    sc.inspect("I-C-1-b", "C-1", "2019-04-20", present=["L-1"], verdict="pass", by="fin-xj")  # rectified
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    sc.paid_claim("CL-2", "C-2", [("L-1", 80000)], payment_id="P-2")
    assert sc.flagged("INSP-FAILED-PAID") == [("C-2", None)]


def test_failed_paid_cites_an_approval_recorded_after_the_payment(sc: RuleScenario) -> None:
    """Issue 16: a migration may load a payment before its claim's approval; the approval is cited
    once it arrives, as in business order."""
    sc.person("L-1")
    sc.fund_of()
    sc.open_class("C-1")
    sc.inspect("I-1", "C-1", "2019-04-10", present=[], verdict="fail")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    paid = sc.pay("P-1", "CL-1", 80000)
    assert paid in sc.one("INSP-FAILED-PAID")["evidence"]
    approved = sc.approve("CL-1", [("L-1", 80000)])
    assert approved in sc.one("INSP-FAILED-PAID")["evidence"]


def test_failed_paid_the_latest_of_one_date_is_by_at_not_by_arrival(sc: RuleScenario) -> None:
    """DESIGN §3 (issue 16): two checks of one date are ordered by at (then actor, nonce), so a pass
    signed after a fail rectifies it even when it arrived first."""
    sc.person("L-1")
    sc.fund_of()
    sc.open_class("C-1")
    sc.inspect("I-pass", "C-1", "2019-04-10", present=["L-1"], verdict="pass", signed="2019-04-11")
    sc.inspect("I-fail", "C-1", "2019-04-10", present=["L-1"], verdict="fail")  # signed on the day, arrives last
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    assert sc.flagged("INSP-FAILED-PAID") == []

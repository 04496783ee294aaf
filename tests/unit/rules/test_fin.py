"""Anomaly rules FIN-* (RULES.md): money controls — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import LA_FUND, TRAINING_FUND, RuleScenario


def test_overpaid_above_the_approved_total_and_cured_by_the_bank_return(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.fund_of()
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])  # paid exactly as approved
    sc.claim_of("CL-2", "C-1", [("L-2", 80000)])
    sc.approve("CL-2", [("L-2", 80000)])
    over = sc.pay("P-2", "CL-2", 80001)
    flag = sc.one("FIN-OVERPAID")
    assert flag["subject"]["id"] == "CL-2" and over in flag["evidence"] and flag["severity"] == "critical"
    back = sc.returned("P-2")
    assert sc.flagged("FIN-OVERPAID") == []
    assert sc.flags(rule="FIN-OVERPAID", status="withdrawn")[0]["withdrawn_seq"] == back


def test_overpaid_counts_a_missing_approval_as_zero(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.pay("P-1", "CL-1", 80000)
    assert sc.flagged("FIN-OVERPAID") == [("CL-1", None)]


def test_approved_over_claim_on_one_line_even_with_an_equal_total(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000), ("L-2", 80000)])
    sc.claim_of("CL-2", "C-1", [("L-1", 80000), ("L-2", 80000)], on="2019-05-14")
    sc.approve("CL-1", [("L-1", 80000), ("L-2", 80000)])  # as claimed
    sc.approve("CL-2", [("L-1", 90000), ("L-2", 70000)])  # same total, one line raised
    flag = sc.one("FIN-APPROVED-OVER-CLAIM")
    assert flag["subject"]["id"] == "CL-2" and "L-1" in flag["message"]


def test_fund_overdrawn_by_one_fen(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.fund_of(amount=100000)
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    sc.paid_claim("CL-2", "C-1", [("L-2", 20000)], payment_id="P-2", value="2019-06-04")
    assert sc.flagged("FIN-FUND-OVERDRAWN") == []  # exactly the allocation
    sc.ok("fin-xj", "FundAdjusted", {"fund_id": TRAINING_FUND, "delta_fen": -1, "reason": "上级收回"},
          at="2019-06-05T10:00:00+08:00")  # fmt: skip
    assert sc.flagged("FIN-FUND-OVERDRAWN") == [(TRAINING_FUND, None)]


def test_fund_mismatch_purpose_place_and_year_but_not_a_city_fund_above_the_county(sc: RuleScenario) -> None:
    sc.session.add_actor("fin-city", "finance_bureau", "640400", "固原市财政局")
    sc.session.add_actor("fin-ld", "finance_bureau", "640423", "隆德县财政局")
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of("F-city", code="640400", by="fin-city")
    sc.fund_of("F-ld", code="640423", by="fin-ld")
    sc.fund_of(LA_FUND, purpose="living_allowance")
    sc.fund_of("F-2018", year=2018)
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)])
    for pid, fund, by in (("P-city", "F-city", "fin-city"), ("P-ld", "F-ld", "fin-ld"), ("P-la", LA_FUND, "fin-xj"),
                          ("P-2018", "F-2018", "fin-xj")):  # fmt: skip
        sc.pay(pid, "CL-1", 1, fund=fund, by=by)
    assert sc.flagged("FIN-FUND-MISMATCH") == [("P-2018", None), ("P-la", None), ("P-ld", None)]


def test_fund_mismatch_cites_every_allocation_of_the_fund_one_allocated_after_the_payment_too(sc: RuleScenario) -> None:
    """Issue 16: which allocation arrived first differs between orders; the flag cites them all, so
    an allocation loaded after the payment re-judges the fund's payments."""
    sc.person("L-1")
    sc.open_class("C-1")
    first = sc.fund_of(LA_FUND, purpose="living_allowance")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)])
    paid = sc.pay("P-la", "CL-1", 1, fund=LA_FUND)
    claimed = sc.one("FIN-FUND-MISMATCH")["evidence"][1]
    assert sc.one("FIN-FUND-MISMATCH")["evidence"] == [first, claimed, paid]
    top_up = sc.fund_of(LA_FUND, purpose="living_allowance", amount=1_000_000)
    assert sc.one("FIN-FUND-MISMATCH")["evidence"] == [first, claimed, paid, top_up]


def test_payee_mismatch(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)])
    sc.pay("P-1", "CL-1", 40000)
    sc.pay("P-2", "CL-1", 40000, payee="ef" * 32, value="2019-06-04")
    assert sc.flagged("FIN-PAYEE-MISMATCH") == [("P-2", None)]


def test_split_claim_above_standard_times_completers_by_one_fen(sc: RuleScenario) -> None:
    sc.standards(only=("STD-TC",))
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1")
    sc.complete("C-1", "2019-05-02", ["L-1", "L-2"])
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.claim_of("CL-2", "C-1", [("L-2", 80000)], on="2019-05-14")  # two claims, exactly 800 × 2
    assert sc.flagged("FIN-SPLIT-CLAIM") == []
    sc.claim_of("CL-3", "C-1", [("L-2", 1)], on="2019-05-15")
    assert sc.flagged("FIN-SPLIT-CLAIM") == [("C-1", None)]


# --- bank reconciliation (DESIGN §10) ----------------------------------------------------------------------
def _five_payments(sc: RuleScenario) -> list[int]:
    for n in range(1, 6):
        sc.person(f"L-{n}")
    sc.open_class("C-1")
    sc.fund_of()
    return [sc.paid_claim(f"CL-{n}", "C-1", [(f"L-{n}", 80000)], payment_id=f"P-{n}") for n in range(1, 6)]


def test_recon_exception_each_payment_status_raised_and_withdrawn_by_a_later_clean_reconciliation(
        sc: RuleScenario) -> None:  # fmt: skip
    paid = _five_payments(sc)
    statuses = ["unmatched_ledger", "amount_mismatch", "payee_mismatch", "date_mismatch", "return_not_recorded"]
    first = sc.reconciled("2019-06", [(st, f"P-{n}", 80000, "2019-06-03") for n, st in enumerate(statuses, 1)]
                          + [("ambiguous", None, 80000, "2019-06-03")], on="2019-07-05")  # fmt: skip
    assert sc.flagged("FIN-RECON-EXCEPTION") == [(f"P-{n}", None) for n in range(1, 6)]
    flag = next(f for f in sc.flags(rule="FIN-RECON-EXCEPTION") if f["subject"]["id"] == "P-2")
    assert flag["severity"] == "high" and flag["subject"]["kind"] == "payment" and flag["jurisdiction"] == "640422"
    assert flag["evidence"] == [paid[1], first] and "金额不符" in flag["message"] and "amount_mismatch" in flag["message_en"]
    again = sc.reconciled("2019-06", [("amount_mismatch", "P-2", 80000, "2019-06-03")], on="2019-07-09", matched=4)
    assert sc.flagged("FIN-RECON-EXCEPTION") == [("P-2", None)]
    assert {f["subject"]["id"]: f["withdrawn_seq"] for f in sc.flags(rule="FIN-RECON-EXCEPTION", status="withdrawn")} \
        == {f"P-{n}": again for n in (1, 3, 4, 5)}  # fmt: skip
    sc.reconciled("2019-06", [], on="2019-07-10", matched=5)
    assert sc.flagged("FIN-RECON-EXCEPTION") == []


def test_recon_exception_near_misses_other_bureau_other_fund_earlier_month_and_an_older_reconciliation(
        sc: RuleScenario) -> None:  # fmt: skip
    sc.session.add_actor("fin-ld", "finance_bureau", "640423", "隆德县财政局")
    _five_payments(sc)
    sc.reconciled("2019-06", [("unmatched_ledger", "P-1", 80000, "2019-06-03")], on="2019-07-05", by="fin-ld")
    sc.reconciled("2019-06", [("unmatched_ledger", "P-2", 80000, "2019-06-03")], on="2019-07-05", funds=[LA_FUND])
    sc.reconciled("2019-05", [("unmatched_ledger", "P-3", 80000, "2019-06-03")], on="2019-06-05")
    sc.reconciled("2019-07", [("amount_mismatch", "P-4", 80000, "2019-06-03")], on="2019-08-05")
    assert sc.flagged("FIN-RECON-EXCEPTION") == []
    sc.reconciled("2019-06", [], on="2019-07-08", funds=[TRAINING_FUND], matched=5)
    # recorded later, signed earlier: not the latest of the month, so it raises nothing
    sc.reconciled("2019-06", [("unmatched_ledger", "P-5", 80000, "2019-06-03")], on="2019-07-06")
    assert sc.flagged("FIN-RECON-EXCEPTION") == []


def test_recon_exception_return_not_recorded_in_a_later_month_and_a_payment_recorded_after_its_reconciliation(
        sc: RuleScenario) -> None:  # fmt: skip
    _five_payments(sc)
    late = sc.reconciled("2019-07", [("return_not_recorded", "P-1", 80000, "2019-07-02"),
                                     ("unmatched_ledger", "P-9", 5000, "2019-07-01")], on="2019-08-05")  # fmt: skip
    assert sc.flagged("FIN-RECON-EXCEPTION") == [("P-1", None)]
    sc.claim_of("CL-9", "C-1", [("L-1", 5000)], on="2019-06-20")
    sc.approve("CL-9", [("L-1", 5000)], on="2019-06-25")
    p9 = sc.pay("P-9", "CL-9", 5000, value="2019-07-01")  # migrated: the reconciliation came first
    assert sc.flagged("FIN-RECON-EXCEPTION") == [("P-1", None), ("P-9", None)]
    assert next(f for f in sc.flags(rule="FIN-RECON-EXCEPTION") if f["subject"]["id"] == "P-9")["evidence"] == [late, p9]
    sc.returned("P-1", on="2019-08-06")  # the return recorded: the flag stays until a reconciliation agrees
    assert sc.flagged("FIN-RECON-EXCEPTION") == [("P-1", None), ("P-9", None)]
    sc.reconciled("2019-07", [("unmatched_ledger", "P-9", 5000, "2019-07-01")], on="2019-08-07")
    assert sc.flagged("FIN-RECON-EXCEPTION") == [("P-9", None)]


def test_bank_unmatched_raised_per_account_near_miss_and_withdrawn_by_a_later_clean_reconciliation(
        sc: RuleScenario) -> None:  # fmt: skip
    _five_payments(sc)
    sc.reconciled("2019-06", [("ambiguous", None, 80000, "2019-06-03"), ("amount_mismatch", "P-1", 80000, "2019-06-03")],
                  on="2019-07-04")  # fmt: skip
    assert sc.flagged("FIN-BANK-UNMATCHED") == []  # ambiguous is not money out with no payment
    raised = sc.reconciled("2019-06", [("unmatched_bank", None, 123456, "2019-06-12"),
                                       ("duplicate_bank", None, 80000, "2019-06-03")], on="2019-07-05",
                           funds=[TRAINING_FUND])  # fmt: skip
    flag = sc.one("FIN-BANK-UNMATCHED")
    assert flag["subject"] == {"kind": "reconciliation", "id": "fin-xj:2019-06"} and flag["severity"] == "critical"
    assert flag["evidence"] == [raised] and flag["jurisdiction"] == "640422" and "2034.56" in flag["message"]
    sc.reconciled("2019-06", [], on="2019-07-06", funds=[LA_FUND])  # another account of the bureau: clean
    assert sc.flagged("FIN-BANK-UNMATCHED") == [("fin-xj:2019-06", None)]
    cured = sc.reconciled("2019-06", [], on="2019-07-08", funds=[TRAINING_FUND], matched=5)
    assert sc.flagged("FIN-BANK-UNMATCHED") == []
    assert sc.flags(rule="FIN-BANK-UNMATCHED", status="withdrawn")[0]["withdrawn_seq"] == cured

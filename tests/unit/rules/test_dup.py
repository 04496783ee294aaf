"""Anomaly rules DUP-* (RULES.md): each raised by a duplicate, and not by its nearest honest twin — raise, near miss, withdrawal.

In memory (``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test. The same
families run end to end on SQLite and PostgreSQL in ``tests/integration/test_rules_*.py``.
"""

from __future__ import annotations

from support.rules_builder import RuleScenario


def test_dup_laborer_flags_the_later_registration_of_one_fingerprint(sc: RuleScenario) -> None:
    first = sc.person("L-1", fp="f" * 64, day="2019-03-01")
    sc.person("L-2", fp="e" * 64, day="2019-03-02")  # near miss: another person
    later = sc.person("L-3", fp="f" * 64, day="2019-03-05")
    flag = sc.one("DUP-LABORER")
    assert (flag["subject"], flag["laborer_id"]) == ({"kind": "laborer", "id": "L-3"}, "L-3")
    assert flag["evidence"] == [first, later] and flag["raised_seq"] == later
    assert flag["severity"] == "high" and flag["jurisdiction"] == "640422"


def test_dup_laborer_names_the_later_by_business_date_not_by_arrival(sc: RuleScenario) -> None:
    sc.person("L-1", fp="f" * 64, day="2019-03-05")
    sc.person("L-2", fp="f" * 64, day="2019-03-01")  # migrated: arrives later, registered earlier
    assert sc.flagged("DUP-LABORER") == [("L-1", "L-1")]


def test_dup_claim_line_flags_the_later_live_claim_of_the_same_kind(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)], on="2019-05-13")
    sc.claim_of("CL-LA", "C-1", [("L-1", 60000)], kind="living_allowance", on="2019-05-14")  # other kind
    assert sc.flagged("DUP-CLAIM-LINE") == []
    sc.claim_of("CL-2", "C-1", [("L-1", 80000)], on="2019-05-20")
    assert sc.flagged("DUP-CLAIM-LINE") == [("CL-2", "L-1")]
    assert sc.one("DUP-CLAIM-LINE")["severity"] == "critical"


def test_dup_claim_line_is_no_duplicate_after_the_first_claim_was_rejected(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)], on="2019-05-13")
    sc.reject("CL-1", on="2019-05-15")
    sc.claim_of("CL-2", "C-1", [("L-1", 80000)], on="2019-05-20")  # refiled after rejection
    assert sc.flagged("DUP-CLAIM-LINE") == []


def test_dup_certificate_cited_for_two_labourers_of_one_kind_not_across_kinds(sc: RuleScenario) -> None:
    for lid in ("L-1", "L-2"):
        sc.person(lid)
    sc.open_class("C-1", occupation="中式烹调师", in_catalog=True)
    cert = sc.certify("VQ-1", "L-1", "C-1", ctype="vocational_qualification", occupation="中式烹调师", level="五级")
    sc.claim_of("CL-T", "C-1", [("L-1", 150000, "VQ-1")])
    sc.claim_of("CL-A", "C-1", [("L-1", 20000, "VQ-1")], kind="appraisal", by="apc")  # near miss: other kind
    assert sc.flagged("DUP-CERTIFICATE") == []
    claim2 = sc.claim_of("CL-T2", "C-1", [("L-2", 150000, "VQ-1")], on="2019-05-14")  # borrowed certificate
    flag = sc.one("DUP-CERTIFICATE")
    assert (flag["subject"], flag["laborer_id"]) == ({"kind": "certificate", "id": "VQ-1"}, None)
    assert cert in flag["evidence"] and claim2 in flag["evidence"]


def test_dup_payment_two_live_payments_alike_but_not_a_repayment_after_a_return(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)])
    sc.pay("P-1", "CL-1", 80000)
    sc.returned("P-1")
    sc.pay("P-2", "CL-1", 80000, value="2019-06-10")  # paid again after the bank returned it
    assert sc.flagged("DUP-PAYMENT") == []
    sc.pay("P-3", "CL-1", 80000, value="2019-06-12")
    assert sc.flagged("DUP-PAYMENT") == [("CL-1", None)]


def test_dup_repeat_training_same_occupation_twice_but_not_two_occupations(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.fund_of()
    sc.open_class("C-1", occupation="家政服务")
    sc.open_class("C-2", occupation="中式烹调", start="2019-06-03")
    sc.paid_claim("CL-1", "C-1", [("L-1", 80000)])
    sc.paid_claim("CL-2", "C-2", [("L-1", 80000)], on="2019-07-08", value="2019-07-22")
    assert sc.flagged("DUP-REPEAT-TRAINING") == []
    sc.open_class("C-3", occupation="家政服务", start="2019-08-05")
    sc.claim_of("CL-3", "C-3", [("L-1", 80000)], on="2019-09-09")
    assert sc.flagged("DUP-REPEAT-TRAINING") == []  # claimed is not paid
    sc.approve("CL-3", [("L-1", 80000)], on="2019-09-16")
    paid = sc.pay("P-3", "CL-3", 80000, value="2019-09-23")
    flag = sc.one("DUP-REPEAT-TRAINING")
    assert (flag["subject"]["id"], flag["laborer_id"], flag["raised_seq"]) == ("L-1", "L-1", paid)


def test_dup_repeat_training_more_than_three_paid_trainings_in_a_year(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.fund_of()
    months = ["03", "05", "07", "09"]
    for n, month in enumerate(months, start=1):
        sc.open_class(f"C-{n}", occupation=f"工种{n}", start=f"2019-{month}-04")
        sc.paid_claim(f"CL-{n}", f"C-{n}", [("L-1", 80000)], on=f"2019-{month}-10", value=f"2019-{month}-24")
        assert sc.flagged("DUP-REPEAT-TRAINING") == ([] if n <= 3 else [("L-1", "L-1")])

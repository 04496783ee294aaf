"""NET-*, SOD-* and TIME-* rules (RULES.md): networks, segregation of duties, timeliness — end to end on SQLite and PostgreSQL (``db_url``).

One or two tests per family, through the real ledger, the runner and the database; each also
checks that the in-memory projection of its log (``project_in_memory``, what the rule tests in
``tests/unit/rules/`` run on) gives the very rows the database holds. Every rule's raise, near
miss and withdrawal is tested in memory in ``tests/unit/rules/test_<family>.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.rules_builder import LA_FUND, RuleScenario


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[RuleScenario]:
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.memory_matches_database()
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

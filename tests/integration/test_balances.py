"""Balances from the postings (DESIGN §5) on SQLite and PostgreSQL: shape, filters, as-of."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from projections.db import engine_for
from projections.readmodels.balances import balances, claim_summary, institution_summary
from projections.readmodels.queries import AsOfOutOfRange
from projections.runner.catchup import catch_up
from support.scenario import Scenario

FUND = "F-2019-640422-training"


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    scenario = Scenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


def pay(sc: Scenario, payment_id: str, claim_id: str, amount: int, day: str = "2019-06-03") -> int:
    return sc.ok("fin-xj", "PaymentDisbursed", {
        "payment_id": payment_id, "claim_id": claim_id, "fund_id": FUND, "amount_fen": amount,
        "payee_account": "ab" * 32, "bank_reference": payment_id, "value_date": day})  # fmt: skip


def approve(sc: Scenario, claim_id: str, *lines: tuple[str, int]) -> int:
    body = {"claim_id": claim_id, "lines": [{"laborer_id": lid, "amount_fen": a} for lid, a in lines],
            "total_fen": sum(a for _, a in lines)}  # fmt: skip
    return sc.ok("hr-xj", "ClaimApproved", body)


def accounts(result: dict[str, Any]) -> dict[str, int]:
    return {a["account"]: a["balance_fen"] for a in result["accounts"]}


@pytest.fixture
def trail(sc: Scenario) -> dict[str, int]:
    """A class's money trail: allocation, claim, approval, payment, bank return, re-payment."""
    marks = {}
    for lid in ("L-1", "L-2"):
        sc.laborer(lid)
    sc.klass("C-1")
    marks["fund"] = sc.fund()
    marks["cut"] = sc.ok("fin-xj", "FundAdjusted", {"fund_id": FUND, "delta_fen": -1_000_000, "reason": "上级收回"})
    marks["claim"] = sc.claim("CL-1", "C-1", ["L-1", "L-2"])
    marks["approval"] = approve(sc, "CL-1", ("L-1", 150000), ("L-2", 150000))
    marks["paid"] = pay(sc, "P-1", "CL-1", 300000)
    marks["returned"] = sc.ok("fin-xj", "PaymentReturned", {"payment_id": "P-1", "reason": "账户冻结"})
    marks["repaid"] = pay(sc, "P-2", "CL-1", 300000, "2019-07-01")
    catch_up(sc.ledger)
    return marks


def test_the_json_has_the_documented_shape_and_the_trial_balance_is_zero(sc: Scenario, trail: dict[str, int]) -> None:
    result = balances(engine_for(sc.ledger))
    assert list(result) == ["as_of", "filters", "accounts", "totals", "summary", "trial_balance"]
    assert result["as_of"] == sc.ledger.size() - 1
    for account in result["accounts"]:
        assert list(account) == ["account", "debit_fen", "credit_fen", "balance_fen"]
        assert account["balance_fen"] == account["debit_fen"] - account["credit_fen"]
        assert all(type(account[k]) is int for k in ("debit_fen", "credit_fen", "balance_fen"))
    assert [a["account"] for a in result["accounts"]] == sorted(a["account"] for a in result["accounts"])
    assert result["trial_balance"] == {"total_fen": 0, "debit_fen": result["totals"]["debit_fen"],
                                       "credit_fen": result["totals"]["credit_fen"]}  # fmt: skip
    assert accounts(result) == {
        "fund:" + FUND: 50_000_000 - 1_000_000 - 300000,
        "source:central:640422": -50_000_000,
        "source:adjustment:640422": 1_000_000,
        "expense:training:640422": 300000,
        "payable:CL-1": 0,
    }
    assert result["summary"] == {
        "allocated_fen": 50_000_000, "adjusted_fen": -1_000_000, "fund_balance_fen": 48_700_000,
        "claimed_fen": 300000, "approved_fen": 300000, "paid_fen": 600000, "returned_fen": 300000,
        "recovered_fen": 0, "outstanding_fen": 0,
    }  # fmt: skip


def test_as_of_includes_leaves_up_to_that_seq(sc: Scenario, trail: dict[str, int]) -> None:
    engine = engine_for(sc.ledger)
    at_payment = balances(engine, as_of=trail["paid"])
    assert at_payment["as_of"] == trail["paid"]
    assert accounts(at_payment)["payable:CL-1"] == 0 and accounts(at_payment)["fund:" + FUND] == 48_700_000
    before = balances(engine, as_of=trail["paid"] - 1)
    assert accounts(before)["payable:CL-1"] == -300000  # approved, not yet paid
    returned = balances(engine, as_of=trail["returned"])
    assert accounts(returned)["payable:CL-1"] == -300000
    assert balances(engine, as_of=0)["accounts"] == []
    for as_of in range(sc.ledger.size()):
        assert balances(engine, as_of=as_of)["trial_balance"]["total_fen"] == 0
    with pytest.raises(AsOfOutOfRange):
        balances(engine, as_of=sc.ledger.size())
    with pytest.raises(AsOfOutOfRange):
        balances(engine, as_of=-1)


def test_filters_narrow_the_accounts_but_never_the_trial_balance(sc: Scenario, trail: dict[str, int]) -> None:
    engine = engine_for(sc.ledger)
    whole = balances(engine)
    by_claim = balances(engine, claim="CL-1")
    assert set(accounts(by_claim)) == {"expense:training:640422", "payable:CL-1", "fund:" + FUND}
    assert by_claim["trial_balance"] == whole["trial_balance"]
    assert by_claim["filters"] == {"claim": "CL-1"}
    assert by_claim["totals"]["balance_fen"] == 0  # an event's postings share its dimensions
    by_laborer = balances(engine, laborer="L-2")
    assert accounts(by_laborer) == {"expense:training:640422": 150000, "payable:CL-1": -150000}
    assert by_laborer["summary"]["claimed_fen"] == 150000
    july = balances(engine, period="2019-07")
    assert accounts(july) == {"payable:CL-1": 300000, "fund:" + FUND: -300000}
    assert balances(engine, fund=FUND)["summary"]["claimed_fen"] is None  # claims name no fund
    assert accounts(balances(engine, jurisdiction="640400")) == accounts(whole)  # the city covers its counties
    assert balances(engine, jurisdiction="640423")["accounts"] == []
    assert balances(engine, institution="inst-xj")["summary"]["paid_fen"] == 600000


def test_a_payment_without_approval_shows_as_a_debit_payable(sc: Scenario) -> None:
    sc.laborer("L-1")
    sc.klass("C-1")
    sc.fund()
    sc.claim("CL-1", "C-1", ["L-1"])
    pay(sc, "P-1", "CL-1", 150000)
    catch_up(sc.ledger)
    result = balances(engine_for(sc.ledger), claim="CL-1")
    assert accounts(result)["payable:CL-1"] == 150000
    assert claim_summary(engine_for(sc.ledger), "CL-1")["outstanding_fen"] == -150000


def test_rejection_and_re_approval_keep_the_payable_at_the_standing_approval(sc: Scenario) -> None:
    sc.laborer("L-1")
    sc.laborer("L-2")
    sc.klass("C-1")
    sc.claim("CL-1", "C-1", ["L-1", "L-2"])
    approve(sc, "CL-1", ("L-1", 150000), ("L-2", 150000))
    approve(sc, "CL-1", ("L-1", 150000))  # a second approval supersedes the first
    catch_up(sc.ledger)
    engine = engine_for(sc.ledger)
    assert accounts(balances(engine))["payable:CL-1"] == -150000
    sc.ok("hr-xj", "ClaimRejected", {"claim_id": "CL-1", "reason": "复核不合格"}, at="2019-04-02T10:00:00+08:00")
    catch_up(sc.ledger)
    assert accounts(balances(engine))["payable:CL-1"] == 0
    assert accounts(balances(engine))["expense:training:640422"] == 0
    assert claim_summary(engine, "CL-1") == {"as_of": sc.ledger.size() - 1, "claimed_fen": 300000,
                                             "approved_fen": 0, "paid_fen": 0, "returned_fen": 0,
                                             "recovered_fen": 0, "outstanding_fen": 0}  # fmt: skip


def test_recovery_settles_an_overpayment_and_then_reduces_the_expense(sc: Scenario) -> None:
    sc.laborer("L-1")
    sc.klass("C-1")
    sc.fund()
    sc.claim("CL-1", "C-1", ["L-1"])
    approve(sc, "CL-1", ("L-1", 100000))
    pay(sc, "P-1", "CL-1", 150000)
    sc.ok("fin-xj", "FundsRecovered", {"recovery_id": "R-1", "claim_id": "CL-1", "amount_fen": 80000, "reason": "多拨"})
    catch_up(sc.ledger)
    engine = engine_for(sc.ledger)
    result = accounts(balances(engine))
    assert result["recovered:CL-1"] == 80000
    assert result["payable:CL-1"] == 0  # the 50,000 overpaid is settled …
    assert result["expense:training:640422"] == 100000 - 30000  # … and 30,000 undoes recognised subsidy
    assert institution_summary(engine, "inst-xj")["recovered_fen"] == 80000


def test_an_empty_projection_answers_with_no_accounts(sc: Scenario) -> None:
    result = balances(engine_for(sc.ledger))  # nothing projected yet
    assert result["as_of"] is None and result["accounts"] == []
    assert result["trial_balance"] == {"total_fen": 0, "debit_fen": 0, "credit_fen": 0}

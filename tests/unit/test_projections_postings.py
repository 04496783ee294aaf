"""The posting rules (projections.readmodels.postings): every money event posts balanced entries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.readmodels import postings as P

fen = st.integers(0, 2**53 - 1)
ids = st.from_regex(r"[A-Za-z0-9._:-]{1,16}", fullmatch=True)


def sides(entries: list[P.Entry]) -> dict[str, int]:
    """Account → debit − credit."""
    out: dict[str, int] = {}
    for e in entries:
        out[e.account] = out.get(e.account, 0) + e.debit_fen - e.credit_fen
    return out


def test_allocation_debits_the_fund_and_credits_its_source() -> None:
    entries = P.allocation("F-2019-640422-training", "central", "640422", 50_000_000)
    assert sides(entries) == {"fund:F-2019-640422-training": 50_000_000, "source:central:640422": -50_000_000}


def test_a_negative_adjustment_moves_money_back_to_the_adjustment_source() -> None:
    entries = P.adjustment("F-1", "640422", -300)
    assert sides(entries) == {"fund:F-1": -300, "source:adjustment:640422": 300}
    assert all(e.debit_fen >= 0 and e.credit_fen >= 0 for e in entries)


def test_approval_posts_one_pair_per_line_naming_the_labourer() -> None:
    entries = P.approval("C-1", "training", "640422", [("L-1", 150000), ("L-2", 80000), ("L-3", 0)])
    assert sides(entries) == {"expense:training:640422": 230000, "payable:C-1": -230000}
    assert [e.laborer_id for e in entries] == ["L-1", "L-1", "L-2", "L-2"]  # a zero line posts nothing


def test_approval_reversal_undoes_the_approval() -> None:
    lines = [("L-1", 150000), ("L-2", 80000)]
    both = P.approval("C-1", "training", "640422", lines) + P.approval_reversal("C-1", "training", "640422", lines)
    assert set(sides(both).values()) == {0}


def test_payment_settles_the_payable_from_the_fund_and_a_return_reverses_it() -> None:
    paid = P.payment("C-1", "F-1", 150000)
    assert sides(paid) == {"payable:C-1": 150000, "fund:F-1": -150000}
    assert set(sides(paid + P.payment_return("C-1", "F-1", 150000)).values()) == {0}


def test_a_payment_without_approval_leaves_the_payable_in_debit() -> None:
    assert sides(P.payment("C-1", "F-1", 150000))["payable:C-1"] > 0  # what FIN-OVERPAID reads


def test_recovery_settles_an_overpayment_first_then_reduces_the_expense() -> None:
    entries = P.recovery("C-1", "training", "640422", 200000, overpaid=150000)
    assert sides(entries) == {"recovered:C-1": 200000, "payable:C-1": -150000, "expense:training:640422": -50000}


def test_recovery_of_an_approved_and_paid_claim_reduces_the_expense_only() -> None:
    entries = P.recovery("C-1", "training", "640422", 150000, overpaid=0)
    assert sides(entries) == {"recovered:C-1": 150000, "expense:training:640422": -150000}


def test_zero_amounts_post_nothing() -> None:
    assert P.allocation("F", "city", "640400", 0) == []
    assert P.adjustment("F", "640400", 0) == []
    assert P.payment("C", "F", 0) == []
    assert P.recovery("C", "training", "640400", 0, overpaid=5) == []


def test_unbalanced_or_negative_entries_are_detected() -> None:
    assert not P.is_balanced([P.Entry("fund:F", debit_fen=1)])
    assert not P.is_balanced([P.Entry("fund:F", debit_fen=-1), P.Entry("fund:G", credit_fen=-1)])


@given(fund_id=ids, claim_id=ids, amount=fen, delta=st.integers(-(2**53 - 1), 2**53 - 1), overpaid=st.integers(-(10**12), 10**12),
       lines=st.lists(st.tuples(ids, fen), max_size=5))  # fmt: skip
def test_every_rule_is_balanced_with_non_negative_sides(fund_id: str, claim_id: str, amount: int, delta: int,
                                                        overpaid: int, lines: list[tuple[str, int]]) -> None:  # fmt: skip
    for entries in (
        P.allocation(fund_id, "region", "640400", amount),
        P.adjustment(fund_id, "640400", delta),
        P.approval(claim_id, "employer", "640425", lines),
        P.approval_reversal(claim_id, "employer", "640425", lines),
        P.payment(claim_id, fund_id, amount),
        P.payment_return(claim_id, fund_id, amount),
        P.recovery(claim_id, "appraisal", "640423", amount, overpaid),
    ):
        assert P.is_balanced(entries)
        assert all(e.account.split(":", 1)[0] in ("fund", "source", "expense", "payable", "recovered") for e in entries)

"""The matcher of DESIGN §10 on hand-built statement lines and payments: every expected status is
written here by hand, never computed by the code under test.

Accounts are fingerprinted by a fake (``fp:`` + digits): the real HMAC needs the pepper, which only
the ledger service holds; the end-to-end tests (tests/e2e/test_cli_reconcile.py) use the real one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from ledger.domain.schema import ReconciliationRecorded, screen_personal_data
from projections.reconciliation.matching import Matching, Payment, PaymentList, match, memo_tokens
from projections.reconciliation.result import (
    EXCEPTION_STATUSES,
    MAX_EXCEPTIONS,
    STATUSES,
    document,
    exceptions_of,
    reconciliation_id,
    recorded_body,
)

PERIOD = "2024-05"
SHA = "5" * 64
ALICE, BOB, CAROL = "6222 0000 0000 1111", "6222000000002222", "6222-0000-0000-3333"


@dataclass(frozen=True)
class Line:
    """A statement line as the reader gives it (the fields of ``statement.StatementLine``)."""

    line: int
    value_date: dt.date | None
    reference: str | None
    account: str | None
    debit_fen: int = 0
    credit_fen: int = 0
    memo: str = ""
    skipped: bool = False


def fp(account: str) -> str | None:
    digits = "".join(ch for ch in account if ch.isdigit())
    return f"fp:{digits}" if digits else None


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


def debit(n: int, day: str, ref: str | None, account: str | None, fen: int) -> Line:
    return Line(n, d(day), ref, account, debit_fen=fen)


def credit(n: int, day: str, ref: str | None, account: str | None, fen: int, memo: str = "") -> Line:
    return Line(n, d(day), ref, account, credit_fen=fen, memo=memo)


def pay(pid: str, day: str, ref: str, account: str, fen: int, *, returned: bool = False) -> Payment:
    payee = fp(account)
    assert payee is not None
    return Payment(pid, f"C-{pid}", "F-1", fen, payee, ref, d(day), returned)


def run(lines: list[Line], payments: list[Payment], window: int = 3) -> Matching:
    return match(lines, PaymentList(payments), period=PERIOD, window=window, fingerprint=fp)


def statuses(m: Matching) -> dict[int, tuple[str, str | None, str | None]]:
    return {o.line.line: (o.status, o.method, o.payment and o.payment.payment_id) for o in m.lines}


def unmatched(m: Matching) -> list[str]:
    return [p.payment_id for p in m.unmatched_payments]


# --- step 1: by reference -------------------------------------------------------------------------------
def test_a_line_agreeing_in_reference_amount_payee_and_date_is_matched_by_reference() -> None:
    m = run([debit(2, "2024-05-10", "R1", ALICE, 150000)], [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: ("matched", "reference", "P1")}
    assert unmatched(m) == []


@pytest.mark.parametrize(("line", "status"), [
    (debit(2, "2024-05-10", "R1", ALICE, 150001), "amount_mismatch"),  # 0.01 yuan more
    (debit(2, "2024-05-10", "R1", BOB, 150000), "payee_mismatch"),
    (debit(2, "2024-05-10", "R1", None, 150000), "payee_mismatch"),  # no account on the line
    (debit(2, "2024-05-14", "R1", ALICE, 150000), "date_mismatch"),  # 4 days after
    (debit(2, "2024-05-06", "R1", ALICE, 150000), "date_mismatch"),  # 4 days before
    (debit(2, "2024-05-14", "R1", BOB, 149999), "amount_mismatch"),  # the first failing status wins
    (debit(2, "2024-05-14", "R1", BOB, 150000), "payee_mismatch"),
])  # fmt: skip
def test_a_line_disagreeing_with_the_payment_of_its_reference_takes_the_first_failing_status(line: Line, status: str) -> None:
    m = run([line], [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: (status, "reference", "P1")}
    assert unmatched(m) == []  # the mismatched line used the payment


@pytest.mark.parametrize("day", ["2024-05-07", "2024-05-13"])
def test_three_days_apart_is_within_the_window(day: str) -> None:
    m = run([debit(2, day, "R1", ALICE, 150000)], [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: ("matched", "reference", "P1")}


def test_the_window_is_the_date_window_option() -> None:
    line, payment = debit(2, "2024-05-13", "R1", ALICE, 150000), pay("P1", "2024-05-10", "R1", ALICE, 150000)
    assert statuses(run([line], [payment], window=2)) == {2: ("date_mismatch", "reference", "P1")}
    assert statuses(run([line], [payment], window=0)) == {2: ("date_mismatch", "reference", "P1")}


def test_every_other_line_of_a_reference_is_a_duplicate_bank_line() -> None:
    lines = [debit(2, "2024-05-10", "R1", ALICE, 150000), debit(3, "2024-05-10", "R1", ALICE, 150000),
             debit(4, "2024-05-11", "R1", ALICE, 150000)]  # fmt: skip
    m = run(lines, [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: ("matched", "reference", "P1"), 3: ("duplicate_bank", "reference", None),
                           4: ("duplicate_bank", "reference", None)}  # fmt: skip


def test_the_first_agreeing_line_of_a_reused_reference_is_matched_and_the_earlier_one_is_a_duplicate() -> None:
    lines = [debit(2, "2024-05-10", "R1", ALICE, 99900), debit(5, "2024-05-11", "R1", ALICE, 150000)]
    m = run(lines, [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: ("duplicate_bank", "reference", None), 5: ("matched", "reference", "P1")}


def test_when_no_line_agrees_the_first_line_takes_the_nearest_payment_and_the_rest_are_duplicates() -> None:
    lines = [debit(2, "2024-05-20", "R1", ALICE, 99900), debit(3, "2024-05-10", "R1", ALICE, 99900)]
    payments = [pay("P1", "2024-05-10", "R1", ALICE, 150000), pay("P2", "2024-05-19", "R1", ALICE, 150000)]
    m = run(lines, payments)
    assert statuses(m) == {2: ("amount_mismatch", "reference", "P2"), 3: ("duplicate_bank", "reference", None)}
    assert unmatched(m) == ["P1"]


def test_a_reference_shared_by_two_agreeing_payments_takes_the_nearest_then_the_lower_id() -> None:
    payments = [pay("P9", "2024-05-09", "R1", ALICE, 150000), pay("P3", "2024-05-11", "R1", ALICE, 150000),
                pay("P5", "2024-05-12", "R1", ALICE, 150000)]  # fmt: skip
    m = run([debit(2, "2024-05-10", "R1", ALICE, 150000)], payments)
    assert statuses(m) == {2: ("matched", "reference", "P3")}  # P9 and P3 both 1 day away: the lower id
    assert unmatched(m) == ["P9", "P5"]  # by value date


def test_a_reference_reused_from_an_earlier_month_is_no_candidate_so_the_line_goes_to_step_two() -> None:
    payments = [pay("P-MAR", "2024-03-10", "R1", ALICE, 150000), pay("P-MAY", "2024-05-10", "X-7", ALICE, 150000)]
    m = run([debit(2, "2024-05-10", "R1", ALICE, 150000)], payments)
    assert statuses(m) == {2: ("matched", "amount_payee_date", "P-MAY")}


# --- step 2: by amount and payee -----------------------------------------------------------------------------
def test_a_line_without_reference_matches_the_one_payment_of_its_amount_and_payee_in_the_window() -> None:
    payments = [pay("P1", "2024-05-10", "R1", ALICE, 150000), pay("P2", "2024-05-10", "R2", BOB, 150000)]
    m = run([debit(2, "2024-05-13", None, BOB, 150000)], payments)
    assert statuses(m) == {2: ("matched", "amount_payee_date", "P2")}
    assert unmatched(m) == ["P1"]


def test_step_two_window_edges() -> None:
    payments = [pay("P1", "2024-05-10", "R1", ALICE, 150000)]
    assert statuses(run([debit(2, "2024-05-07", None, ALICE, 150000)], payments))[2][0] == "matched"
    m = run([debit(2, "2024-05-14", None, ALICE, 150000)], payments)
    assert statuses(m) == {2: ("unmatched_bank", None, None)}
    assert unmatched(m) == ["P1"]


def test_several_equal_payments_to_one_payee_make_the_line_ambiguous_and_use_none() -> None:
    payments = [pay("P2", "2024-05-10", "R2", ALICE, 150000), pay("P1", "2024-05-11", "R1", ALICE, 150000)]
    m = run([debit(2, "2024-05-10", "BANK-9", ALICE, 150000)], payments)
    assert statuses(m) == {2: ("ambiguous", "amount_payee_date", None)}
    assert m.lines[0].candidates == ("P1", "P2")
    assert unmatched(m) == ["P2", "P1"]


def test_a_payment_used_by_reference_is_not_a_candidate_for_a_later_line() -> None:
    payments = [pay("P1", "2024-05-10", "R1", ALICE, 150000), pay("P2", "2024-05-11", "R2", ALICE, 150000)]
    lines = [debit(2, "2024-05-10", None, ALICE, 150000), debit(3, "2024-05-10", "R1", ALICE, 150000)]
    m = run(lines, payments)  # step 1 runs first over all lines: line 3 takes P1, line 2 then fits P2 alone
    assert statuses(m) == {2: ("matched", "amount_payee_date", "P2"), 3: ("matched", "reference", "P1")}


def test_a_debit_with_no_payment_is_unmatched_bank() -> None:
    m = run([debit(2, "2024-05-10", "R404", CAROL, 880000)], [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: ("unmatched_bank", None, None)}
    assert unmatched(m) == ["P1"]


# --- step 3: credits -------------------------------------------------------------------------------------
def test_a_return_whose_memo_carries_the_reference_is_return_matched_when_recorded() -> None:
    payments = [pay("P1", "2024-04-02", "XJ0001", ALICE, 150000, returned=True)]
    m = run([credit(2, "2024-05-03", "BK77", ALICE, 150000, "退汇 原流水号XJ0001，户名不符")], payments)
    assert statuses(m) == {2: ("return_matched", "memo_reference", "P1")}


def test_a_return_whose_memo_carries_the_reference_is_return_not_recorded_without_payment_returned() -> None:
    payments = [pay("P1", "2023-11-02", "XJ0001", ALICE, 150000)]  # any month: months earlier
    m = run([credit(2, "2024-05-03", None, None, 150000, "REFUND XJ0001")], payments)
    assert statuses(m) == {2: ("return_not_recorded", "memo_reference", "P1")}


def test_a_memo_naming_a_reused_reference_returns_the_payment_of_its_amount_and_payee() -> None:
    payments = [pay("P-MAR", "2024-03-05", "XJ0001", ALICE, 150000), pay("P-APR", "2024-04-05", "XJ0001", BOB, 90000),
                pay("P-MAY", "2024-05-02", "XJ0001", BOB, 80000, returned=True)]  # fmt: skip
    lines = [credit(2, "2024-05-06", None, BOB, 80000, "退汇XJ0001"), credit(3, "2024-05-07", None, BOB, 90000, "退汇XJ0001")]
    m = run(lines, payments)
    assert statuses(m) == {2: ("return_matched", "memo_reference", "P-MAY"), 3: ("return_not_recorded", "memo_reference", "P-APR")}


def test_a_memo_reference_counts_only_as_a_whole_token() -> None:
    assert "XJ0001" in memo_tokens("退回XJ0001。") and "XJ0001" in memo_tokens("XJ0001")
    assert "XJ0001" not in memo_tokens("XJ00012") and "XJ0001" not in memo_tokens("AXJ0001")
    assert "GKZF-P-1" in memo_tokens("退回 GKZF-P-1 款项")
    payments = [pay("P1", "2024-04-02", "XJ0001", ALICE, 150000)]
    m = run([credit(2, "2024-05-03", None, None, 150000, "利息 XJ00012")], payments)
    assert statuses(m) == {2: ("credit_other", None, None)}


def test_a_return_without_reference_matches_the_single_payment_of_its_amount_and_payee_within_60_days() -> None:
    payments = [pay("P1", "2024-03-20", "R1", ALICE, 150000, returned=True), pay("P2", "2024-03-20", "R2", BOB, 150000)]
    m = run([credit(2, "2024-05-19", None, ALICE, 150000, "退汇"), credit(3, "2024-05-19", None, BOB, 150000)], payments)
    assert statuses(m) == {2: ("return_matched", "amount_payee", "P1"), 3: ("return_not_recorded", "amount_payee", "P2")}


def test_a_return_without_reference_61_days_later_or_fitting_two_payments_is_credit_other() -> None:
    late = [pay("P1", "2024-03-19", "R1", ALICE, 150000)]
    assert statuses(run([credit(2, "2024-05-19", None, ALICE, 150000)], late)) == {2: ("credit_other", None, None)}
    twins = [pay("P1", "2024-05-02", "R1", ALICE, 150000), pay("P2", "2024-05-03", "R2", ALICE, 150000)]
    m = run([credit(2, "2024-05-19", None, ALICE, 150000)], twins)
    assert statuses(m) == {2: ("credit_other", None, None)}


def test_a_payment_matched_by_its_debit_can_come_back_in_the_same_statement() -> None:
    payments = [pay("P1", "2024-05-10", "R1", ALICE, 150000)]
    lines = [debit(2, "2024-05-10", "R1", ALICE, 150000), credit(3, "2024-05-15", "BK1", ALICE, 150000, "退回 R1")]
    m = run(lines, payments)
    assert statuses(m) == {2: ("matched", "reference", "P1"), 3: ("return_not_recorded", "memo_reference", "P1")}


def test_an_allocation_or_interest_is_credit_other() -> None:
    m = run([credit(2, "2024-05-21", "BK2", None, 1234, "结息")], [pay("P1", "2024-05-10", "R1", ALICE, 150000)])
    assert statuses(m) == {2: ("credit_other", None, None)}


# --- step 4 and the whole result ---------------------------------------------------------------------------
def test_only_unused_payments_dated_in_the_period_are_unmatched_ledger() -> None:
    payments = [pay("P-APR", "2024-04-29", "R0", ALICE, 1000), pay("P-MAY", "2024-05-31", "R1", ALICE, 2000),
                pay("P-JUN", "2024-06-02", "R2", ALICE, 3000)]  # fmt: skip
    assert unmatched(run([], payments)) == ["P-MAY"]


def test_the_document_lists_every_status_and_skipped_and_the_exceptions_most_serious_first() -> None:
    lines = [
        Line(1, None, None, None, skipped=True),
        debit(2, "2024-05-10", "R1", ALICE, 150000),  # matched
        debit(3, "2024-05-10", "R2", BOB, 150001),  # amount_mismatch
        debit(4, "2024-05-10", "R404", CAROL, 880000),  # unmatched_bank
        credit(5, "2024-05-21", "BK2", None, 1234, "结息"),  # credit_other
        Line(6, None, None, None, skipped=True),
    ]
    payments = [pay("P1", "2024-05-10", "R1", ALICE, 150000), pay("P2", "2024-05-10", "R2", BOB, 150000),
                pay("P3", "2024-05-12", "R3", CAROL, 70000)]  # fmt: skip
    result = document(run(lines, payments), actor="fin-1", period=PERIOD, funds=["F-2", "F-1", "F-2"], date_window=3,
                      as_of=41, statement_sha256=SHA)  # fmt: skip
    assert list(result["summary"]) == list(STATUSES)  # type: ignore[arg-type]
    assert result["summary"] == {"unmatched_bank": 1, "duplicate_bank": 0, "payee_mismatch": 0, "amount_mismatch": 1,
                                 "unmatched_ledger": 1, "return_not_recorded": 0, "date_mismatch": 0, "ambiguous": 0,
                                 "return_matched": 0, "credit_other": 1, "matched": 1, "skipped": 2}  # fmt: skip
    assert result["funds"] == ["F-1", "F-2"]
    assert result["lines"] == [
        {"line": 2, "status": "matched", "method": "reference", "payment_id": "P1", "claim_id": "C-P1",
         "bank_reference": "R1", "amount_fen": 150000, "ledger_amount_fen": 150000, "value_date": "2024-05-10",
         "account_tail": "1111"},
        {"line": 3, "status": "amount_mismatch", "method": "reference", "payment_id": "P2", "claim_id": "C-P2",
         "bank_reference": "R2", "amount_fen": 150001, "ledger_amount_fen": 150000, "value_date": "2024-05-10",
         "account_tail": "2222"},
        {"line": 4, "status": "unmatched_bank", "bank_reference": "R404", "amount_fen": 880000,
         "value_date": "2024-05-10", "account_tail": "3333"},
        {"line": 5, "status": "credit_other", "bank_reference": "BK2", "amount_fen": 1234, "value_date": "2024-05-21"},
    ]  # fmt: skip
    assert result["unmatched_payments"] == [
        {"payment_id": "P3", "claim_id": "C-P3", "bank_reference": "R3", "amount_fen": 70000, "value_date": "2024-05-12"}]  # fmt: skip
    expected = [
        {"status": "unmatched_bank", "bank_reference": "R404", "amount_fen": 880000, "value_date": "2024-05-10"},
        {"status": "amount_mismatch", "payment_id": "P2", "bank_reference": "R2", "amount_fen": 150001,
         "value_date": "2024-05-10"},
        {"status": "unmatched_ledger", "payment_id": "P3", "bank_reference": "R3", "amount_fen": 70000,
         "value_date": "2024-05-12"},
    ]  # fmt: skip
    assert result["reconciliation_id"] == reconciliation_id("fin-1", PERIOD, ["F-1", "F-2"], SHA, expected)
    body = recorded_body(result)
    assert body == {"reconciliation_id": result["reconciliation_id"], "period": PERIOD, "statement_sha256": SHA,
                    "matched": 1, "unmatched_ledger": 1, "unmatched_bank": 1, "mismatched": 1,
                    "counts": result["summary"], "exceptions": expected, "exceptions_total": 3,
                    "funds": ["F-1", "F-2"]}  # fmt: skip
    ReconciliationRecorded.model_validate(body)  # the event's schema takes it as is


def test_the_reconciliation_id_is_derived_from_the_outcome() -> None:
    one = [{"status": "unmatched_bank", "amount_fen": 1, "value_date": "2024-05-10"}]
    rid = reconciliation_id("fin-1", PERIOD, None, SHA, one)
    assert rid.startswith("R-2024-05-") and len(rid) == len("R-2024-05-") + 16
    assert rid == reconciliation_id("fin-1", PERIOD, None, SHA, [dict(one[0])])
    assert rid != reconciliation_id("fin-1", PERIOD, None, SHA, [])
    assert rid != reconciliation_id("fin-1", PERIOD, [], SHA, one)
    assert rid != reconciliation_id("fin-2", PERIOD, None, SHA, one)


def test_exceptions_are_cut_at_400_the_most_serious_kept() -> None:
    lines = [{"line": n, "status": "date_mismatch", "amount_fen": n, "value_date": "2024-05-10"} for n in range(2, 402)]
    lines.append({"line": 402, "status": "unmatched_bank", "amount_fen": 9, "value_date": "2024-05-11"})
    lines.append({"line": 403, "status": "matched", "amount_fen": 9, "value_date": "2024-05-11"})
    unused = [{"payment_id": "P1", "claim_id": "C1", "bank_reference": "R", "amount_fen": 5, "value_date": "2024-05-01"}]
    kept, total = exceptions_of(lines, unused)  # type: ignore[arg-type]
    assert total == 402 and len(kept) == MAX_EXCEPTIONS
    assert [e["status"] for e in kept[:3]] == ["unmatched_bank", "unmatched_ledger", "date_mismatch"]
    assert kept[-1]["amount_fen"] == 399  # date mismatches in line order, the last two cut


def test_the_statuses_are_the_events_and_the_exceptions_exclude_the_clear_ones() -> None:
    assert len(STATUSES) == 12
    assert set(STATUSES) - set(EXCEPTION_STATUSES) == {"matched", "return_matched", "credit_other", "skipped"}


def test_a_bank_reference_the_log_would_refuse_is_left_out_of_the_exception_not_the_reconciliation() -> None:
    id_like, long = "11010519491231002X", "R" * 65  # an ID number's shape (EVENTS.md screens for it); too long
    lines = [debit(2, "2024-05-10", id_like, CAROL, 100), debit(3, "2024-05-10", long, CAROL, 200),
             debit(4, "2024-05-10", "BK-4", CAROL, 300)]  # fmt: skip
    result = document(run(lines, []), actor="fin-1", period=PERIOD, funds=None, date_window=3, as_of=1,
                      statement_sha256=SHA)  # fmt: skip
    assert [x.get("bank_reference") for x in result["lines"]] == [id_like, long, "BK-4"]  # type: ignore[union-attr]
    body = recorded_body(result)
    assert [e.get("bank_reference") for e in body["exceptions"]] == [None, None, "BK-4"]  # type: ignore[union-attr]
    ReconciliationRecorded.model_validate(body)
    screen_personal_data("ReconciliationRecorded", body)

"""The chart of accounts and the posting rules: which balanced entries each money event makes.

Pure functions (no database): each returns the entries of one event, debits equal to credits,
so the trial balance of any prefix of the log is zero by construction (DESIGN §5). Amounts are
integer fen; an entry never has a negative side — a negative amount swaps the sides.

Accounts are ``kind:key`` paths. ``balance_fen`` = debit − credit, so asset and expense
accounts normally show a positive balance and funding sources and payables a negative one:

=============================  ============================================================
``fund:<fund_id>``             专项资金 money in a special fund (asset)
``source:<src>:<juris>``       资金来源 where the money came from: central / region / city /
                               county, and ``adjustment`` for FundAdjusted (funding)
``expense:<kind>:<juris>``     补贴支出 subsidies recognised, by claim kind and the claim's
                               jurisdiction (expense)
``payable:<claim_id>``         应付补贴 approved and not yet paid (liability); a *positive*
                               balance means paid beyond the approval — what FIN-OVERPAID and
                               SEQ-PAID-WITHOUT-APPROVAL look at
``recovered:<claim_id>``       追回资金 money recovered from the claimant, held apart because
                               FundsRecovered names no fund (asset)
=============================  ============================================================

Rules (docs/projections.md shows them with examples):

* FundAllocated   Dr fund:F                 Cr source:<source>:<fund's jurisdiction>
* FundAdjusted    Dr fund:F                 Cr source:adjustment:<juris>   (swapped if < 0)
* ClaimApproved   Dr expense:<kind>:<juris> Cr payable:C   one pair per approved line
  — a later approval, a rejection or a withdrawal first *reverses* the approval the payable
  carries (Dr payable / Cr expense), so the payable always holds the claim's standing approval.
* PaymentDisbursed Dr payable:C             Cr fund:F
* PaymentReturned  Dr fund:F                Cr payable:C   (reverses its payment, once)
* FundsRecovered   Dr recovered:C           Cr payable:C  up to what was overpaid (the payable's
  debit balance), Cr expense:<kind>:<juris> for the rest — recovered money first settles what
  the claimant owed back, and beyond that it undoes subsidy that was recognised (a fraudulent
  claim approved and paid, then clawed back, leaves payable 0 and the expense reduced).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ADJUSTMENT_SOURCE = "adjustment"


@dataclass(frozen=True)
class Entry:
    """One posting line: an account and one side; ``laborer_id`` when a line names one."""

    account: str
    debit_fen: int = 0
    credit_fen: int = 0
    laborer_id: str | None = None


# --- the chart of accounts ---------------------------------------------------------------------
def fund(fund_id: str) -> str:
    return f"fund:{fund_id}"


def source(src: str, jurisdiction: str) -> str:
    return f"source:{src}:{jurisdiction}"


def expense(kind: str, jurisdiction: str | None) -> str:
    return f"expense:{kind}:{jurisdiction or 'unknown'}"


def payable(claim_id: str) -> str:
    return f"payable:{claim_id}"


def recovered(claim_id: str) -> str:
    return f"recovered:{claim_id}"


def transfer(debit: str, credit: str, amount: int, laborer_id: str | None = None) -> list[Entry]:
    """Move ``amount`` from ``credit`` to ``debit``; a negative amount moves it back; 0 is nothing."""
    if amount == 0:
        return []
    if amount < 0:
        debit, credit, amount = credit, debit, -amount
    return [Entry(debit, debit_fen=amount, laborer_id=laborer_id),
            Entry(credit, credit_fen=amount, laborer_id=laborer_id)]  # fmt: skip


# --- the rules ----------------------------------------------------------------------------------
def allocation(fund_id: str, src: str, jurisdiction: str, amount: int) -> list[Entry]:
    return transfer(fund(fund_id), source(src, jurisdiction), amount)


def adjustment(fund_id: str, jurisdiction: str, delta: int) -> list[Entry]:
    return transfer(fund(fund_id), source(ADJUSTMENT_SOURCE, jurisdiction), delta)


def approval(claim_id: str, kind: str, jurisdiction: str | None,
             lines: Iterable[tuple[str, int]]) -> list[Entry]:  # fmt: skip
    out: list[Entry] = []
    for laborer_id, amount in lines:
        out += transfer(expense(kind, jurisdiction), payable(claim_id), amount, laborer_id)
    return out


def approval_reversal(claim_id: str, kind: str, jurisdiction: str | None,
                      lines: Iterable[tuple[str, int]]) -> list[Entry]:  # fmt: skip
    out: list[Entry] = []
    for laborer_id, amount in lines:
        out += transfer(payable(claim_id), expense(kind, jurisdiction), amount, laborer_id)
    return out


def payment(claim_id: str, fund_id: str, amount: int, laborer_id: str | None = None) -> list[Entry]:
    return transfer(payable(claim_id), fund(fund_id), amount, laborer_id)


def payment_return(claim_id: str, fund_id: str, amount: int, laborer_id: str | None = None) -> list[Entry]:
    return transfer(fund(fund_id), payable(claim_id), amount, laborer_id)


def recovery(claim_id: str, kind: str, jurisdiction: str | None, amount: int, overpaid: int,
             laborer_id: str | None = None) -> list[Entry]:  # fmt: skip
    """``overpaid``: the payable's debit balance before the recovery (paid beyond approval)."""
    if amount <= 0:
        return []
    settles = min(amount, max(overpaid, 0))
    out = [Entry(recovered(claim_id), debit_fen=amount, laborer_id=laborer_id)]
    if settles:
        out.append(Entry(payable(claim_id), credit_fen=settles, laborer_id=laborer_id))
    if amount - settles:
        out.append(Entry(expense(kind, jurisdiction), credit_fen=amount - settles, laborer_id=laborer_id))
    return out


def is_balanced(entries: Iterable[Entry]) -> bool:
    debit = credit = 0
    for e in entries:
        if e.debit_fen < 0 or e.credit_fen < 0:
            return False
        debit += e.debit_fen
        credit += e.credit_fen
    return debit == credit

"""Bank statement lines against a finance bureau's payments, in DESIGN §10's order.

1. *By reference*: per reference shared by debit lines and candidate payments, the first line that
   agrees in amount, payee and date with one of its payments is ``matched``; if none agrees, the
   first line takes the first failing status against the nearest payment; the reference's other
   debit lines are ``duplicate_bank``.
2. *By amount and payee*: each debit line left matches the one unused candidate of its amount and
   payee within the window; several are ``ambiguous``, none ``unmatched_bank``.
3. *Credits*: a return of a payment named in the memo, else of the single payment of its amount and
   payee dated up to 60 days before — ``return_matched`` when the ledger has recorded the return,
   ``return_not_recorded`` otherwise; any other money in is ``credit_other``.
4. Candidates dated in the period and still unused are ``unmatched_ledger``.

The matcher is pure: the payments come through :class:`PaymentBook` (the projections' table in
:mod:`.payments`, a list in tests) and account numbers through a fingerprint function, since only
the ledger service holds the pepper (DESIGN §7).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, Protocol

from ledger.domain.schema import ReconStatus

RETURN_DAYS: Final = 60  # DESIGN §10: a return by amount and payee is of a payment at most 60 days before it
MAX_REFERENCE: Final = 64  # EVENTS.md: a bank_reference has at most 64 characters
_LATIN_OR_DIGIT: Final = re.compile(r"[A-Za-z0-9]")

Method = Literal["reference", "amount_payee_date", "memo_reference", "amount_payee"]


class Line(Protocol):
    """What the matcher reads of a statement line (:class:`.statement.StatementLine`)."""

    @property
    def line(self) -> int: ...
    @property
    def value_date(self) -> dt.date | None: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def account(self) -> str | None: ...
    @property
    def debit_fen(self) -> int: ...
    @property
    def credit_fen(self) -> int: ...
    @property
    def memo(self) -> str: ...
    @property
    def skipped(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Payment:
    """A ``PaymentDisbursed`` of the bureau as of the reconciliation's leaf; ``returned`` when its
    ``PaymentReturned`` is recorded by then."""

    payment_id: str
    claim_id: str
    fund_id: str
    amount_fen: int
    payee_account: str
    bank_reference: str
    value_date: dt.date
    returned: bool = False


class PaymentBook(Protocol):
    """The bureau's payments (of the named funds, as of the reconciliation's leaf)."""

    def dated(self, start: dt.date, end: dt.date) -> Iterable[Payment]:
        """Those whose value date lies in ``start``..``end``, both included."""
        ...

    def with_references(self, references: Collection[str]) -> Iterable[Payment]:
        """Those whose bank reference is one of ``references``, of any date."""
        ...


@dataclass(frozen=True, slots=True)
class PaymentList:
    """A :class:`PaymentBook` held in memory (tests; the simulator's own statements)."""

    payments: Sequence[Payment]

    def dated(self, start: dt.date, end: dt.date) -> Iterator[Payment]:
        return (p for p in self.payments if start <= p.value_date <= end)

    def with_references(self, references: Collection[str]) -> Iterator[Payment]:
        wanted = set(references)
        return (p for p in self.payments if p.bank_reference in wanted)


class LineOutcome(NamedTuple):
    """What became of one statement line (skipped lines included). A tuple: a statement of
    100,000 lines makes as many, and a frozen dataclass costs three times as much to build."""

    line: Line
    status: ReconStatus
    method: Method | None = None
    payment: Payment | None = None
    candidates: tuple[str, ...] = ()  # ambiguous: the payments it fits equally

    @property
    def amount_fen(self) -> int:
        return self.line.debit_fen or self.line.credit_fen


@dataclass(frozen=True, slots=True)
class Matching:
    """Every line's outcome by line number, and the payments dated in the period left unused."""

    lines: list[LineOutcome]
    unmatched_payments: list[Payment]


def period_dates(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``YYYY-MM``."""
    year, month = int(period[:4]), int(period[5:7])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def account_tail(account: str | None) -> str | None:
    """The last four digits of an account number: all a result ever shows of it (DESIGN §10)."""
    if not account:
        return None
    digits = account if account.isdigit() else "".join(ch for ch in account if ch.isdigit())
    return digits[-4:] or None


def memo_tokens(memo: str) -> set[str]:
    """Every part of ``memo`` that could be a reference written in it as a token: no Latin letter
    or digit right before or after it (DESIGN §10), at most :data:`MAX_REFERENCE` characters."""
    size = len(memo)
    starts = [i for i in range(size) if i == 0 or not _LATIN_OR_DIGIT.match(memo[i - 1])]
    ends = {j for j in range(1, size + 1) if j == size or not _LATIN_OR_DIGIT.match(memo[j])}
    found = set()
    for i in starts:
        for j in range(i + 1, min(i + MAX_REFERENCE, size) + 1):
            if j in ends and not memo[i].isspace() and not memo[j - 1].isspace():
                found.add(memo[i:j])
    return found


def match(lines: Iterable[Line], book: PaymentBook, *, period: str, window: int,
          fingerprint: Callable[[str], str | None]) -> Matching:  # fmt: skip
    """Match a statement's lines (in line-number order) against ``book`` (DESIGN §10 steps 1–4).

    ``fingerprint`` turns an account number into its ``payee_account`` (None when it has no
    digits); each distinct account is fingerprinted once.
    """
    first, last = period_dates(period)
    start, end = first - dt.timedelta(days=window), last + dt.timedelta(days=window)
    return _Matcher(sorted(lines, key=lambda x: x.line), book, start, end, window, fingerprint).run(first, last)


class _Matcher:
    def __init__(self, lines: list[Line], book: PaymentBook, start: dt.date, end: dt.date, window: int,
                 fingerprint: Callable[[str], str | None]) -> None:  # fmt: skip
        self.lines, self.book, self.window = lines, book, window
        self.payees: dict[str | None, str | None] = {}  # each distinct account fingerprinted once
        for x in lines:
            if x.account is not None and x.account not in self.payees:
                self.payees[x.account] = fingerprint(x.account)
        # Debit candidates: dated in the widened period. Returns by amount and payee reach 60 days
        # further back, so one read serves both.
        self.known = sorted(book.dated(start - dt.timedelta(days=RETURN_DAYS), end),
                            key=lambda p: (p.value_date, p.payment_id))  # fmt: skip
        self.candidates = [p for p in self.known if start <= p.value_date]
        self.used: set[str] = set()  # payments a debit line took (steps 1 and 2)
        self.returned: set[str] = set()  # payments a credit line took (step 3)
        self.outcomes: dict[int, LineOutcome] = {}

    def run(self, first: dt.date, last: dt.date) -> Matching:
        debits = [x for x in self.lines if not x.skipped and x.debit_fen > 0]
        self.by_reference(debits)
        self.by_amount_and_payee([x for x in debits if x.line not in self.outcomes])
        self.credits([x for x in self.lines if not x.skipped and x.credit_fen > 0])
        outcomes = [self.outcomes.get(x.line) or LineOutcome(x, "skipped") for x in self.lines]
        unused = [p for p in self.candidates if p.payment_id not in self.used and first <= p.value_date <= last]
        return Matching(outcomes, unused)

    # --- what a line and a payment agree on ----------------------------------------------------------
    def payee(self, line: Line) -> str | None:
        return self.payees.get(line.account)

    @staticmethod
    def days_apart(line: Line, payment: Payment) -> int:
        return abs((_date(line) - payment.value_date).days)

    def nearest(self, line: Line) -> Callable[[Payment], tuple[int, str]]:
        return lambda p: (self.days_apart(line, p), p.payment_id)

    def first_failure(self, line: Line, payment: Payment) -> ReconStatus | None:
        """The first of amount, payee and date on which ``line`` and ``payment`` disagree."""
        if line.debit_fen != payment.amount_fen:
            return "amount_mismatch"
        if self.payees.get(line.account) != payment.payee_account:
            return "payee_mismatch"
        if abs((_date(line) - payment.value_date).days) > self.window:
            return "date_mismatch"
        return None

    def settle(self, line: Line, status: ReconStatus, method: Method | None = None,
               payment: Payment | None = None, candidates: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.outcomes[line.line] = LineOutcome(line, status, method, payment, candidates)

    # --- step 1 ----------------------------------------------------------------------------------------
    def by_reference(self, debits: list[Line]) -> None:
        payments: dict[str, list[Payment]] = defaultdict(list)
        for p in self.candidates:
            payments[p.bank_reference].append(p)
        lines: dict[str, list[Line]] = defaultdict(list)  # by reference, in order of each's first line
        for x in debits:
            if x.reference is not None and x.reference in payments:
                lines[x.reference].append(x)
        for reference, group in lines.items():
            unused = payments[reference]
            if len(group) == 1 and len(unused) == 1:  # the usual case: one line, one payment
                self.used.add(unused[0].payment_id)
                self.settle(group[0], self.first_failure(group[0], unused[0]) or "matched", "reference", unused[0])
                continue
            taken, payment = next(
                ((x, min(agreeing, key=self.nearest(x))) for x in group
                 if (agreeing := [p for p in unused if self.first_failure(x, p) is None])),
                (group[0], min(unused, key=self.nearest(group[0]))),
            )  # fmt: skip
            self.used.add(payment.payment_id)
            self.settle(taken, self.first_failure(taken, payment) or "matched", "reference", payment)
            for x in group:
                if x is not taken:
                    self.settle(x, "duplicate_bank", "reference")

    # --- step 2 ----------------------------------------------------------------------------------------
    def by_amount_and_payee(self, debits: list[Line]) -> None:
        payments: dict[tuple[int, str], list[Payment]] = defaultdict(list)
        for p in self.candidates:
            if p.payment_id not in self.used:
                payments[p.amount_fen, p.payee_account].append(p)
        for x in debits:
            payee = self.payee(x)
            fits = [] if payee is None else [
                p for p in payments.get((x.debit_fen, payee), ())
                if p.payment_id not in self.used and self.days_apart(x, p) <= self.window
            ]  # fmt: skip
            if len(fits) == 1:
                self.used.add(fits[0].payment_id)
                self.settle(x, "matched", "amount_payee_date", fits[0])
            elif fits:
                self.settle(x, "ambiguous", "amount_payee_date", candidates=tuple(sorted(p.payment_id for p in fits)))
            else:
                self.settle(x, "unmatched_bank")

    # --- step 3 ----------------------------------------------------------------------------------------
    def credits(self, credits: list[Line]) -> None:
        if not credits:
            return
        tokens = {x.line: memo_tokens(x.memo) for x in credits}
        named: dict[str, list[Payment]] = defaultdict(list)
        for p in self.book.with_references(set().union(*tokens.values())):
            named[p.bank_reference].append(p)
        by_amount_payee: dict[tuple[int, str], list[Payment]] = defaultdict(list)
        for p in self.known:
            by_amount_payee[p.amount_fen, p.payee_account].append(p)
        for x in credits:
            in_memo = [p for ref in tokens[x.line] for p in named.get(ref, ()) if p.payment_id not in self.returned]
            if in_memo:
                self.take_return(x, "memo_reference", min(in_memo, key=self.likeliest_return(x)))
                continue
            payee = self.payee(x)
            before = [] if payee is None else [
                p for p in by_amount_payee.get((x.credit_fen, payee), ())
                if p.payment_id not in self.returned and 0 <= (_date(x) - p.value_date).days <= RETURN_DAYS
            ]  # fmt: skip
            if len(before) == 1:
                self.take_return(x, "amount_payee", before[0])
            else:
                self.settle(x, "credit_other")

    def likeliest_return(self, line: Line) -> Callable[[Payment], tuple[bool, bool, bool, int, str]]:
        """Among payments whose references the memo names: the one of the same amount and payee,
        paid before the money came back, the nearest, then by id."""
        payee = self.payee(line)
        return lambda p: (p.amount_fen != line.credit_fen, p.payee_account != payee,
                          p.value_date > _date(line), self.days_apart(line, p), p.payment_id)  # fmt: skip

    def take_return(self, line: Line, method: Method, payment: Payment) -> None:
        self.returned.add(payment.payment_id)
        self.settle(line, "return_matched" if payment.returned else "return_not_recorded", method, payment)


def _date(line: Line) -> dt.date:
    """A line that is not skipped has a value date (the statement reader refuses one without)."""
    assert line.value_date is not None, f"line {line.line} has no value date"
    return line.value_date

"""Balances from the double-entry postings: any filter, any point of the log.

Postings are append-only facts carrying their ``seq``, so balances *as of* leaf N are a plain
``WHERE seq <= N`` sum (DESIGN §5) — no replay. Filters (jurisdiction, fund, institution,
labourer, period, claim) narrow the account list and its own totals; ``trial_balance`` always
covers the whole ledger at that point, and is zero by construction (projections.readmodels.postings).

A jurisdiction filter includes the codes below it: the city (640400) sees its counties.
"""

from __future__ import annotations

from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.domain.policy import GUYUAN, Jurisdictions
from projections import tables as T
from projections.readmodels.queries import as_int, resolve_as_of

FILTERS = ("jurisdiction", "fund", "institution", "laborer", "period", "claim")
SUMMARY = ("allocated_fen", "adjusted_fen", "fund_balance_fen", "claimed_fen", "approved_fen",
           "paid_fen", "returned_fen", "recovered_fen", "outstanding_fen")  # fmt: skip


class Account(TypedDict):
    account: str
    debit_fen: int
    credit_fen: int
    balance_fen: int


class Totals(TypedDict):
    debit_fen: int
    credit_fen: int
    balance_fen: int


class TrialBalance(TypedDict):
    total_fen: int
    debit_fen: int
    credit_fen: int


class Balances(TypedDict):
    """The ``balances --json`` document (in fen)."""

    as_of: int | None
    filters: dict[str, str]
    accounts: list[Account]
    totals: Totals
    summary: dict[str, int | None]
    trial_balance: TrialBalance


class MoneyView(TypedDict):
    """One claim's or institution's money flow (in fen; ``claimed_fen`` None under a fund filter)."""

    as_of: int | None
    claimed_fen: int | None
    approved_fen: int | None
    paid_fen: int | None
    returned_fen: int | None
    recovered_fen: int | None
    outstanding_fen: int | None


def balances(engine_or_conn: Engine | Connection, *, as_of: int | None = None,
             jurisdiction: str | None = None, fund: str | None = None, institution: str | None = None,
             laborer: str | None = None, period: str | None = None, claim: str | None = None,
             account: str | None = None, jurisdictions: Jurisdictions = GUYUAN) -> Balances:  # fmt: skip
    """Accounts (debit, credit, balance = debit − credit, in fen) with totals and the trial balance.

    ``as_of`` is the last leaf included (default: the last projected); the result says which.
    ``account`` keeps one account, or every account under a path (``expense:training`` keeps
    ``expense:training:640422``); like every filter it narrows the list and its totals only.
    """
    with _connection(engine_or_conn) as conn:
        seq = resolve_as_of(conn, as_of)
        filters: dict[str, str | None] = {"jurisdiction": jurisdiction, "fund": fund, "institution": institution,
                   "laborer": laborer, "period": period, "claim": claim, "account": account}  # fmt: skip
        if seq is None:  # nothing projected (perhaps no tables yet): an empty ledger's answer
            summary: dict[str, int | None] = dict.fromkeys(SUMMARY, 0)
            summary["claimed_fen"] = None if fund is not None or account is not None else 0
            return {"as_of": None, "filters": {k: v for k, v in filters.items() if v is not None}, "accounts": [],
                    "totals": {"debit_fen": 0, "credit_fen": 0, "balance_fen": 0}, "summary": summary,
                    "trial_balance": {"total_fen": 0, "debit_fen": 0, "credit_fen": 0}}  # fmt: skip
        p = T.postings
        upto = p.c.seq <= seq
        where = [upto, *_conditions(filters, jurisdictions)]

        accounts: list[Account] = []
        rows = conn.execute(
            sa.select(p.c.account, sa.func.sum(p.c.debit_fen), sa.func.sum(p.c.credit_fen))
            .where(*where).group_by(p.c.account)
        ).all()  # fmt: skip
        for account, debit, credit in sorted(rows, key=lambda r: r[0]):  # code-point order on every backend
            debit, credit = as_int(debit), as_int(credit)
            accounts.append({"account": account, "debit_fen": debit, "credit_fen": credit,
                             "balance_fen": debit - credit})  # fmt: skip
        debit = sum(a["debit_fen"] for a in accounts)
        credit = sum(a["credit_fen"] for a in accounts)

        whole = conn.execute(sa.select(sa.func.sum(p.c.debit_fen), sa.func.sum(p.c.credit_fen)).where(upto)).one()
        trial_debit, trial_credit = as_int(whole[0]), as_int(whole[1])
        return {
            "as_of": seq,
            "filters": {k: v for k, v in filters.items() if v is not None},
            "accounts": accounts,
            "totals": {"debit_fen": debit, "credit_fen": credit, "balance_fen": debit - credit},
            "summary": _summary(conn, seq, filters, where, jurisdictions),
            "trial_balance": {"total_fen": trial_debit - trial_credit, "debit_fen": trial_debit,
                              "credit_fen": trial_credit},  # fmt: skip
        }


def claim_summary(engine_or_conn: Engine | Connection, claim_id: str, *, as_of: int | None = None) -> MoneyView:
    """Claimed, approved, paid, returned, recovered and outstanding (fen) of one claim."""
    return _money_view(balances(engine_or_conn, as_of=as_of, claim=claim_id))


def institution_summary(engine_or_conn: Engine | Connection, actor_id: str, *,
                        as_of: int | None = None) -> MoneyView:  # fmt: skip
    """The same figures over every claim an institution (any claimant actor) filed."""
    return _money_view(balances(engine_or_conn, as_of=as_of, institution=actor_id))


def _money_view(result: Balances) -> MoneyView:
    summary = result["summary"]
    return {"as_of": result["as_of"], "claimed_fen": summary["claimed_fen"], "approved_fen": summary["approved_fen"],
            "paid_fen": summary["paid_fen"], "returned_fen": summary["returned_fen"],
            "recovered_fen": summary["recovered_fen"], "outstanding_fen": summary["outstanding_fen"]}  # fmt: skip


# --- internals -----------------------------------------------------------------------------------------
class _connection:
    """Use a given connection, or open (and close) one on a given engine."""

    def __init__(self, target: Engine | Connection):
        self.target = target
        self.opened: Connection | None = None

    def __enter__(self) -> Connection:
        if isinstance(self.target, Engine):
            self.opened = self.target.connect()
            return self.opened
        return self.target

    def __exit__(self, *exc: object) -> None:
        if self.opened is not None:
            self.opened.close()


def _conditions(filters: dict[str, str | None], jurisdictions: Jurisdictions) -> list[sa.ColumnElement[bool]]:
    p = T.postings
    out: list[sa.ColumnElement[bool]] = []
    if filters["jurisdiction"] is not None:
        out.append(p.c.jurisdiction.in_(jurisdictions.covered(filters["jurisdiction"])))
    for name, column in (("fund", p.c.fund_id), ("institution", p.c.institution),
                         ("laborer", p.c.laborer_id), ("period", p.c.period), ("claim", p.c.claim_id)):  # fmt: skip
        if filters[name] is not None:
            out.append(column == filters[name])
    if (account := filters["account"]) is not None:
        below = account.rstrip(":") + ":"  # a path's accounts: the prefix taken literally, never as a pattern
        out.append(sa.or_(p.c.account == account, sa.func.substr(p.c.account, 1, len(below)) == below))
    return out


def _summary(conn: Connection, seq: int, filters: dict[str, str | None], where: list[sa.ColumnElement[bool]],
             jurisdictions: Jurisdictions) -> dict[str, int | None]:  # fmt: skip
    """The money flow of the filtered postings, in the words a finance officer uses."""
    p = T.postings
    sums: dict[tuple[str, str], tuple[int, int]] = {}
    rows = conn.execute(
        sa.select(p.c.entry, p.c.kind, sa.func.sum(p.c.debit_fen), sa.func.sum(p.c.credit_fen))
        .where(*where).group_by(p.c.entry, p.c.kind)
    ).all()  # fmt: skip
    for entry, kind, debit_sum, credit_sum in rows:
        sums[(entry, kind)] = (as_int(debit_sum), as_int(credit_sum))

    def debit(entry: str, kind: str) -> int:
        return sums.get((entry, kind), (0, 0))[0]

    def credit(entry: str, kind: str) -> int:
        return sums.get((entry, kind), (0, 0))[1]

    def net_credit(kind: str, *entries: str) -> int:
        return sum(credit(e, kind) - debit(e, kind) for e in entries)

    all_entries = ("allocation", "adjustment", "approval", "approval_reversal", "payment", "return", "recovery")
    return {
        "allocated_fen": debit("allocation", "fund"),
        "adjusted_fen": debit("adjustment", "fund") - credit("adjustment", "fund"),
        "fund_balance_fen": -net_credit("fund", *all_entries),
        "claimed_fen": _claimed(conn, seq, filters, jurisdictions),
        "approved_fen": net_credit("payable", "approval", "approval_reversal"),
        "paid_fen": debit("payment", "payable"),
        "returned_fen": credit("return", "payable"),
        "recovered_fen": debit("recovery", "recovered"),
        "outstanding_fen": net_credit("payable", *all_entries),
    }


def _claimed(conn: Connection, seq: int, filters: dict[str, str | None],
             jurisdictions: Jurisdictions) -> int | None:  # fmt: skip
    """What was claimed (SubsidyClaimed totals) under the same filters; None under a fund or account filter."""
    if filters["fund"] is not None or filters["account"] is not None:
        return None  # a claim names no fund, and posts to no account until approved
    c, lines = T.claims, T.claim_lines
    amount = lines.c.amount_fen if filters["laborer"] is not None else c.c.claimed_fen
    query = sa.select(sa.func.sum(amount)).select_from(c)
    if filters["laborer"] is not None:
        query = query.join(lines, lines.c.claim_id == c.c.claim_id).where(lines.c.laborer_id == filters["laborer"])
    query = query.where(c.c.claimed_seq <= seq)
    if filters["jurisdiction"] is not None:
        query = query.where(c.c.jurisdiction.in_(jurisdictions.covered(filters["jurisdiction"])))
    if filters["institution"] is not None:
        query = query.where(c.c.claimant == filters["institution"])
    if filters["claim"] is not None:
        query = query.where(c.c.claim_id == filters["claim"])
    if filters["period"] is not None:
        query = query.where(c.c.claimed_date.like(filters["period"] + "-%"))
    return as_int(conn.execute(query).scalar())

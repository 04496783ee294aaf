"""The bank statements the finance bureaus' payments imply (DESIGN §10), and the reconciliations
the bureaus record after matching them.

For each finance bureau and month with payments, the statement of its special-fund account lists
every payment as a debit on its value date, with its bank reference and the payee's account; each
bank return as a credit whose memo names the original reference; the month's allocations into the
account and the quarter's interest as other credits. Statements alternate between the two forms
Chinese banks export: GBK CSV (a preamble of 账号, 户名, 起止日期; Chinese headers; ``,``
thousands; a 合计 row) and XLSX (the same rows; dates and amounts as typed cells).

Each line carries the status DESIGN §10's matching must give it, written by construction — a
payment's own line is ``matched``, a bank return ``return_matched`` — and edited by the injectors
of ``FIN-RECON-EXCEPTION`` and ``FIN-BANK-UNMATCHED`` (:mod:`.injectors.fin`), which also list the
payments the bank never shows. :func:`close` then writes each file and, from that truth, the
``ReconciliationRecorded`` the bureau signs: what ``reconcile --record`` would sign for it (the
counts, the exceptions and the id of :mod:`projections.reconciliation.result`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Final, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ledger.domain.holidays import next_working_day
from ledger.domain.money import yuan_amount
from ledger.encoding.canonical import JSONValue
from ledger.encoding.workbook import YUAN_FORMAT, workbook_bytes, yuan_number
from projections.reconciliation.result import CLEAR, STATUSES, exceptions_of, reconciliation_id, recorded_body
from simulator.calendar import DAY, month_end, next_month
from simulator.people import org_account
from simulator.plan import Plan
from simulator.records import BankLine, BankStatement, Claim, Payment
from simulator.world import CITY

HEADER: Final = ("交易日期", "交易流水号", "对方账号", "对方户名", "支出金额", "收入金额", "摘要")
FIRST_LINE: Final = 6  # the title, 账号, 户名 and 起止日期 rows, then the header: lines start on row 6
MEMO: Final = {"training": "培训补贴", "appraisal": "职业技能鉴定补贴", "living_allowance": "培训期间生活费补贴",
               "employer": "用人单位吸纳就业补贴"}  # fmt: skip
SOURCE: Final = {"central": "宁夏回族自治区财政厅（中央转移支付）", "region": "宁夏回族自治区财政厅",
                 "city": "固原市财政局", "county": "本级财政国库"}  # fmt: skip
PURPOSE: Final = {"training": "培训", "appraisal": "鉴定", "living_allowance": "生活费", "employer": "就业"}


def bureau_of(plan: Plan, pay: Payment) -> str:
    """The finance bureau that pays from the payment's fund (the signer of its PaymentDisbursed)."""
    return f"fin-{plan.funds[pay.fund].jur}"


def masked(name: str) -> str:
    """A person's name as a bank's online statement shows it: the surname, the rest starred."""
    return name[:1] + "*" * (len(name) - 1)


# --- the statements a plan's payments imply ----------------------------------------------------------------
def plan_statements(plan: Plan) -> None:
    """Every bureau's statement for every month it paid in whose reconciliation falls before the end."""
    rng = random.Random(f"sim:{plan.seed}:recon")
    names = {a.actor_id: a.name for a in plan.actors}
    rows: dict[tuple[str, str], list[BankLine]] = defaultdict(list)
    paid: set[tuple[str, str]] = set()
    n = 0
    for claim in plan.all_claims():
        for pay in claim.payments:
            fin, account = bureau_of(plan, pay), pay.account or claim.account
            name = payee_name(plan, claim, account, names)
            paid.add((fin, f"{pay.value:%Y-%m}"))
            rows[fin, f"{pay.value:%Y-%m}"].append(BankLine(
                pay.value, pay.bank_ref, account, name, pay.amount or 0, 0, f"{MEMO[claim.kind]} {claim.cid}",
                "matched", pay, claim.cid))  # fmt: skip
            if pay.returned is not None:
                back, reason = pay.returned
                n += 1
                rows[fin, f"{back:%Y-%m}"].append(BankLine(
                    back, f"TH{back:%Y%m%d}{n:06d}", account, name, 0, pay.amount or 0,
                    f"退汇 原交易流水号{pay.bank_ref} {reason}", "return_matched", pay, claim.cid))  # fmt: skip
    for fund in sorted(plan.funds.values(), key=lambda f: f.fid):
        fin = f"fin-{fund.jur}"  # the bureau paying from it holds its account
        moves = [(day, SOURCE[source], amount, "下达") for day, _, source, amount in fund.allocations]
        moves += [(day, SOURCE["city" if fund.jur == CITY else "county"], delta, "追加下达")
                  for day, _, delta, _ in fund.adjustments if delta > 0]  # fmt: skip
        for day, source, amount, what in moves:
            n += 1
            rows[fin, f"{day:%Y-%m}"].append(BankLine(
                day, f"XD{day:%Y%m%d}{n:06d}", org_account(f"treasury:{source}"), source, 0, amount,
                f"{fund.year}年{PURPOSE[fund.purpose]}专项资金{what} {fund.fid}", "credit_other"))  # fmt: skip
    for k, (fin, period) in enumerate(sorted(paid)):
        y, m = int(period[:4]), int(period[5:])
        ny, nm = next_month(y, m)
        recorded = next_working_day(dt.date(ny, nm, rng.randint(5, 12)))
        if recorded > plan.cfg.end:
            continue
        lines = rows[fin, period]
        if m % 3 == 0:  # the bank posts the quarter's interest on the 21st
            day = dt.date(y, m, 21)
            lines.append(BankLine(day, f"JX{day:%Y%m%d}{k:06d}", None, "", 0, rng.randint(5_000, 300_000),
                                  "活期账户结息", "credit_other"))  # fmt: skip
        plan.statements.append(BankStatement(fin, period, recorded, lines))
    for i, st in enumerate(plan.statements):
        st.form = "csv" if i % 2 == 0 else "xlsx"
        st.lines.sort(key=lambda line: line.date)  # stable: payments, returns, then other money in


def payee_name(plan: Plan, claim: Claim, account: str, names: dict[str, str]) -> str:
    """The counterparty the bank prints: the claimant organisation, or the labourer (masked) whose card it is."""
    if account == claim.account and claim.kind != "living_allowance":
        return names.get(claim.claimant, "")
    lab = plan.labs[claim.lines[0].lid]
    return masked(lab.name) if account == lab.account else ""


# --- what the injectors edit ---------------------------------------------------------------------------------
def plain_debits(plan: Plan) -> list[tuple[BankStatement, BankLine]]:
    """Payments' own lines still as the bank printed them, their payments never returned: hosts for
    an injected difference, in the plan's random order."""
    returned = {line.payment.pid for st in plan.statements for line in st.lines
                if line.credit_fen and line.payment is not None}  # fmt: skip
    touched = {pay.pid for st in plan.statements for pay, _ in st.missing}
    out = [(st, line) for st in plan.statements for line in st.lines
           if line.status == "matched" and line.payment is not None and line.debit_fen
           and line.payment.pid not in returned | touched and line.payment.returned is None]  # fmt: skip
    plan.rng.shuffle(out)
    return out


def statement_of(plan: Plan, actor: str, day: dt.date) -> BankStatement | None:
    return next((st for st in plan.statements if st.actor == actor and st.period == f"{day:%Y-%m}"), None)


def in_reach(st: BankStatement, day: dt.date, window: int = 3) -> bool:
    """Can a line of ``st`` bear this date (the period widened by the window, DESIGN §10)?"""
    y, m = int(st.period[:4]), int(st.period[5:])
    return dt.date(y, m, 1) - window * DAY <= day <= month_end(y, m) + window * DAY


def payments_alike(plan: Plan, actor: str, amount: int, account: str) -> Iterator[Payment]:
    """The bureau's payments of this amount to this account."""
    for claim in plan.all_claims():
        for pay in claim.payments:
            if bureau_of(plan, pay) == actor and pay.amount == amount and (pay.account or claim.account) == account:
                yield pay


# --- the files and the reconciliations ------------------------------------------------------------------------
def close(plan: Plan) -> None:
    """Write every statement's file and the ``ReconciliationRecorded`` its truth implies."""
    names = {a.actor_id: a.name for a in plan.actors}
    for st in plan.statements:
        st.lines.sort(key=lambda line: line.date)
        rows = _rows(st, names.get(st.actor, st.actor))
        st.data = _csv(rows) if st.form == "csv" else _xlsx(rows)
        result = result_of(st, hashlib.sha256(st.data).hexdigest())
        st.body = recorded_body(result)


def outcome(st: BankStatement) -> tuple[list[dict[str, JSONValue]], list[dict[str, JSONValue]]]:
    """The truth as ``reconcile --json`` writes it (DESIGN §10): the lines by line number (skipped
    rows left out), and the payments the bank never shows by value date, then id."""
    lines: list[dict[str, JSONValue]] = []
    for number, line in enumerate(st.lines, start=FIRST_LINE):
        out: dict[str, JSONValue] = {"line": number, "status": line.status}
        if line.payment is not None:
            out["payment_id"], out["claim_id"] = line.payment.pid, line.claim_id
        if line.reference is not None:
            out["bank_reference"] = line.reference
        out["amount_fen"] = line.debit_fen or line.credit_fen
        out["value_date"] = line.date.isoformat()
        lines.append(out)
    unmatched: list[dict[str, JSONValue]] = [
        {"payment_id": pay.pid, "claim_id": claim_id, "bank_reference": pay.bank_ref, "amount_fen": pay.amount or 0,
         "value_date": pay.value.isoformat()}
        for pay, claim_id in sorted(st.missing, key=lambda m: (m[0].value, m[0].pid))
    ]  # fmt: skip
    return lines, unmatched


def summary_of(lines: list[dict[str, JSONValue]], unmatched: list[dict[str, JSONValue]]) -> dict[str, JSONValue]:
    """Every status's count, zeros included (the 合计 row is the one skipped)."""
    counts = Counter(str(line["status"]) for line in lines)
    counts.update(unmatched_ledger=len(unmatched), skipped=1)
    return {status: counts[status] for status in STATUSES}


def result_of(st: BankStatement, sha256: str) -> dict[str, JSONValue]:
    """The parts of the ``reconcile --json`` document that recording reads."""
    lines, unmatched = outcome(st)
    exceptions, _ = exceptions_of(lines, unmatched)
    return {
        "reconciliation_id": reconciliation_id(st.actor, st.period, None, sha256, exceptions),
        "actor": st.actor, "period": st.period, "funds": None, "statement_sha256": sha256,
        "summary": summary_of(lines, unmatched), "lines": list[JSONValue](lines),
        "unmatched_payments": list[JSONValue](unmatched),
    }  # fmt: skip


def truth_of(st: BankStatement) -> dict[str, JSONValue]:
    """What reconciling the statement must find: every status's count and every exception, each
    line or payment whose status is not clear (all of them, not the 400 an event keeps)."""
    assert st.body is not None
    lines, unmatched = outcome(st)
    exceptions: list[JSONValue] = [line for line in lines if line["status"] not in CLEAR]
    exceptions += [dict(p, status="unmatched_ledger") for p in unmatched]
    return {"file": st.file_name, "actor": st.actor, "period": st.period,
            "reconciliation_id": st.body["reconciliation_id"], "summary": summary_of(lines, unmatched),
            "exceptions": exceptions}  # fmt: skip


Row = list[str | int | dt.date | None]


def _rows(st: BankStatement, bureau: str) -> list[Row]:
    y, m = int(st.period[:4]), int(st.period[5:])
    out: list[Row] = [
        ["中国农业银行 单位账户交易明细"],
        ["账号", org_account(f"special:{st.actor}")],
        ["户名", f"{bureau}扶贫培训专项资金专户"],
        ["起止日期", f"{dt.date(y, m, 1).isoformat()} 至 {month_end(y, m).isoformat()}"],
        list(HEADER),
    ]
    for line in st.lines:
        out.append([line.date, line.reference or "", line.account or "", line.name, line.debit_fen or None,
                    line.credit_fen or None, line.memo])  # fmt: skip
    out.append(["合计", "", "", "", sum(line.debit_fen for line in st.lines),
                sum(line.credit_fen for line in st.lines), ""])  # fmt: skip
    return out


def _csv(rows: list[Row]) -> bytes:
    """GBK, CRLF, ``,`` thousands: as a Chinese bank's web banking exports it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if cell is None else yuan_amount(cell) if isinstance(cell, int)
                         else cell.isoformat() if isinstance(cell, dt.date) else cell for cell in row])  # fmt: skip
    return buffer.getvalue().encode("gbk")


def _xlsx(rows: list[Row]) -> bytes:
    """The first sheet holds the rows; dates and amounts typed; the bytes depend on the cells alone."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("交易明细")
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, int):  # fen: an exact number of yuan (openpyxl writes a Decimal's digits)
                cell = WriteOnlyCell(sheet, cast(float, yuan_number(value)))
                cell.number_format = YUAN_FORMAT
            elif isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, dt.datetime.combine(value, dt.time()))
                cell.number_format = "yyyy-mm-dd"
            else:
                cell = WriteOnlyCell(sheet, value)
            cells.append(cell)
        sheet.append(cells)
    return workbook_bytes(book, creator="subsidy-ledger simulator")

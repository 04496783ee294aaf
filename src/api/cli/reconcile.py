"""``reconcile`` (DESIGN §10): a finance bureau's bank statement against the payments it signed.

Thin: parse the options, call :func:`api.services.reconcile` (and :func:`api.services.record_reconciliation`
with ``--record``), render. ``--json`` writes the result as JCS bytes and a line feed, so the same
inputs give the same bytes; ``--xlsx OUT`` a workbook (a summary sheet, one sheet per status, amounts
as numbers of yuan) that is the same bytes too; otherwise a table, the summary first, then the
exceptions, the most serious first. Only an account's last four digits are ever shown.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from api.cli import table
from api.cli.projections import consistent, warn_lagging
from api.cli.root import Options, errors, fail, options, session
from ledger.domain.money import yuan_amount
from ledger.encoding.canonical import JSONValue, canonical

if TYPE_CHECKING:  # openpyxl and the matching (the domain schema) load when this verb runs, not with the CLI
    from openpyxl import Workbook

TEXT = {
    "title": ("银行对账 {id}", "bank reconciliation {id}"),
    "who": ("财政局 {actor}  期间 {period}  资金 {funds}  日期窗口 ±{window} 天  数据截至 seq {as_of}",
            "finance bureau {actor}  period {period}  funds {funds}  date window ±{window} days  as of seq {as_of}"),
    "statement": ("对账单 SHA-256 {sha}", "statement SHA-256 {sha}"),
    "all_funds": ("全部", "all"),
    "summary": ("汇总", "summary"),
    "status": ("状态", "status"),
    "count": ("笔数", "count"),
    "exceptions": ("例外：共 {n} 笔（按严重程度排列）", "exceptions: {n} (most serious first)"),
    "clean": ("没有例外：对账单与账本一致", "no exceptions: the statement agrees with the ledger"),
    "line": ("行号", "line"),
    "bank_reference": ("交易流水号", "bank reference"),
    "amount": ("金额（元）", "amount (yuan)"),
    "ledger_amount": ("账本金额（元）", "ledger amount (yuan)"),
    "value_date": ("日期", "value date"),
    "account_tail": ("账号尾号", "account (last 4)"),
    "payment": ("拨付编号", "payment"),
    "claim": ("申请编号", "claim"),
    "method": ("匹配方式", "method"),
    "candidates": ("候选拨付", "candidates"),
    "recorded": ("已记录对账结果：seq {seq}（{id}）", "reconciliation recorded: seq {seq} ({id})"),
    "duplicate": ("重复：同一对账单、同一结果已在 seq {seq} 记录（{id}）；未重复记录",
                  "duplicate: the same statement with the same outcome is already recorded at seq {seq} ({id}); nothing recorded"),
    "both_outputs": ("--json 与 --xlsx 只能选一个", "--json and --xlsx cannot be used together"),
    "no_actor": ("请用 --as 指明对账的财政局", "name the reconciling finance bureau with --as"),
    "xlsx_written": ("已写入 {path}", "wrote {path}"),
}  # fmt: skip
STATUS = {
    "unmatched_bank": ("银行有、账本无", "on the statement, not in the ledger"),
    "duplicate_bank": ("银行重复记录", "duplicated bank line"),
    "payee_mismatch": ("收款人不符", "payee mismatch"),
    "amount_mismatch": ("金额不符", "amount mismatch"),
    "unmatched_ledger": ("账本有、银行无", "in the ledger, not on the statement"),
    "return_not_recorded": ("退汇未登记", "return not recorded"),
    "date_mismatch": ("日期不符", "date mismatch"),
    "ambiguous": ("无法唯一匹配", "ambiguous"),
    "return_matched": ("退汇已登记", "return recorded"),
    "credit_other": ("其他入账", "other credit"),
    "matched": ("已匹配", "matched"),
    "skipped": ("合计行（跳过）", "totals row (skipped)"),
}
METHOD = {"reference": ("流水号", "reference"), "amount_payee_date": ("金额+收款人+日期", "amount, payee, date"),
          "memo_reference": ("摘要中的流水号", "reference in memo"), "amount_payee": ("金额+收款人", "amount, payee")}  # fmt: skip
# The columns of an exception or a status sheet, in order: (key in the result, header key, is money).
COLUMNS = [("line", "line", False), ("bank_reference", "bank_reference", False), ("amount_fen", "amount", True),
           ("ledger_amount_fen", "ledger_amount", True), ("value_date", "value_date", False),
           ("account_tail", "account_tail", False), ("payment_id", "payment", False), ("claim_id", "claim", False),
           ("method", "method", False), ("candidates", "candidates", False)]  # fmt: skip
ON_TERMINAL = [c for c in COLUMNS if c[0] != "claim_id"]  # the claim is in --json and --xlsx; a terminal is narrow
Row = dict[str, JSONValue]


def register(app: typer.Typer) -> None:
    app.command()(reconcile)


def reconcile(
    ctx: typer.Context,
    statement: Annotated[Path, typer.Option("--statement", metavar="FILE",
                         help="the bank statement: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX")],  # fmt: skip
    period: Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="the month the statement covers")],
    actor: Annotated[str | None, typer.Option("--as", metavar="ACTOR", help="the finance bureau reconciling (its payments)")] = None,
    as_of: Annotated[int | None, typer.Option("--as-of", metavar="SEQ", help="the ledger as it stood after leaf SEQ")] = None,
    date_window: Annotated[int, typer.Option("--date-window", metavar="DAYS", help="days a value date may differ")] = 3,
    columns: Annotated[str | None, typer.Option("--columns", metavar="KEY=HEADER,…",
                       help="headers the bank uses instead (keys: value_date, bank_reference, account, name, debit, credit, memo)")] = None,  # fmt: skip
    fund: Annotated[list[str] | None, typer.Option("--fund", metavar="ID",
                    help="only payments from this fund (repeat for each fund paid from the statement's account)")] = None,  # fmt: skip
    as_json: Annotated[bool, typer.Option("--json", help="the result document (JCS bytes and a line feed)")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", metavar="OUT", help="write the result as a workbook")] = None,
    record: Annotated[bool, typer.Option("--record", help="sign and record ReconciliationRecorded as --as")] = False,
) -> None:
    """Reconcile a bank statement (对账) with the finance bureau's payments; --record signs the result."""
    o = options(ctx)
    if as_json and xlsx is not None:
        fail(o, o.say(TEXT, "both_outputs"), 1)
    actor = actor or o.reader
    if actor is None:
        fail(o, o.say(TEXT, "no_actor"), 1)
    from projections.reconciliation.statement import parse_columns

    with errors(o):
        mapping = parse_columns(columns)
    if o.server is not None:  # POST /v1/reconciliations: the service holds the pepper; --record signs here
        from api.cli import remote

        result = remote.reconcile(o, statement, actor, funds=fund or None, period=period, as_of=as_of,
                                  date_window=date_window, columns=columns)  # fmt: skip
        show(o, result, as_json, xlsx)
        if record:
            remote.record_reconciliation(o, result, as_json)
        return
    from api import services

    with session(o, heal=record) as s:
        with consistent(o):
            result = services.reconcile(s, statement, o.meter(), actor=actor, period=period, funds=fund or None,
                                        date_window=date_window, as_of=as_of, columns=mapping)  # fmt: skip
        show(o, result, as_json, xlsx)
        if record:
            done = services.record_reconciliation(s, result, o.meter())
            key = "duplicate" if done.outcome.status == "duplicate" else "recorded"
            typer.echo(o.say(TEXT, key, seq=done.outcome.seq, id=result["reconciliation_id"]), err=as_json)
            warn_lagging(o, done.lagging)


def show(o: Options, result: dict[str, JSONValue], as_json: bool, xlsx: Path | None) -> None:
    """The result as JCS bytes, a workbook, or the table."""
    if as_json:
        sys.stdout.buffer.write(canonical(result) + b"\n")
        sys.stdout.flush()
    elif xlsx is not None:
        from ledger.encoding import workbook

        workbook.save(result_workbook(o, result), xlsx)
        typer.echo(o.say(TEXT, "xlsx_written", path=xlsx), err=True)
    else:
        typer.echo(render(o, result))


# --- the table -----------------------------------------------------------------------------------------------
def _rows(result: dict[str, JSONValue], key: str) -> list[Row]:
    return cast("list[Row]", result[key])


def exception_rows(result: dict[str, JSONValue]) -> list[Row]:
    """Every exception line and unmatched payment, the most serious first (the order recorded)."""
    from projections.reconciliation.result import CLEAR, STATUSES

    rank: dict[str, int] = {status: n for n, status in enumerate(STATUSES)}
    rows = [r for r in _rows(result, "lines") if r["status"] not in CLEAR]
    rows += [{**p, "status": "unmatched_ledger"} for p in _rows(result, "unmatched_payments")]
    return sorted(rows, key=lambda r: rank[str(r["status"])])


def cell(o: Options, row: Row, key: str, money: bool) -> str:
    value = row.get(key)
    if value is None:
        return "—"
    if money:
        return yuan_amount(cast(int, value))
    if key == "method":
        return o.say(METHOD, str(value))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def render(o: Options, result: dict[str, JSONValue]) -> str:
    from projections.reconciliation.result import STATUSES, exceptions_of

    funds = cast("list[str] | None", result["funds"])
    summary = cast("dict[str, int]", result["summary"])
    lines = [
        o.say(TEXT, "title", id=result["reconciliation_id"]),
        o.say(TEXT, "who", actor=result["actor"], period=result["period"], window=result["date_window"],
              funds=",".join(funds) if funds else o.say(TEXT, "all_funds"),
              as_of="—" if result["as_of"] is None else result["as_of"]),
        o.say(TEXT, "statement", sha=result["statement_sha256"]),
        "",
        o.say(TEXT, "summary"),
    ]  # fmt: skip
    head = [o.say(TEXT, "status"), o.say(TEXT, "count")]
    rows = [[o.say(STATUS, s), str(summary[s])] for s in STATUSES]
    sizes = table.sizes([head, *rows])
    lines += [table.line(head, sizes, 1), table.rule(sizes), *(table.line(r, sizes, 1) for r in rows)]
    exceptions = exception_rows(result)
    _, total = exceptions_of(_rows(result, "lines"), _rows(result, "unmatched_payments"))
    lines.append("")
    if not exceptions:
        lines.append(o.say(TEXT, "clean"))
        return "\n".join(lines)
    lines.append(o.say(TEXT, "exceptions", n=total))
    used = [c for c in ON_TERMINAL if any(r.get(c[0]) is not None for r in exceptions)]
    head = [o.say(TEXT, "status")] + [o.say(TEXT, header) for _, header, _ in used]
    body = [[o.say(STATUS, str(r["status"]))] + [cell(o, r, key, money) for key, _, money in used] for r in exceptions]
    sizes = table.sizes([head, *body])
    lines += [table.line(head, sizes), table.rule(sizes), *(table.line(r, sizes) for r in body)]
    return "\n".join(lines)


# --- the workbook --------------------------------------------------------------------------------------------
def result_workbook(o: Options, result: dict[str, JSONValue]) -> Workbook:
    """A summary sheet (the reconciliation's facts and every status's count), then one sheet per
    status listing its lines (or, for unmatched_ledger, its payments); amounts in yuan, as numbers."""
    from openpyxl import Workbook

    from ledger.encoding import workbook
    from projections.reconciliation.result import STATUSES

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = o.say(TEXT, "summary")
    funds = cast("list[str] | None", result["funds"])
    for label, value in (("reconciliation_id", result["reconciliation_id"]), ("actor", result["actor"]),
                         ("period", result["period"]), ("funds", ",".join(funds) if funds else o.say(TEXT, "all_funds")),
                         ("date_window", result["date_window"]), ("as_of", result["as_of"]),
                         ("statement_sha256", result["statement_sha256"])):  # fmt: skip
        sheet.append([label, value])
    sheet.append([])
    sheet.append([o.say(TEXT, "status"), "status", o.say(TEXT, "count")])
    summary = cast("dict[str, int]", result["summary"])
    for status in STATUSES:
        sheet.append([o.say(STATUS, status), status, summary[status]])
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 24
    by_status: dict[str, list[Row]] = {s: [] for s in STATUSES if s != "skipped"}
    for row in _rows(result, "lines"):
        by_status[str(row["status"])].append(row)
    by_status["unmatched_ledger"] = _rows(result, "unmatched_payments")
    for name, rows in by_status.items():
        ws = book.create_sheet(_sheet_title(o.pick(STATUS[name][0], name)))
        ws.append([o.say(TEXT, header) for _, header, _ in COLUMNS])
        for row in rows:
            ws.append([_xlsx_value(row.get(key), money) for key, _, money in COLUMNS])
        for column in ("C", "D"):  # amount, ledger amount
            for c in ws[column][1:]:
                c.number_format = workbook.YUAN_FORMAT
            ws.column_dimensions[column].width = 16
        for column in ("B", "E", "G", "H"):
            ws.column_dimensions[column].width = 22
    return book


def _sheet_title(text: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31]


def _xlsx_value(value: JSONValue, money: bool) -> object:
    from ledger.encoding import workbook

    if value is None:
        return None
    if money:
        return workbook.yuan_number(cast(int, value))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value

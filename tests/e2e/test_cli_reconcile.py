"""``reconcile`` as a county finance bureau runs it, on SQLite and PostgreSQL.

The ledger is the example 西吉县 class (one payment, P-2019-640422-0001) and eleven more payments of
西吉县财政局, signed from intents whose bank accounts the ledger service fingerprints (DESIGN §7).
The bank statement of June 2019 is one hand-made file in each input format
(tests/fixtures/statements/reconcile-2019-06-*): GBK CSV with Chinese headers, a preamble, ``,``
thousands and a 合计 row; UTF-8 CSV with a BOM and English headers; XLSX with the other Chinese
headers, date and number cells. Every file has the same lines on the same file lines, and
:data:`EXPECTED` gives each line's status by hand — one line or payment per status of DESIGN §10,
with the window's edges (3 days matched, 4 days not), a reused reference (a duplicated bank line),
two equal payments to one payee (ambiguous), a return whose memo carries the reference and one
without any.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import cli as run_cli
from support.cli import make_ledger, one_line_error
from support.pg import pg_database
from support.xiji import ACTORS, EXAMPLE

STATEMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "statements"
FORMATS = ["reconcile-2019-06-gbk.csv", "reconcile-2019-06-utf8-bom.csv", "reconcile-2019-06.xlsx"]
BUREAU = "fin-640422"
FUND = "F-2019-640422-training"
CLAIM = "C-2019-640422-0001"
A = "1551 0101 0400 0012 345"  # the example payment's account
B, C, D, E, F = (f"6222 0000 0000 000{n}" for n in range(2, 7))

# (payment_id, value_date, bank_reference, amount_fen, account) — after the example's P-…-0001
PAYMENTS = [
    ("P-2019-640422-0002", "2019-06-10", "REF-0002", 120000, B),
    ("P-2019-640422-0003", "2019-06-11", "REF-0003", 130000, B),
    ("P-2019-640422-0004", "2019-06-12", "REF-0004", 140000, B),
    ("P-2019-640422-0005", "2019-06-13", "REF-0005", 150000, B),
    ("P-2019-640422-0006", "2019-06-17", "REF-0006", 80000, D),
    ("P-2019-640422-0007", "2019-06-18", "REF-0007", 80000, D),
    ("P-2019-640422-0008", "2019-06-19", "REF-0008", 90000, B),
    ("P-2019-640422-0009", "2019-05-20", "REF-0009", 60000, E),  # returned, and the return recorded
    ("P-2019-640422-0010", "2019-05-25", "REF-0010", 70000, F),  # returned, the return not recorded
    ("P-2019-640422-0011", "2019-06-20", "REF-0011", 100000, B),
    ("P-2019-640422-0012", "2019-06-24", "REF-0012", 110000, A),
]

# file line → (status, method, payment_id), written by hand from the statement and PAYMENTS
EXPECTED: dict[int, tuple[str, str | None, str | None]] = {
    4: ("matched", "reference", "P-2019-640422-0001"),
    5: ("amount_mismatch", "reference", "P-2019-640422-0002"),  # 1,200.01 against 1,200.00
    6: ("payee_mismatch", "reference", "P-2019-640422-0003"),  # paid to …0003, not …0002
    7: ("date_mismatch", "reference", "P-2019-640422-0004"),  # 4 days after the value date
    8: ("matched", "reference", "P-2019-640422-0005"),
    9: ("duplicate_bank", "reference", None),  # REF-0005 a second time
    10: ("ambiguous", "amount_payee_date", None),  # 800.00 to …0004: P-0006 and P-0007 both fit
    11: ("unmatched_bank", None, None),  # 5,000.00 with no payment in the ledger
    12: ("return_matched", "memo_reference", "P-2019-640422-0009"),  # memo "退汇 原流水号REF-0009 …"
    13: ("return_not_recorded", "amount_payee", "P-2019-640422-0010"),  # memo "退汇": by amount and payee
    14: ("credit_other", None, None),  # 结息
    15: ("matched", "reference", "P-2019-640422-0011"),  # exactly 3 days after
    16: ("matched", "amount_payee_date", "P-2019-640422-0012"),  # the bank's own reference
}
UNMATCHED_LEDGER = ["P-2019-640422-0006", "P-2019-640422-0007", "P-2019-640422-0008"]
SUMMARY = {"unmatched_bank": 1, "duplicate_bank": 1, "payee_mismatch": 1, "amount_mismatch": 1, "unmatched_ledger": 3,
           "return_not_recorded": 1, "date_mismatch": 1, "ambiguous": 1, "return_matched": 1, "credit_other": 1,
           "matched": 4, "skipped": 1}  # fmt: skip


def payment_intents() -> str:
    lines = []
    for pid, day, ref, fen, account in PAYMENTS:
        lines.append({"actor": BUREAU, "type": "PaymentDisbursed", "at": f"{day}T10:00:00+08:00",
                      "body": {"payment_id": pid, "claim_id": CLAIM, "fund_id": FUND, "amount_fen": fen,
                               "payee_account": "", "bank_reference": ref, "value_date": day},
                      "pii": {"bank_account": account}})  # fmt: skip
    lines.append({"actor": BUREAU, "type": "PaymentReturned", "at": "2019-06-06T10:00:00+08:00",
                  "body": {"payment_id": "P-2019-640422-0009", "reason": "账户已销户，银行退汇"}})  # fmt: skip
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)


class Ledger:
    """A ledger folder and the database the CLI is pointed at."""

    def __init__(self, cwd: Path, db: str) -> None:
        self.cwd, self.env = cwd, {"LEDGER_DB": db, "LEDGER_LANG": "zh"}
        self.head = -1
        # reconcile's JSON by its arguments (all pinned by --as-of)
        self.answers: dict[tuple[str, ...], str] = {}

    def run(self, *args: str, lang: str = "zh") -> tuple[int, str, str]:
        result = run_cli(self.cwd, *args, env={**self.env, "LEDGER_LANG": lang})
        return result.returncode, result.stdout, result.stderr

    def reconcile(self, statement: str, *extra: str) -> dict[str, object]:
        """``reconcile --json`` of ``statement`` at the head; the same arguments are run once per ledger
        (the answer is a function of the ledger up to ``--as-of`` and the file: two tests asking the same
        question read the one answer; that it is the same bytes twice is its own test below)."""
        args = ("reconcile", "--statement", str(STATEMENTS / statement), "--period", "2019-06",
                "--as", BUREAU, "--as-of", str(self.head), "--json", *extra)  # fmt: skip
        if args not in self.answers:
            code, out, err = self.run(*args)
            assert code == 0, err
            self.answers[args] = out
        return json.loads(self.answers[args])  # type: ignore[no-any-return]

    def size(self) -> int:
        code, out, err = self.run("log", "--json")
        assert code == 0, err
        return out.count("\n")


def build(cwd: Path, db: str) -> Ledger:
    ledger = Ledger(cwd, db)
    make_ledger(cwd, ACTORS, example=EXAMPLE, env=ledger.env)
    intents = cwd / "payments.jsonl"
    intents.write_text(payment_intents(), encoding="utf-8")
    code, _, err = ledger.run("import", "--sign", str(intents))
    assert code == 0, err
    ledger.head = ledger.size() - 1
    return ledger


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    cwd = tmp_path_factory.mktemp(f"reconcile-{request.param}")
    if request.param == "sqlite":
        yield build(cwd, f"sqlite:///{cwd / 'ledger.db'}")
        return
    with pg_database() as url:
        yield build(cwd, url)


def by_line(result: dict[str, object]) -> dict[int, tuple[str, str | None, str | None]]:
    return {x["line"]: (x["status"], x.get("method"), x.get("payment_id")) for x in result["lines"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("statement", FORMATS)
def test_each_format_gives_the_hand_written_status_of_every_line(ledger: Ledger, statement: str) -> None:
    result = ledger.reconcile(statement)
    assert by_line(result) == EXPECTED
    assert [p["payment_id"] for p in result["unmatched_payments"]] == UNMATCHED_LEDGER  # type: ignore[attr-defined]
    assert result["summary"] == SUMMARY
    assert result["actor"] == BUREAU and result["period"] == "2019-06" and result["funds"] is None
    assert result["date_window"] == 3 and result["as_of"] == ledger.head
    assert result["statement_sha256"] == hashlib.sha256((STATEMENTS / statement).read_bytes()).hexdigest()
    lines = {x["line"]: x for x in result["lines"]}  # type: ignore[attr-defined]
    assert lines[5]["amount_fen"] == 120001 and lines[5]["ledger_amount_fen"] == 120000
    assert lines[5]["account_tail"] == "0002" and lines[5]["claim_id"] == CLAIM
    assert lines[10]["candidates"] == ["P-2019-640422-0006", "P-2019-640422-0007"]
    assert "account_tail" not in lines[14]  # 结息 has no counterparty account


def test_the_same_statement_gives_the_same_result_in_every_format_but_its_hash(ledger: Ledger) -> None:
    results = [ledger.reconcile(s) for s in FORMATS]
    for r in results:
        r.pop("statement_sha256"), r.pop("reconciliation_id")
    assert results[0] == results[1] == results[2]


def test_json_is_jcs_bytes_the_same_twice_and_never_shows_an_account_number(ledger: Ledger) -> None:
    args = ("reconcile", "--statement", str(STATEMENTS / FORMATS[0]), "--period", "2019-06", "--as", BUREAU,
            "--as-of", str(ledger.head), "--json")  # fmt: skip
    first, second = ledger.run(*args), ledger.run(*args)
    assert first[0] == 0 and first[1] == second[1]
    assert first[1].endswith("}\n") and first[1].count("\n") == 1
    doc = json.loads(first[1])
    assert first[1] == json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    for account in (A, B, C, D, E, F):
        digits = account.replace(" ", "")
        assert digits not in first[1] and digits[-8:] not in first[1]


def test_the_workbook_is_the_same_bytes_twice_with_a_summary_and_a_sheet_per_status(ledger: Ledger, tmp_path: Path) -> None:
    import openpyxl

    outs = [tmp_path / "one.xlsx", tmp_path / "two.xlsx"]
    for out in outs:
        code, _, err = ledger.run("reconcile", "--statement", str(STATEMENTS / FORMATS[2]), "--period", "2019-06",
                                  "--as", BUREAU, "--as-of", str(ledger.head), "--xlsx", str(out))  # fmt: skip
        assert code == 0, err
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert {i.date_time for i in zipfile.ZipFile(outs[0]).infolist()} == {(1980, 1, 1, 0, 0, 0)}
    book = openpyxl.load_workbook(outs[0])
    assert book.sheetnames == ["汇总", "银行有、账本无", "银行重复记录", "收款人不符", "金额不符", "账本有、银行无",
                               "退汇未登记", "日期不符", "无法唯一匹配", "退汇已登记", "其他入账", "已匹配"]  # fmt: skip
    summary = {row[1]: row[2] for row in book["汇总"].iter_rows(values_only=True) if row and row[1] in SUMMARY}
    assert summary == SUMMARY
    amount = book["金额不符"]["C2"]
    assert amount.value == 1200.01 and amount.number_format == "#,##0.00"  # a number in yuan, not text
    assert book["金额不符"]["D2"].value == 1200
    assert [r[6] for r in book["账本有、银行无"].iter_rows(min_row=2, values_only=True)] == UNMATCHED_LEDGER
    assert book["已匹配"].max_row == 1 + 4


def test_the_table_shows_the_summary_first_then_the_exceptions_most_serious_first(ledger: Ledger) -> None:
    code, out, err = ledger.run("reconcile", "--statement", str(STATEMENTS / FORMATS[0]), "--period", "2019-06",
                                "--as", BUREAU, "--as-of", str(ledger.head))  # fmt: skip
    assert code == 0, err
    assert out.index("汇总") < out.index("例外：共 10 笔")
    exceptions = out[out.index("例外：共 10 笔"):].splitlines()[3:]
    assert [row.split()[0] for row in exceptions] == ["银行有、账本无", "银行重复记录", "收款人不符", "金额不符",
                                                      "账本有、银行无", "账本有、银行无", "账本有、银行无", "退汇未登记",
                                                      "日期不符", "无法唯一匹配"]  # fmt: skip
    assert "1,200.01" in out and "0002" in out and "6222000000000002" not in out
    code, out, _ = ledger.run("reconcile", "--statement", str(STATEMENTS / FORMATS[0]), "--period", "2019-06",
                              "--as", BUREAU, "--as-of", str(ledger.head), lang="en")  # fmt: skip
    assert code == 0 and "summary" in out and "exceptions: 10 (most serious first)" in out and "amount mismatch" in out


def test_as_of_before_the_payments_sees_only_the_example_payment(ledger: Ledger) -> None:
    before = ledger.head - len(PAYMENTS) - 1  # the leaf before the imported payments and the return
    code, out, err = ledger.run("reconcile", "--statement", str(STATEMENTS / FORMATS[0]), "--period", "2019-06",
                                "--as", BUREAU, "--as-of", str(before), "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["as_of"] == before and result["unmatched_payments"] == []
    statuses = by_line(result)
    assert statuses[4] == ("matched", "reference", "P-2019-640422-0001")
    assert {statuses[n][0] for n in (5, 6, 7, 8, 10, 11, 15, 16)} == {"unmatched_bank"}
    assert statuses[9][0] == "unmatched_bank" and statuses[12][0] == statuses[13][0] == "credit_other"


def test_fund_and_window_options(ledger: Ledger) -> None:
    result = ledger.reconcile(FORMATS[0], "--fund", FUND)
    assert result["funds"] == [FUND] and by_line(result) == EXPECTED
    wider = by_line(ledger.reconcile(FORMATS[0], "--date-window", "4"))
    assert wider[7] == ("matched", "reference", "P-2019-640422-0004")  # 4 days: now within the window


def test_columns_maps_a_banks_own_headers(ledger: Ledger, tmp_path: Path) -> None:
    statement = tmp_path / "own-headers.csv"
    statement.write_text("日期,流水,账户,支出,收入,备注\n2019-06-04,XJNSH20190604000187,1551 0101 0400 0012 345,"
                         "\"14,400.00\",,培训补贴\n", encoding="utf-8")  # fmt: skip
    code, out, err = ledger.run("reconcile", "--statement", str(statement), "--period", "2019-06", "--as", BUREAU,
                                "--as-of", str(ledger.head), "--json", "--columns",
                                "value_date=日期,bank_reference=流水,account=账户,debit=支出,credit=收入,memo=备注")  # fmt: skip
    assert code == 0, err
    assert by_line(json.loads(out)) == {2: ("matched", "reference", "P-2019-640422-0001")}


BAD_INPUT = [
    (("--as", "hr-640422"), "不是财政局"),
    (("--as", "fin-640999"), "没有主体"),
    (("--as", BUREAU, "--fund", "F-2019-640422-nothing"), "没有专项资金"),
    (("--as", BUREAU, "--date-window", "-1"), "--date-window"),
    (("--as", BUREAU, "--json", "--xlsx", "out.xlsx"), "--json 与 --xlsx"),
    (("--as", BUREAU, "--columns", "debit"), "columns"),
    (("--as", BUREAU, "--columns", "amount=金额"), "amount"),
    (("--as", BUREAU, "--period", "2019-13"), "2019-13"),
    (("--as", BUREAU, "--period", "2019-07"), "第 4 行"),  # June's dates are outside July ± 3 days
]  # fmt: skip


def test_bad_input_is_one_line_exit_1_and_nothing_recorded(ledger: Ledger) -> None:
    size = ledger.size()
    for args, says in BAD_INPUT:
        period = () if "--period" in args else ("--period", "2019-06")
        result = run_cli(ledger.cwd, "reconcile", "--statement", str(STATEMENTS / FORMATS[0]), *period, *args,
                         "--record", env=ledger.env)  # fmt: skip
        assert says in one_line_error(result, 1), args
    office = ledger.cwd / "office-keys"  # a keystore without the pepper: an office's, not the service's
    shutil.copytree(ledger.cwd / "keys", office, ignore=shutil.ignore_patterns("pepper"), dirs_exist_ok=True)
    result = run_cli(ledger.cwd, "--keys", str(office), "reconcile", "--statement", str(STATEMENTS / FORMATS[0]),
                     "--period", "2019-06", "--as", BUREAU, "--record", env=ledger.env)  # fmt: skip
    assert "pepper" in one_line_error(result, 1)
    assert ledger.size() == size


def test_recording_signs_the_result_once_and_again_is_a_duplicate(ledger: Ledger) -> None:
    size = ledger.size()
    args = ("reconcile", "--statement", str(STATEMENTS / FORMATS[1]), "--period", "2019-06", "--as", BUREAU,
            "--as-of", str(ledger.head), "--json", "--record")  # fmt: skip
    code, out, err = ledger.run(*args)
    assert code == 0, err
    result = json.loads(out)
    assert f"已记录对账结果：seq {size}" in err
    assert ledger.size() == size + 1
    code, log, _ = ledger.run("log", "--json", "--from", str(size))
    envelope = json.loads(log)["envelope"]
    assert envelope["type"] == "ReconciliationRecorded" and envelope["actor"] == BUREAU
    body = envelope["body"]
    assert body["reconciliation_id"] == result["reconciliation_id"]
    assert (body["matched"], body["unmatched_ledger"], body["unmatched_bank"], body["mismatched"]) == (5, 3, 3, 4)
    assert body["counts"] == SUMMARY and body["exceptions_total"] == 10
    assert [e["status"] for e in body["exceptions"]] == ["unmatched_bank", "duplicate_bank", "payee_mismatch",
                                                         "amount_mismatch", "unmatched_ledger", "unmatched_ledger",
                                                         "unmatched_ledger", "return_not_recorded", "date_mismatch",
                                                         "ambiguous"]  # fmt: skip
    code, again, err = ledger.run(*args)
    assert code == 0 and again == out
    assert f"重复：同一对账单、同一结果已在 seq {size} 记录" in err
    assert ledger.size() == size + 1

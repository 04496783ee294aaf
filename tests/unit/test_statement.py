"""Reading bank statements (DESIGN §10, issue 14): the formats banks export, and every refusal.

The fixtures under tests/fixtures/statements/ are written by hand; what each line must read as is
written here as literals, not computed by the reader.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from api.errors import problem_for
from projections.reconciliation import statement
from projections.reconciliation.statement import (
    Statement,
    StatementLine,
    StatementRefused,
    read_statement,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "statements"
GBK_HEADER = "交易日期,交易流水号,对方账号,对方户名,支出金额,收入金额,摘要\n"


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "statement.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def refusal(path: Path, period: str = "2020-03", **kwargs: object) -> StatementRefused:
    with pytest.raises(StatementRefused) as caught:
        read_statement(path, period=period, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- the formats banks export ---------------------------------------------------------------------
def test_reads_a_gbk_statement_below_a_bank_preamble() -> None:
    read = read_statement(FIXTURES / "bank_gbk_preamble.csv", period="2020-03")
    assert read == Statement(
        sha256="498ef9ae9dc207f0c8e1d35303763b1ff5c9a533e772b78dc047ef7d1c539d25",
        encoding="gb18030",
        header_line=7,
        lines=[
            StatementLine(8, dt.date(2020, 3, 2), "ABC20200302000117", "6228480012345678901", 150000, 0,
                          "培训补贴 P-2020-0001", False),
            StatementLine(9, dt.date(2020, 3, 5), "ABC20200305000342", "6228480098765432100", 57050, 0,
                          "生活费补贴", False),
            StatementLine(10, dt.date(2020, 3, 9), "ABC20200309000020", None, 0, 100000000, "资金拨入", False),
            StatementLine(11, dt.date(2020, 3, 16), "ABC20200316000508", "6228480012345678901", 0, 150000,
                          "退汇 原交易流水号ABC20200302000117", False),
            StatementLine(12, dt.date(2020, 3, 31), "ABC20200331000001", None, 0, 1234, "结息", False),
            StatementLine(13, None, None, None, 0, 0, "", True),  # 合计
        ],
    )  # fmt: skip


def test_reads_a_utf8_bom_statement_with_english_headers_and_a_memo_over_two_lines() -> None:
    read = read_statement(FIXTURES / "utf8_bom_english.csv", period="2020-04")
    assert read == Statement(
        sha256="0eac50bbb8f1f5d6d61c00bdcc1a2a53432521db6c2e753b4b07ef7525944937",
        encoding="utf-8-sig",
        header_line=4,
        lines=[
            StatementLine(5, dt.date(2020, 4, 1), "ICBC0401A0001", "6222021234567890123", 228000, 0,
                          "training subsidy", False),
            StatementLine(6, dt.date(2020, 4, 3), "ICBC0403A0002", "6222029876543210", 1, 0,
                          "living allowance, April", False),
            StatementLine(7, dt.date(2020, 4, 7), "ICBC0407A0003", "6222021234567890123", 0, 228000,
                          "returned original ICBC0401A0001", False),
            StatementLine(9, dt.date(2020, 4, 30), None, None, 0, 45, "interest", False),  # reference "—"
            StatementLine(11, None, None, None, 0, 0, "", True),  # Total
        ],
    )  # fmt: skip


def test_reads_the_first_sheet_of_an_xlsx_statement_with_typed_cells() -> None:
    read = read_statement(FIXTURES / "bank_xlsx.xlsx", period="2020-05")
    assert read == Statement(
        sha256="1cb5a7d9a567124668318dafa6fa1d4529c6fb20203eb7d3ca413084eb8c061b",
        encoding="xlsx",
        header_line=5,
        lines=[
            StatementLine(6, dt.date(2020, 5, 6), "CCB0506X01", "6217001234567890123", 150050, 0,
                          "培训补贴 P-2020-0101", False),  # a date cell, a float amount, 用途 and 附言
            StatementLine(7, dt.date(2020, 5, 7), "202005070002", "6217009876543210987", 57000, 0,
                          "生活费补贴", False),  # a reference and an amount stored as integers
            StatementLine(8, dt.date(2020, 5, 28), "CCB0528X03", None, 0, 123456789, "资金拨入", False),
            StatementLine(9, dt.date(2020, 6, 3), "CCB0603X04", "6217001234567890123", 0, 150050,
                          "退汇 原流水 CCB0506X01", False),
            StatementLine(10, None, None, None, 0, 0, "", True),  # 合计
        ],
    )  # fmt: skip


def test_utf8_without_a_bom_is_read_as_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, GBK_HEADER + "20200301,R1,6222 0000 1111,王**,100,,培训补贴\n")
    read = read_statement(path, period="2020-03")
    assert read.encoding == "utf-8"
    assert read.lines == [
        StatementLine(2, dt.date(2020, 3, 1), "R1", "622200001111", 10000, 0, "培训补贴", False)
    ]


def test_the_same_text_in_gbk_reads_the_same_lines(tmp_path: Path) -> None:
    text = GBK_HEADER + '2020-03-02,R1,6222000011112222,王**,"1,000.5",,培训补贴\n'
    utf8, gbk = (
        read_statement(write(tmp_path, text), period="2020-03"),
        read_statement(write(tmp_path, text, "gbk", "gbk.csv"), period="2020-03"),
    )
    assert (utf8.encoding, gbk.encoding) == ("utf-8", "gb18030")
    assert (
        utf8.lines
        == gbk.lines
        == [StatementLine(2, dt.date(2020, 3, 2), "R1", "6222000011112222", 100050, 0, "培训补贴", False)]
    )


def test_columns_name_the_headers_a_bank_uses_instead(tmp_path: Path) -> None:
    path = write(tmp_path, "日期,业务编号,账号,借,贷\n2020-03-04,X9,6222000011112222,,8.00\n")
    assert "no header row" in str(refusal(path))
    columns = {
        "value_date": "日期",
        "bank_reference": "业务编号",
        "account": "账号",
        "debit": "借",
        "credit": "贷",
    }
    read = read_statement(path, period="2020-03", columns=columns)
    assert read.header_line == 1
    assert read.lines == [StatementLine(2, dt.date(2020, 3, 4), "X9", "6222000011112222", 0, 800, "", False)]


def test_the_first_listed_header_wins_when_a_bank_exports_both(tmp_path: Path) -> None:
    path = write(
        tmp_path, "记账日期,交易日期,流水号,对方账号,支出金额,收入金额\n2020-03-31,2020-03-30,R1,1,5,\n"
    )
    assert read_statement(path, period="2020-03").lines[0].value_date == dt.date(2020, 3, 30)  # 交易日期


@pytest.mark.parametrize(
    ("written", "day"), [("2020-02-27", dt.date(2020, 2, 27)), ("2020/04/03", dt.date(2020, 4, 3))]
)
def test_dates_within_the_window_around_the_period_are_read(
    tmp_path: Path, written: str, day: dt.date
) -> None:
    path = write(tmp_path, GBK_HEADER + f"{written},R1,1,,5,,\n")
    assert read_statement(path, period="2020-03", window=3).lines[0].value_date == day


def test_a_header_with_no_lines_is_an_empty_statement(tmp_path: Path) -> None:
    read = read_statement(write(tmp_path, GBK_HEADER), period="2020-03")
    assert (read.header_line, read.lines) == (1, [])


# --- refusals: one line naming the file line and the column ---------------------------------------
@pytest.mark.parametrize(
    ("row", "column", "says"),
    [
        ("2020-03-02,R1,1,,abc,,", "支出金额", "'abc' is not an amount in yuan"),
        ("2020-03-02,R1,1,,1.234,,", "支出金额", "'1.234' has more than 2 decimals"),
        ("2020-03-02,R1,1,,,\"1,000.005\",", "收入金额", "'1,000.005' has more than 2 decimals"),
        ("2020-03-02,R1,1,,-5.00,,", "支出金额", "'-5.00' is negative"),
        ("2020-13-02,R1,1,,5,,", "交易日期", "'2020-13-02' is not a date"),
        ("2020.03.02,R1,1,,5,,", "交易日期", "'2020.03.02' is not a date"),
        ("2020-04-04,R1,1,,5,,", "交易日期", "outside the period widened by the date window (2020-02-27 to 2020-04-03)"),
        ("2020-02-26,R1,1,,5,,", "交易日期", "outside the period"),
        (",R1,1,,5,,", "交易日期", "holds no date, though the line has a reference"),
        ("2020-03-02,R1,1,,5,5,", "支出金额/收入金额", "both money out and money in"),
        ("2020-03-02,R1,1,,0.00,,", "支出金额/收入金额", "neither money out nor money in"),
    ],
)  # fmt: skip
def test_an_unreadable_row_refuses_the_whole_statement(
    tmp_path: Path, row: str, column: str, says: str
) -> None:
    path = write(tmp_path, "银行对账单\n" + GBK_HEADER + "2020-03-01,R0,1,,5,,ok\n" + row + "\n")
    error = refusal(path)
    assert str(error).startswith(f"statement.csv: line 4, column{'s' if '/' in column else ''} {column}: ")
    assert says in str(error)
    assert error.zh is not None and error.zh.startswith(f"statement.csv 第 4 行「{column}」列：")
    assert (error.code, error.line) == ("statement_refused", 4)
    assert (problem_for(error).exit_status, problem_for(error).http_status) == (1, 422)


def test_a_header_row_without_the_needed_columns_names_what_it_lacks(tmp_path: Path) -> None:
    path = write(
        tmp_path, "账号：6222\n交易日期,交易流水号,对方户名,支出金额,收入金额\n2020-03-02,R1,王**,5,\n"
    )
    error = refusal(path)
    assert str(error) == (
        "statement.csv: line 2: no header row holds the needed columns; missing 对方账号/收款人账号/account "
        "(name them with --columns KEY=HEADER)"
    )
    assert error.line == 2


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert str(refusal(write(tmp_path, ""))) == "statement.csv: the file is empty"


def test_a_file_of_blank_lines_has_no_header(tmp_path: Path) -> None:
    assert "no header row holds the needed columns 交易日期/记账日期/value_date" in str(
        refusal(write(tmp_path, "\n\n,,\n"))
    )


def test_utf16_is_refused_as_an_encoding_not_read(tmp_path: Path) -> None:
    for encoding in ("utf-16", "utf-16-le"):  # with and without a byte-order mark
        error = refusal(write(tmp_path, GBK_HEADER + "2020-03-02,R1,1,,5,,\n", encoding))
        assert str(error) == (
            "statement.csv: the file is UTF-16 text, which is not read; save it as CSV in UTF-8 or GBK, or as XLSX"
        )


def test_bytes_neither_utf8_nor_gb18030_are_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_bytes(GBK_HEADER.encode("gbk") + b"2020-03-02,R1,1,,5,,\xff\xfe\n")
    assert str(refusal(path)) == (
        "statement.csv: line 2 is neither UTF-8 nor GB18030/GBK text; save it as CSV in UTF-8 or GBK, or as XLSX"
    )


def test_an_xls_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "明细.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert "save it as XLSX" in str(refusal(path))


def test_unknown_columns_keys_and_bad_periods_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GBK_HEADER)
    assert "unknown key 'amount'" in str(refusal(path, columns={"amount": "金额"}))
    assert "period '2020-3' is not a month YYYY-MM" in str(refusal(path, period="2020-3"))


def test_more_rows_than_the_cap_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statement, "MAX_STATEMENT_ROWS", 3)
    path = write(tmp_path, GBK_HEADER + "2020-03-02,R1,1,,5,,\n" * 3)
    error = refusal(path)
    assert str(error) == "statement.csv: more than 3 rows; split the statement by date"
    assert error.line == 4


def test_a_200_mb_statement_is_refused_while_memory_stays_flat(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    row = '2020-03-02,R000000001,6222000011112222,王**,"1,000.00",,培训补贴\n'.encode("gbk")
    block = GBK_HEADER.encode("gbk") + row * (1024 * 1024 // len(row))
    with path.open("wb") as file:
        for _ in range(200):
            file.write(block)
    assert path.stat().st_size > 200 * 1000 * 1000
    probe = (  # VmHWM: this process's peak RSS (ru_maxrss would carry over the forking parent's peak)
        "import re, sys\n"
        "from pathlib import Path\n"
        "from projections.reconciliation.statement import StatementRefused, read_statement\n"
        "def peak():\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())[1])\n"
        "before = peak()\n"
        "try:\n"
        "    read_statement(Path(sys.argv[1]), period='2020-03')\n"
        "except StatementRefused as error:\n"
        "    print(error)\n"
        "print(peak() - before)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    message, grown_kib = run.stdout.splitlines()
    assert message == "big.csv: larger than 64 MiB; split the statement by date and reconcile each part"
    assert int(grown_kib) < 16 * 1024  # read in 1 MiB chunks: the peak grows by a few MiB at most


# --- XLSX: typed cells, and bounded work on hostile workbooks -------------------------------------
XLSX_HEADER = ["交易日期", "交易流水号", "对方账号", "支出金额", "收入金额"]


def xlsx(tmp_path: Path, *rows: list[object]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(XLSX_HEADER)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "statement.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("cell", "fen"), [(1234.56, 123456), (0.07, 7), (1e3, 100000), (570, 57000), ("1,234.56", 123456)]
)
def test_xlsx_amount_cells_read_as_exact_fen(tmp_path: Path, cell: object, fen: int) -> None:
    read = read_statement(xlsx(tmp_path, ["2020-03-02", "R1", "1", cell, None]), period="2020-03")
    assert read.lines[0].debit_fen == fen


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        (1.005, "'1.005' has more than 2 decimals"),
        (-3, "'-3' is negative"),
        (True, "'True' is not an amount in yuan"),
    ],
)
def test_xlsx_number_cells_are_converted_exactly_or_refused(tmp_path: Path, cell: object, says: str) -> None:
    error = refusal(xlsx(tmp_path, ["2020-03-02", "R1", "1", cell, None]))
    assert str(error).startswith("statement.xlsx: line 2, column 支出金额: ")
    assert says in str(error)


def test_an_account_number_stored_as_a_number_that_lost_digits_is_refused(tmp_path: Path) -> None:
    error = refusal(xlsx(tmp_path, ["2020-03-02", "R1", 6.228480012345679e18, 5, None]))
    assert "column 对方账号" in str(error) and "keeps only 15 digits" in str(error)


def test_a_zip_bomb_is_refused_from_its_declared_sizes(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for _ in range(64):
                part.write(bytes(1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    error = refusal(path)
    assert str(error).startswith(
        "bomb.xlsx: not read as an XLSX workbook: part xl/worksheets/sheet1.xml would inflate"
    )
    assert "(a zip bomb)" in str(error)


def test_a_zip_of_too_many_parts_is_refused_before_its_directory_is_read(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(statement.XLSX_MAX_PARTS + 1):
            archive.writestr(f"p{index}", b"")
    assert str(refusal(path)) == "many.xlsx: not read as an XLSX workbook: it holds 1001 files"


def test_a_damaged_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.xlsx"
    path.write_bytes((FIXTURES / "bank_xlsx.xlsx").read_bytes()[:2000])
    assert str(refusal(path)).startswith("cut.xlsx: not read as an XLSX workbook: ")


def test_a_million_empty_styled_rows_end_the_sheet(tmp_path: Path) -> None:
    """Excel's formatted-but-empty rows: 1,000 empty rows in a row end the sheet, so reading stops
    there — the unreadable date written after the million empty rows is never reached."""
    base = xlsx(tmp_path, ["2020-03-02", "R1", "6222000011112222", 5, None])
    path = tmp_path / "styled.xlsx"
    empty = "".join(f'<row r="{n}" s="1" customFormat="1" ht="15"/>' for n in range(3, 1_000_003))
    beyond = '<row r="1000003"><c r="A1000003" t="inlineStr"><is><t>2020-99-99</t></is></c></row>'
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", (empty + beyond + "</sheetData>").encode())
            target.writestr(info, data)
    read = read_statement(path, period="2020-03")
    assert read.lines == [StatementLine(2, dt.date(2020, 3, 2), "R1", "6222000011112222", 500, 0, "", False)]


def test_a_part_larger_than_the_zip_declares_is_cut_at_its_declared_size_and_refused(tmp_path: Path) -> None:
    """A bomb that lies about its sizes gains nothing: zipfile inflates a part only up to the size
    the directory declares (then its CRC fails), so the check of declared sizes binds."""
    data = bytearray((FIXTURES / "bank_xlsx.xlsx").read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(FIXTURES / "bank_xlsx.xlsx") as archive:
        info = archive.getinfo(name.decode())
    central = data.index(b"PK\x01\x02")  # the central directory's entries, until the sheet's
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    for at in (info.header_offset + 22, central + 24):  # uncompressed size: local header, central directory
        data[at : at + 4] = (200).to_bytes(4, "little")
    path = tmp_path / "lying.xlsx"
    path.write_bytes(bytes(data))
    assert str(refusal(path)) == (
        "lying.xlsx: not read as an XLSX workbook: BadZipFile: Bad CRC-32 for file 'xl/worksheets/sheet1.xml'"
    )

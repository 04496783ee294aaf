"""Reading a bank statement (DESIGN §10): a CSV or XLSX file in, typed lines out, or one refusal.

The contract, step by step:

1. **Bytes.** The file is read once, streamingly, for its SHA-256 and its size; a statement over
   :data:`MAX_STATEMENT_BYTES` is refused at that point, with no more than a chunk in memory.
2. **Format.** A zip (``PK\\x03\\x04``) is an XLSX workbook: its first sheet is read with openpyxl in
   read-only mode, after the zip's declared sizes and ratios are checked (a zip bomb is refused before
   anything is inflated). Anything else is a CSV, in UTF-8, UTF-8 with a byte-order mark or
   GB18030/GBK — detected, not asked: a BOM means UTF-8; otherwise UTF-8 is tried and, at the first
   byte that is not UTF-8, the file is read again as GB18030 (a superset of GBK and GB2312).
3. **Header.** The header row is the first row holding every needed column (value date,
   reference, account, debit, credit); the rows above it (a bank's preamble: 账号, 户名, 起止日期 …)
   are read past. Headers are recognised by the names of :data:`HEADERS`, or by ``columns``.
4. **Rows.** A row with neither a date nor a reference is ``skipped`` (a date cell holds one when
   it has a digit, a reference cell when it has a Latin letter or a digit: ``合计``, ``Total`` and
   ``—`` hold neither); a wholly empty row is no line at all.
   Every other row must be a debit line (debit > 0, credit empty or 0) or a credit line (the other
   way round), dated within the period widened by the window; anything else refuses the whole
   statement with the file's line number and the column's header.

Money is parsed exactly (:func:`ledger.domain.money.parse_yuan`; an XLSX number cell through
``repr`` → ``Decimal``), never through a float. The payee's name is recognised but never read: it is
personal data the ledger does not keep (DESIGN §7). Account numbers are kept as digits only for the
caller to fingerprint and must never be stored or printed.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
import struct
import unicodedata
import warnings
import zipfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NoReturn
from xml.etree.ElementTree import ParseError

from ledger.domain.money import FEN_PER_YUAN, parse_yuan
from ledger.domain.schema import MAX_FEN
from ledger.errors import Refused

# Bounds that keep the work and the memory of one statement small whatever the file holds. A county
# finance bureau's special-fund account sees thousands of lines a month; 100,000 lines of GBK CSV
# are about 12 MB, and their lines about 60 MB of memory.
MAX_STATEMENT_BYTES = 64 * 1024 * 1024
MAX_STATEMENT_ROWS = 200_000  # rows of the file, preamble and empty rows included
HEADER_SEARCH_ROWS = 100  # the header must be among the first 100 non-empty rows
MAX_COLUMNS = 64  # XLSX: cells right of column BL are not read
EMPTY_RUN_LIMIT = 1_000  # XLSX: this many empty rows in a row end the sheet (1M styled empty rows)
XLSX_MAX_PARTS = 1_000  # files inside the zip; a statement workbook has about a dozen
XLSX_MAX_INFLATED = 256 * 1024 * 1024  # all parts together, as the zip declares them
XLSX_MAX_RATIO = 100  # inflated / compressed, for a part above 1 MiB: spreadsheet XML stays near 10
_CHUNK = 1024 * 1024
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of .xls

# DESIGN §10's headers, in order of preference when a bank exports several (交易日期 and 记账日期).
HEADERS: Mapping[str, tuple[str, ...]] = {
    "value_date": ("交易日期", "记账日期", "value_date"),
    "bank_reference": ("交易流水号", "流水号", "凭证号", "bank_reference"),
    "account": ("对方账号", "收款人账号", "account"),
    "name": ("对方户名", "收款人名称", "name"),
    "debit": ("支出金额", "借方发生额", "debit"),
    "credit": ("收入金额", "贷方发生额", "credit"),
    "memo": ("摘要", "用途", "附言", "memo"),
}
NEEDED = ("value_date", "bank_reference", "account", "debit", "credit")

# A cell: a str from a CSV; from an XLSX (openpyxl, values only) also a number, a datetime, a bool
# or None. Every use narrows it with isinstance.
Cell = object

_DATE = re.compile(r"(\d{4})([-/]?)(\d{2})\2(\d{2})")  # YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD
_MORE_DECIMALS = re.compile(r"[+-]?[\d,]*\.\d{3,}")
_ALNUM = re.compile(r"[0-9A-Za-z]")
_DIGIT = re.compile(r"[0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_CACHED = 4096  # distinct date or amount texts remembered per statement
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class StatementRefused(Refused):
    """A bank statement the reconciliation will not read (DESIGN §10): nothing was matched or
    recorded. ``line`` is the file's own line number (an XLSX row number) where there is one, and
    ``column`` the header of the column at fault."""

    code = "statement_refused"

    def __init__(self, message: str, *, zh: str, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One row of the statement below its header."""

    line: int  # the file's own line number (first row = 1); XLSX: the row number
    value_date: dt.date | None
    reference: str | None
    account: str | None  # the account number's digits as written (never stored or printed; fingerprint it)
    debit_fen: int  # 0 when empty
    credit_fen: int  # 0 when empty
    memo: str  # "" when absent
    skipped: bool  # a row with neither date nor reference (e.g. 合计)


@dataclass(frozen=True)
class Statement:
    """A statement that was read whole: every line below the header, in file order."""

    sha256: str  # of the file's bytes
    encoding: str  # "utf-8", "utf-8-sig", "gb18030", "xlsx"
    header_line: int
    lines: list[StatementLine]


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``KEY=HEADER,…`` (the CLI's ``--columns``, the API's ``columns``) as the mapping
    :func:`read_statement` takes; it checks the keys."""
    if text is None:
        return None
    mapping = {}
    for item in text.split(","):
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise StatementRefused(
                f"columns {item!r}: expected KEY=HEADER, comma-separated (e.g. value_date=记账日期,debit=借方)",
                zh=f"列名映射（columns）{item!r}：应为 列名=表头，以逗号分隔（如 value_date=记账日期,debit=借方）")  # fmt: skip
        mapping[key.strip()] = header.strip()
    return mapping


def read_statement(
    path: Path, *, period: str, window: int = 3, columns: Mapping[str, str] | None = None
) -> Statement:
    """Read the bank statement at ``path`` for ``period`` (``YYYY-MM``), whose dates may lie up to
    ``window`` days outside the month; ``columns`` maps a key of :data:`HEADERS` to the header the
    bank uses instead. Raises :class:`StatementRefused` (one line: the file line and the column)."""
    name = path.name
    first, last = _period_bounds(period, window)
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(HEADERS))
    if unknown:
        raise StatementRefused(
            f"--columns: unknown key {unknown[0]!r} (keys: {', '.join(HEADERS)})",
            zh=f"--columns：没有 {unknown[0]!r} 这一列名（可用：{'、'.join(HEADERS)}）",
        )
    sha256, head = _digest(path)
    reader = _Reader(name, first, last, columns)
    if head.startswith(_OLE2):  # many banks' "Excel" export: the 97–2003 format, which openpyxl does not read
        raise StatementRefused(
            f"{name}: an XLS workbook (Excel 97-2003) is not read; open it in Excel or WPS and save it as XLSX",
            zh=f"{name}：不能读取 XLS（Excel 97-2003）格式，请用 Excel 或 WPS 打开后另存为 XLSX",
        )
    if head.startswith(b"PK\x03\x04"):
        _check_zip(path, name)
        with closing(_xlsx_rows(path, name)) as rows:
            header_line, lines = reader.read(rows, stop_on_empty_run=True)
        return Statement(sha256, "xlsx", header_line, lines)
    encoding, header_line, lines = _read_csv(path, name, head, reader)
    return Statement(sha256, encoding, header_line, lines)


def _period_bounds(period: str, window: int) -> tuple[dt.date, dt.date]:
    if not _PERIOD.fullmatch(period):
        raise StatementRefused(
            f"period {period!r} is not a month YYYY-MM", zh=f"对账期间 {period!r} 不是 YYYY-MM 格式的月份"
        )
    if not 0 <= window <= 31:
        raise StatementRefused(
            f"date window {window} is not 0 to 31 days", zh=f"日期窗口 {window} 不在 0 至 31 天之间"
        )
    year, month = int(period[:4]), int(period[5:])
    start = dt.date(year, month, 1)
    end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return start - dt.timedelta(days=window), end + dt.timedelta(days=window)


# --- 1. bytes ------------------------------------------------------------------------------------
def _digest(path: Path) -> tuple[str, bytes]:
    """The file's SHA-256 and its first bytes, read in chunks; too large or empty is refused here."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                if not head:
                    head = chunk[:65536]
                size += len(chunk)
                if size > MAX_STATEMENT_BYTES:
                    mib = MAX_STATEMENT_BYTES // 1024 // 1024
                    raise StatementRefused(
                        f"{path.name}: larger than {mib} MiB; split the statement by date and reconcile each part",
                        zh=f"{path.name}：文件超过 {mib} MiB，请按日期分段导出后分别对账",
                    )
                digest.update(chunk)
    except OSError as exc:
        raise StatementRefused(
            f"{path.name}: cannot be read ({exc.strerror or exc})",
            zh=f"{path.name}：无法读取（{exc.strerror or exc}）",
        ) from None
    if size == 0:
        raise StatementRefused(f"{path.name}: the file is empty", zh=f"{path.name}：文件是空的")
    return digest.hexdigest(), head


# --- 2. format: CSV ------------------------------------------------------------------------------
_OTHER_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
               (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))  # fmt: skip
_ENCODINGS_EN = "save it as CSV in UTF-8 or GBK, or as XLSX"
_ENCODINGS_ZH = "请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX"


def _read_csv(path: Path, name: str, head: bytes, reader: _Reader) -> tuple[str, int, list[StatementLine]]:
    if head.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        for bom, family in _OTHER_BOMS:
            if head.startswith(bom):
                _refuse_encoding(name, family)
        if b"\x00" in head:  # UTF-16 or UTF-32 without a BOM: text has no NUL bytes
            _refuse_encoding(name, "UTF-16")
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            with path.open(encoding=encoding, errors="strict", newline="") as text:
                header_line, lines = reader.read(_csv_rows(text, name), stop_on_empty_run=False)
        except UnicodeDecodeError:
            continue
        return encoding, header_line, lines
    line = _undecodable_line(path, encodings[-1])
    if encodings == ("utf-8-sig",):
        raise StatementRefused(
            f"{name}: line {line} is not UTF-8 though the file starts with a UTF-8 byte-order mark; {_ENCODINGS_EN}",
            zh=f"{name} 第 {line} 行：文件以 UTF-8 标记开头，但该行不是 UTF-8 文本；{_ENCODINGS_ZH}",
            line=line,
        )
    raise StatementRefused(
        f"{name}: line {line} is neither UTF-8 nor GB18030/GBK text; {_ENCODINGS_EN}",
        zh=f"{name} 第 {line} 行：既不是 UTF-8 也不是 GB18030/GBK 编码；{_ENCODINGS_ZH}",
        line=line,
    )


def _refuse_encoding(name: str, family: str) -> NoReturn:
    raise StatementRefused(
        f"{name}: the file is {family} text, which is not read; {_ENCODINGS_EN}",
        zh=f"{name}：文件是 {family} 编码，不能读取；{_ENCODINGS_ZH}",
    )


def _undecodable_line(path: Path, encoding: str) -> int:
    """The first line that ``encoding`` cannot decode (a newline byte is never part of a UTF-8 or
    GB18030 character, so lines can be decoded one by one)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as file:
        number = 0
        for number, raw in enumerate(file, 1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError:
                return number
        return number


def _csv_rows(text: Iterator[str], name: str) -> Iterator[tuple[int, Sequence[Cell]]]:
    """Each CSV record with the file line it starts on (a quoted field may span lines)."""
    reader = csv.reader(text)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise StatementRefused(
            f"{name}: line {start}: not readable as CSV ({exc})",
            zh=f"{name} 第 {start} 行：不是有效的 CSV（{exc}）",
            line=start,
        ) from None


# --- 2. format: XLSX -----------------------------------------------------------------------------
def _check_zip(path: Path, name: str) -> None:
    """Refuse a zip bomb from what the zip declares, before anything is inflated. The declared
    sizes bind: :mod:`zipfile` stops a part at its declared size (and then fails its CRC)."""
    with path.open("rb") as file:
        file.seek(0, 2)
        size = file.tell()
        file.seek(max(0, size - 22 - 65535))  # the end record: 22 bytes and a comment of up to 64 KiB
        tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        _refuse_xlsx(name, "it is a zip without a readable end record", "压缩包没有可读的目录结尾")
    parts = struct.unpack_from("<H", tail, at + 10)[0]
    if parts > XLSX_MAX_PARTS:  # 0xFFFF too: a statement never needs ZIP64
        _refuse_xlsx(name, f"it holds {parts} files", f"压缩包内有 {parts} 个文件")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        _refuse_xlsx(name, f"it is not a readable zip ({exc})", f"不是可读的压缩包（{exc}）")
    inflated = 0
    for info in infos:
        inflated += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _CHUNK and ratio > XLSX_MAX_RATIO:
            _refuse_xlsx(
                name,
                f"part {info.filename} would inflate {ratio:.0f} times, to {info.file_size:,} bytes (a zip bomb)",
                f"其中 {info.filename} 解压后膨胀 {ratio:.0f} 倍，达 {info.file_size:,} 字节（压缩炸弹）",
            )
    if inflated > XLSX_MAX_INFLATED:
        _refuse_xlsx(
            name,
            f"its parts would inflate to {inflated:,} bytes, more than {XLSX_MAX_INFLATED:,}",
            f"解压后共 {inflated:,} 字节，超过上限 {XLSX_MAX_INFLATED:,}",
        )


def _refuse_xlsx(name: str, why: str, why_zh: str) -> NoReturn:
    raise StatementRefused(
        f"{name}: not read as an XLSX workbook: {why}", zh=f"{name}：不能作为 XLSX 工作簿读取：{why_zh}"
    )


# What reading a damaged workbook raises besides openpyxl's own error: a bad zip, a missing part, bad XML or values.
_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, TypeError, ParseError, OSError)


def _xlsx_rows(path: Path, name: str) -> Generator[tuple[int, Sequence[Cell]]]:
    """The first sheet's rows with their row numbers, streamed (read-only mode)."""
    import openpyxl  # here, not above: its import costs ~0.4 s that a CSV statement need not pay
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    errors = (InvalidFileException, *_XLSX_ERRORS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no default style", unknown extensions: not the statement's content
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except errors as exc:
            _refuse_xlsx(name, f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}：{exc}")
        try:
            sheet = workbook.worksheets[0] if workbook.worksheets else None
            if not isinstance(sheet, ReadOnlyWorksheet):
                _refuse_xlsx(name, "its first sheet is not a worksheet", "第一个工作表不是数据表")
            sheet.reset_dimensions()  # a stale <dimension> would cut rows off; read what is there
            rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
            number = 0
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    return
                except errors as exc:
                    raise StatementRefused(
                        f"{name}: row {number + 1}: the sheet is damaged ({type(exc).__name__}: {exc})",
                        zh=f"{name} 第 {number + 1} 行：工作表已损坏（{type(exc).__name__}：{exc}）",
                        line=number + 1,
                    ) from None
                number += 1
                yield number, row
        finally:
            workbook.close()


# --- 3 and 4. header and rows --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each column is in the rows below the header."""

    value_date: int
    bank_reference: int
    account: int
    debit: int
    credit: int
    memo: tuple[int, ...]
    headers: Mapping[str, str]  # key → the header as the file writes it, for messages


class _Reader:
    """The header search and the row rules, the same for CSV and XLSX rows."""

    def __init__(self, name: str, first: dt.date, last: dt.date, columns: Mapping[str, str]) -> None:
        self.name = name
        self.first = first
        self.last = last
        self.names = {key: (columns[key],) if key in columns else aliases for key, aliases in HEADERS.items()}
        # A month has ~35 distinct date texts, and subsidies are paid in a few standard amounts:
        # each text is parsed once.
        self.dates: dict[str, dt.date] = {}
        self.amounts: dict[str, int] = {}

    def read(
        self, rows: Iterator[tuple[int, Sequence[Cell]]], *, stop_on_empty_run: bool
    ) -> tuple[int, list[StatementLine]]:
        layout: _Layout | None = None
        header_line = 0
        lines: list[StatementLine] = []
        searched = empty_run = 0
        nearest: tuple[int, int, list[str]] = (0, 0, [])  # (found, line, missing) of the best header try
        for count, (number, cells) in enumerate(rows, 1):
            if count > MAX_STATEMENT_ROWS:
                raise StatementRefused(
                    f"{self.name}: more than {MAX_STATEMENT_ROWS:,} rows; split the statement by date",
                    zh=f"{self.name}：超过 {MAX_STATEMENT_ROWS:,} 行，请按日期分段导出",
                    line=number,
                )
            if not any(map(_text, cells)):
                empty_run += 1
                if stop_on_empty_run and empty_run >= EMPTY_RUN_LIMIT:
                    break  # Excel's formatted-but-empty rows: the sheet's data is over
                continue
            empty_run = 0
            if layout is not None:
                lines.append(self.line(number, cells, layout))
                continue
            layout, missing = self.header(cells)
            if layout is not None:
                header_line = number
                continue
            found = len(NEEDED) - len(missing)
            if found > nearest[0]:
                nearest = (found, number, missing)
            searched += 1
            if searched >= HEADER_SEARCH_ROWS:
                break
        if layout is None:
            self.refuse_header(nearest)
        return header_line, lines

    def header(self, cells: Sequence[Cell]) -> tuple[_Layout | None, list[str]]:
        positions: dict[str, int] = {}
        written: dict[str, str] = {}
        for index, cell in enumerate(cells):
            text = _text(cell)
            positions.setdefault(text.casefold(), index)
            written.setdefault(text.casefold(), text)
        found: dict[str, list[int]] = {}
        for key, names in self.names.items():
            found[key] = [positions[n.casefold()] for n in names if n.casefold() in positions]
        missing = [key for key in NEEDED if not found[key]]
        if missing:
            return None, missing
        headers = {key: _text(cells[indexes[0]]) for key, indexes in found.items() if indexes}
        memo = tuple(dict.fromkeys(found["memo"]))  # every memo column the bank fills (摘要, 附言 …)
        headers["memo"] = "/".join(_text(cells[i]) for i in memo)
        first = {key: indexes[0] for key, indexes in found.items() if indexes}
        return _Layout(first["value_date"], first["bank_reference"], first["account"], first["debit"],
                       first["credit"], memo, headers), []  # fmt: skip

    def refuse_header(self, nearest: tuple[int, int, list[str]]) -> NoReturn:
        _, number, missing = nearest
        wanted = "; ".join("/".join(self.names[key]) for key in (missing or NEEDED))
        if number:
            raise StatementRefused(
                f"{self.name}: line {number}: no header row holds the needed columns; missing {wanted} "
                "(name them with --columns KEY=HEADER)",
                zh=f"{self.name} 第 {number} 行：找不到含全部必需列的表头行，缺少 {wanted}"
                "（可用 --columns 键=列名 指定）",
                line=number,
            )
        raise StatementRefused(
            f"{self.name}: no header row holds the needed columns {wanted} (name them with --columns "
            f"KEY=HEADER; if the file is in another encoding, {_ENCODINGS_EN})",
            zh=f"{self.name}：找不到含必需列 {wanted} 的表头行（可用 --columns 键=列名 指定；"
            f"如文件为其他编码，{_ENCODINGS_ZH}）",
        )

    def line(self, number: int, cells: Sequence[Cell], layout: _Layout) -> StatementLine:
        width = len(cells)
        date_cell = cells[layout.value_date] if layout.value_date < width else None
        reference = _reference(cells[layout.bank_reference] if layout.bank_reference < width else None)
        if reference is None and not _holds_date(date_cell):
            return StatementLine(number, None, None, None, 0, 0, "", True)
        value_date = self.value_date(date_cell, number, layout)
        debit = self.fen(cells[layout.debit] if layout.debit < width else None, number, layout, "debit")
        credit = self.fen(cells[layout.credit] if layout.credit < width else None, number, layout, "credit")
        if (debit > 0) == (credit > 0):
            both = debit > 0
            raise StatementRefused(
                f"{self.name}: line {number}, columns {layout.headers['debit']}/{layout.headers['credit']}: "
                + ("both money out and money in" if both else "neither money out nor money in"),
                zh=f"{self.name} 第 {number} 行「{layout.headers['debit']}/{layout.headers['credit']}」列："
                + ("支出和收入同时有金额" if both else "支出和收入都没有金额"),
                line=number, column=layout.headers["debit"],
            )  # fmt: skip
        account = self.account(cells[layout.account] if layout.account < width else None, number, layout)
        only = cells[layout.memo[0]] if len(layout.memo) == 1 and layout.memo[0] < width else None
        if isinstance(only, str):
            memo = only.strip()  # the usual: one memo column
        else:
            memo = " ".join([text for i in layout.memo if i < width and (text := _text(cells[i]))])
        if "  " in memo or not memo.isprintable():  # a memo over two lines, tabs, runs of spaces
            memo = " ".join(memo.split())
        return StatementLine(number, value_date, reference, account, debit, credit, memo, False)

    def refuse(self, number: int, layout: _Layout, key: str, value: Cell, why: str, why_zh: str) -> NoReturn:
        header = layout.headers[key]
        shown = _text(value)[:40]
        raise StatementRefused(
            f"{self.name}: line {number}, column {header}: {shown!r} {why}",
            zh=f"{self.name} 第 {number} 行「{header}」列：“{shown}”{why_zh}",
            line=number, column=header,
        )  # fmt: skip

    def value_date(self, cell: Cell, number: int, layout: _Layout) -> dt.date:
        if isinstance(cell, str):
            known = self.dates.get(cell)  # only dates within the bounds are remembered
            if known is not None:
                return known
        if not _holds_date(cell):
            self.refuse(number, layout, "value_date", cell, "holds no date, though the line has a reference",
                        "没有日期（该行有交易流水号）")  # fmt: skip
        day: dt.date | None = None
        if isinstance(cell, dt.datetime):
            day = cell.date()
        elif isinstance(cell, dt.date):
            day = cell
        elif isinstance(cell, str | int | float) and not isinstance(cell, bool):
            match = _DATE.fullmatch(_text(cell))
            if match is not None:
                try:
                    day = dt.date(int(match[1]), int(match[3]), int(match[4]))
                except ValueError:
                    day = None
        if day is None:
            self.refuse(number, layout, "value_date", cell, "is not a date YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD",
                        "不是 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD 格式的日期")  # fmt: skip
        if not self.first <= day <= self.last:
            self.refuse(number, layout, "value_date", cell,
                        f"is outside the period widened by the date window ({self.first} to {self.last})",
                        f"超出对账期间加日期窗口的范围（{self.first} 至 {self.last}）")  # fmt: skip
        if isinstance(cell, str) and len(self.dates) < _CACHED:
            self.dates[cell] = day
        return day

    def fen(self, cell: Cell, number: int, layout: _Layout, key: str) -> int:
        if isinstance(cell, str):
            if not cell:
                return 0
            known = self.amounts.get(cell)
            if known is not None:
                return known
            text = _unwrap(cell)
            if not text:
                return 0
            try:
                fen = parse_yuan(text)
            except ValueError:
                if _MORE_DECIMALS.fullmatch(text):
                    self.refuse(number, layout, key, cell, "has more than 2 decimals", "超过两位小数")
                self.refuse(number, layout, key, cell, "is not an amount in yuan", "不是以元为单位的金额")
        elif cell is None:
            return 0
        elif isinstance(cell, int | float | Decimal) and not isinstance(cell, bool):
            # An XLSX number: Excel keeps 1234.56 as the double nearest to it, whose repr is "1234.56".
            exact = (
                cell if isinstance(cell, Decimal) else Decimal(cell if isinstance(cell, int) else repr(cell))
            )
            if not exact.is_finite():
                self.refuse(number, layout, key, cell, "is not an amount in yuan", "不是以元为单位的金额")
            scaled = exact * FEN_PER_YUAN
            if scaled != scaled.to_integral_value():
                self.refuse(number, layout, key, cell, "has more than 2 decimals", "超过两位小数")
            fen = int(scaled)
        else:
            self.refuse(number, layout, key, cell, "is not an amount in yuan", "不是以元为单位的金额")
        if fen < 0:
            self.refuse(number, layout, key, cell, "is negative: write money out as debit, money in as credit",
                        "为负数：支出记入支出列，收入记入收入列")  # fmt: skip
        if fen > MAX_FEN:
            self.refuse(number, layout, key, cell, "is too large", "金额过大")
        if isinstance(cell, str) and len(self.amounts) < _CACHED:
            self.amounts[cell] = fen
        return fen

    def account(self, cell: Cell, number: int, layout: _Layout) -> str | None:
        if isinstance(cell, str) and cell.isdigit() and cell.isascii():
            return cell  # the usual cell: digits only
        if isinstance(cell, float) and not (cell.is_integer() and cell < 1e15):
            # Excel keeps 15 significant digits of a number: a longer account number lost its tail.
            self.refuse(number, layout, "account", cell,
                        "is an account number stored as a number, which keeps only 15 digits; "
                        "format the column as text", "是以数字保存的账号，只保留 15 位有效数字；请将该列设为文本格式")  # fmt: skip
        text = _reference(cell)
        if text is None:
            return None
        return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text)) or None


def _text(cell: Cell) -> str:
    """A cell as trimmed text ("" for an empty cell); an integral float without its ".0"."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2**53:
        return str(int(cell))
    return str(cell)


def _unwrap(text: str) -> str:
    """Trimmed text without the marks banks add so that Excel keeps a number as text:
    ``="6222…"``, a leading apostrophe, or a tab (trimmed with the other spaces)."""
    text = text.strip()
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        return text[2:-1].strip()
    if text.startswith("'"):
        return text[1:].strip()
    return text


def _holds_date(cell: Cell) -> bool:
    """Whether a date cell holds one: any digit (``合计``, ``Total``, ``—`` do not)."""
    if cell is None:
        return False
    if isinstance(cell, str):
        return _DIGIT.search(cell) is not None
    return True


def _reference(cell: Cell) -> str | None:
    if isinstance(cell, str) and cell.isalnum() and cell.isascii():
        return cell  # the usual cell: a plain reference
    text = _unwrap(_text(cell))
    return text if _ALNUM.search(text) else None

"""The monthly report as an XLSX workbook: a sheet per section, real numbers, native charts.

Amounts are yuan values (exact decimals of the integer fen) formatted ``#,##0.00``, counts
``#,##0``, so a reader can sum and filter them. The workbook repeats byte for byte (DESIGN §11):
its document properties and every ZIP entry carry the checkpoint's signing time, never the
clock, and sheets, cells and charts are written in the report's order.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from api.i18n import Lang
from api.reports import view
from api.reports.charts import GUIDE, PALETTE

YUAN = "#,##0.00"
COUNT = "#,##0"
RATIO = "0.00"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="F1F1F1")
TOTAL_FILL = PatternFill("solid", fgColor="FAFAFA")
THIN = Side(style="thin", color="555555")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
# A workbook made with no checkpoint time still needs one fixed moment: the earliest a ZIP holds.
ZIP_EPOCH = datetime(1980, 1, 1)


def render_xlsx(doc: Mapping[str, Any], series: Sequence[Mapping[str, Any]], *, lang: Lang) -> bytes:
    """The report of ``doc`` (DESIGN §11 JSON) as XLSX bytes; the same inputs, the same bytes."""
    report = view.build(doc, series, lang)
    moment = _signed_at(doc)
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]  # one sheet per section, nothing else
    for section in report.sections:
        _sheet(workbook.create_sheet(section.sheet), report, section)
    props = workbook.properties
    props.title = f"{report.title}{report.issue}"
    props.creator = props.lastModifiedBy = report.issuer
    props.created = props.modified = moment
    # openpyxl's save() stamps ``modified`` with the clock; its writer, used directly, does not.
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return _fixed_zip(raw.getvalue(), moment)


def _signed_at(doc: Mapping[str, Any]) -> datetime:
    """The checkpoint's signing time (naive UTC, as XLSX properties hold it), else the ZIP epoch."""
    signed = doc["checkpoint"].get("signed_at")
    if not signed:
        return ZIP_EPOCH
    return datetime.fromisoformat(signed.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _fixed_zip(data: bytes, moment: datetime) -> bytes:
    """``data``'s entries rewritten in the same order with one fixed time, instead of the clock's."""
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second // 2 * 2)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry))
    return out.getvalue()


def _value(cell: view.Cell) -> tuple[object, str | None]:
    """A cell as the workbook stores it, with its number format."""
    if isinstance(cell, view.Money):
        return Decimal(cell.fen).scaleb(-2), YUAN
    if isinstance(cell, bool) or cell is None:
        return cell, None
    if isinstance(cell, int):
        return cell, COUNT
    if isinstance(cell, Decimal):
        return cell, RATIO
    return cell, None


def _width(cell: view.Cell) -> int:
    text = view.text(cell)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _sheet(ws: Worksheet, report: view.Report, section: view.Section) -> None:
    ws.append([f"{report.title}{report.issue}"])
    ws["A1"].font = TITLE
    ws.append([section.title])
    ws["A2"].font = BOLD
    for sentence in section.lead:
        ws.append([sentence])
    places: dict[str, tuple[int, int]] = {}  # grid key → (header row, last body row)
    widths: dict[int, int] = {}
    for grid in section.grids:
        ws.append([])
        ws.append([grid.caption])
        ws.cell(ws.max_row, 1).font = BOLD
        ws.append(list(grid.header))
        header = ws.max_row
        for column, name in enumerate(grid.header, start=1):
            cell = ws.cell(header, column)
            cell.font, cell.fill, cell.border = BOLD, HEADER_FILL, BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            widths[column] = max(widths.get(column, 0), min(_width(name), 24))
        for offset, row in enumerate((*grid.rows, *((grid.total,) if grid.total else ())), start=1):
            ws.append([_value(c)[0] for c in row])
            for column, c in enumerate(row, start=1):
                cell = ws.cell(header + offset, column)  # not ws.max_row: openpyxl counts every cell for it
                cell.border = BOX
                fmt = _value(c)[1]
                if fmt:
                    cell.number_format = fmt
                if row is grid.total:
                    cell.font, cell.fill = BOLD, TOTAL_FILL
                widths[column] = max(widths.get(column, 0), _width(c))
        places[grid.key] = (header, header + len(grid.rows))
        if len(places) == 1:
            ws.freeze_panes = f"A{header + 1}"  # the title, the lead and the first table's header stay in view
    for column, width in sorted(widths.items()):
        ws.column_dimensions[get_column_letter(column)].width = width + 3
    # Charts below the tables, so the sheet prints on A4 portrait, one page wide, like the HTML.
    below = ws.max_row + 2
    for k, chart in enumerate(section.charts):
        header, last = places[chart.grid]
        ws.add_chart(_chart(ws, chart, header, last), f"A{below + 18 * k}")
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def _chart(ws: Worksheet, chart: view.Chart, header: int, last: int) -> LineChart | BarChart:
    """A native chart of the grid written at rows ``header``…``last``: the same cells the HTML plots."""
    native: LineChart | BarChart
    if chart.kind == "line":
        native = LineChart()
    else:
        native = BarChart()
        native.type = "col" if chart.kind == "bar" else "bar"
        if chart.kind == "hbar":
            native.x_axis.scaling.orientation = "maxMin"  # the first category on top, as in the table
    native.title = chart.title
    native.width, native.height = 16, 8.5
    for column in (*chart.values, *chart.guides):
        data = Reference(ws, min_col=column + 1, min_row=header, max_row=last)
        native.add_data(data, titles_from_data=True)
    # The categories are names and months: a text reference (set_categories would make it numeric).
    categories = AxDataSource(strRef=StrRef(f=str(Reference(ws, min_col=1, min_row=header + 1, max_row=last))))
    for series in native.series:
        series.cat = categories
    for k, series in enumerate(native.series):
        guide = k >= len(chart.values)  # the target's bounds: red dashes, as in the HTML
        series.graphicalProperties.line.solidFill = GUIDE if guide else PALETTE[(k + 1) % len(PALETTE)]
        if chart.kind == "line":
            series.graphicalProperties.line.dashStyle = "dash" if guide else "solid"
        else:
            series.graphicalProperties.solidFill = PALETTE[k % len(PALETTE)]
    if len(native.series) == 1:
        native.legend = None
    native.x_axis.delete = False
    native.y_axis.delete = False
    return native

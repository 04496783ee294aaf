"""XLSX workbooks that are the same bytes for the same content: what :mod:`.canonical` is for JSON.

``reconcile --xlsx`` writes its result with it and the simulator its bank statements (any package
may import it: it draws nothing and chooses no language). openpyxl stamps a workbook with the time of saving: the document properties
(``docProps/core.xml``: created, modified) and every ZIP entry's date (a worksheet's from the
temporary file it was written to). Both are fixed here, and the
entries are written in openpyxl's own fixed order, so a workbook's bytes depend on its cells alone.
Money goes in as exact numbers of yuan (``Decimal``, never a float) shown with two decimals.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from ledger.errors import OperationalError

if TYPE_CHECKING:
    from _typeshed import SizedBuffer, StrPath

YUAN_FORMAT: Final = "#,##0.00"
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP entry can carry
_PROPERTIES_TIME: Final = dt.datetime(1980, 1, 1)


def yuan_number(fen: int) -> Decimal:
    """``150001`` fen → ``Decimal("1500.01")``: the cell's exact value, written as digits."""
    return Decimal(fen).scaleb(-2)


class _FixedTimeZip(zipfile.ZipFile):
    """A ZIP whose entries all carry one date and one mode, whatever the clock says."""

    def writestr(self, zinfo_or_arcname: str | zipfile.ZipInfo, data: SizedBuffer | str,
                 compress_type: int | None = None, compresslevel: int | None = None) -> None:  # fmt: skip
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        super().writestr(info, data, compresslevel=compresslevel)

    def write(self, filename: StrPath, arcname: StrPath | None = None,
              compress_type: int | None = None, compresslevel: int | None = None) -> None:  # fmt: skip
        """openpyxl writes each worksheet from a temporary file: its bytes, not its modification time."""
        self.writestr(str(arcname or filename), Path(filename).read_bytes(), compresslevel=compresslevel)


def workbook_bytes(workbook: Workbook, creator: str = "subsidy-ledger") -> bytes:
    """``workbook`` as XLSX bytes that depend on its content (and ``creator``) alone."""
    workbook.properties.created = workbook.properties.modified = _PROPERTIES_TIME
    workbook.properties.creator = creator
    buffer = io.BytesIO()
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()  # not save(): that stamps the modified time
    return buffer.getvalue()


def save(workbook: Workbook, path: Path) -> None:
    """Write ``workbook`` to ``path`` (:func:`workbook_bytes`); an unwritable path is an operational error."""
    data = workbook_bytes(workbook)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise OperationalError(f"cannot write {path}: {exc.strerror}") from None

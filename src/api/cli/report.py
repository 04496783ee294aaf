"""``report monthly`` (DESIGN §11): the HR bureaus' monthly accountability report (月度情况通报).

The figures are counted in the projections (:mod:`projections.reports.monthly`) as of a signed
checkpoint, so a report can be made again later, byte for byte. JSON is the contract (JCS bytes
plus LF); HTML, XLSX and Markdown are that document shown by :mod:`api.reports`. Without
``--out`` the report goes to stdout; with it, the file is written and its path printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.projections import consistent
from api.cli.root import errors, fail, lang_option, options, session
from api.i18n import Lang
from api.reports import FORMATS, render

__all__ = ["FORMATS", "monthly", "register", "render"]

TEXT = {
    "bad_format": ("--format 应为 html、xlsx、json 或 md", "--format must be html, xlsx, json or md"),
    "xlsx_needs_out": ("XLSX 是二进制文件：请用 --out 指定文件", "XLSX is binary: name a file with --out"),
    "written": ("已写入 {path}", "written: {path}"),
}


def register(app: typer.Typer) -> None:
    report_app = typer.Typer(no_args_is_help=True, help="Reports 报告: `report monthly` (月度情况通报, DESIGN §11).")
    report_app.command("monthly")(monthly)
    app.add_typer(report_app, name="report")


def monthly(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    jurisdiction: Annotated[str | None, typer.Option(help="jurisdiction code (default: the city)")] = None,
    checkpoint: Annotated[int | None, typer.Option(help="size of the signed checkpoint to report at (default: the latest)")] = None,
    compare_with: Annotated[int | None, typer.Option("--compare-with", help="a later checkpoint's size: what arrived late")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html | xlsx | json | md")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="write the report to FILE")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh | en (default: the global --lang)")] = None,
) -> None:
    """The monthly accountability report (月度情况通报) of a month, as of a checkpoint."""
    o = options(ctx)
    chosen: Lang = o.lang if lang is None else lang_option(lang, o.lang)
    if fmt not in FORMATS:
        fail(o, o.say(TEXT, "bad_format"), 1)
    if fmt == "xlsx" and out is None:
        fail(o, o.say(TEXT, "xlsx_needs_out"), 1)
    if o.server is not None:  # GET /v1/reports/monthly: the same bytes, rendered by the service
        from api.cli import remote

        as_of = None if checkpoint is None else checkpoint - 1
        data = remote.monthly_report(o, month=month, jurisdiction=jurisdiction, as_of=as_of, compare_with=compare_with,
                                     format=fmt, lang=chosen)  # fmt: skip
    else:
        from api import services

        with session(o) as s, consistent(o):
            found = services.monthly_report(s, o.meter(), month=month, jurisdiction=jurisdiction,
                                            checkpoint=checkpoint, compare_with=compare_with)  # fmt: skip
            data = render(fmt, found.doc, found.series, chosen)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with errors(o):
        out.write_bytes(data)
    typer.echo(o.say(TEXT, "written", path=out))

"""``submit`` and ``import`` (DESIGN §9): envelopes and intents into the log, then the projections.

Thin: read the input, call :func:`api.services.submit` or :func:`api.services.import_lines`, and
report each line (accepted with its seq, duplicate with the seq already holding it, or refused
with its reason, in the chosen language).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli import root
from api.cli.projections import warn_lagging
from api.cli.root import JsonFlag, Options, echo_json, fail, options, session
from api.i18n import error_text, reason_text
from ledger.errors import OperationalError

if TYPE_CHECKING:
    from ledger.application import Outcome
    from ledger.encoding.canonical import JSONValue

TEXT = {
    "accepted": ("已记录：seq {seq}", "accepted: seq {seq}"),
    "duplicate": ("重复：已在 seq {seq} 记录", "duplicate: already recorded at seq {seq}"),
    "line_refused": ("第 {line} 行 拒绝：{reason}", "line {line} refused: {reason}"),
    "import_summary": (
        "导入完成：共 {total} 行，记录 {accepted}，重复 {duplicate}，拒绝 {refused}；日志长度 {size}",
        "import done: {total} lines, {accepted} accepted, {duplicate} duplicates, {refused} refused; log size {size}",
    ),
    "is_folder": ("{path} 是文件夹，不是文件：请给出一个 JSON Lines 文件", "{path} is a folder, not a file: give a JSON Lines file"),
}


def register(app: typer.Typer) -> None:
    app.command()(submit)
    app.command("import")(import_)


def _read_text(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _count_lines(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def _as_json(o: Options, line: int, outcome: Outcome) -> dict[str, JSONValue]:
    """``import --json``'s object for one line, its reason in the chosen language."""
    return {**outcome.as_json(line), "reason": reason_text(outcome, o.lang)}


def submit(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="a JSON file with one envelope or intent, or - for stdin")] = "-",
    as_json: JsonFlag = False,
) -> None:
    """Record one envelope, or one intent signed with the actor's key from the keystore."""
    o = options(ctx)
    if o.server is not None:
        from api.cli import remote

        return remote.submit(o, file, as_json, TEXT)
    from api import services

    with session(o, heal=True) as s:
        done = services.submit(s, _read_text(file), o.meter())
        warn_lagging(o, done.lagging)
        out = done.outcome
        if as_json:
            echo_json(_as_json(o, 1, out))
        elif out.status != "refused":
            typer.echo(o.say(TEXT, out.status, seq=out.seq))
        if out.status == "refused":
            fail(o, reason_text(out, o.lang) or "", 1)


def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSON Lines file of envelopes or intents, or - for stdin")],
    sign: Annotated[bool, typer.Option("--sign", help="sign unsigned intents with keys from the keystore")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line on stdout")] = False,
) -> None:
    """Import JSON Lines; report each line: accepted (seq), duplicate (seq) or refused (reason)."""
    o = options(ctx)
    if file != "-" and Path(file).is_dir():
        fail(o, o.say(TEXT, "is_folder", path=file), 2)
    if file != "-" and not Path(file).is_file():
        fail(o, f"cannot read {file}: no such file", 2)
    if o.server is not None:
        from api.cli import remote

        return remote.import_(o, file, sign, as_json, TEXT)
    from api import services

    def report(line: int, outcome: Outcome) -> None:
        if as_json:
            echo_json(_as_json(o, line, outcome))
        elif outcome.status == "refused":
            typer.echo(o.say(TEXT, "line_refused", line=line, reason=reason_text(outcome, o.lang)), err=True)

    with session(o, heal=True) as s:
        handle = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
        try:
            total = None if file == "-" else _count_lines(file)
            done = services.import_lines(s, handle, sign=sign, total=total, on_line=report, meter=o.meter())
        except UnicodeDecodeError:
            raise OperationalError(f"{file} is not UTF-8 text") from None
        finally:
            if handle is not sys.stdin:
                handle.close()
        warn_lagging(o, done.lagging)
        c = done.counts
        summary = o.say(TEXT, "import_summary", total=done.total, accepted=c["accepted"], duplicate=c["duplicate"],
                        refused=c["refused"], size=done.size)  # fmt: skip
        typer.echo(summary, err=as_json or done.stopped is not None)
        if (stopped := done.stopped) is not None:  # the lines before it stay appended and reported
            fail(o, f"{o.say(root.TEXT, 'internal')}: {stopped}" if stopped.internal else error_text(stopped, o.lang), 2)
    if done.counts["refused"]:
        raise typer.Exit(1)

"""The root of ``subsidy-ledger``: the typer app, its global options, and how a verb opens the ledger.

The global options (DESIGN §9: ``--db``, ``--keys``, ``--lang``, also from ``LEDGER_DB``,
``LEDGER_KEYS``, ``LEDGER_LANG``; API.md's ``--server`` / ``LEDGER_SERVER``) become one frozen :class:`Options` on ``typer.Context.obj``;
every verb reads it with :func:`options`. :func:`session` opens the ledger and turns every failure
into one line on stderr and the exit status of :mod:`api.errors` — never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from api.errors import ExitStatus, problem_for
from api.i18n import Lang, Table, as_lang, error_text, pick, say
from api.progress import progress_bar
from ledger.errors import LedgerError, OperationalError

if TYPE_CHECKING:  # the services and a session load the ledger and its drivers: only a verb that opens one does
    from api.services import Meter, Task
    from ledger import Progress
    from ledger.service import Session

TEXT = {
    "error": ("错误", "error"),
    "refused": ("拒绝", "refused"),
    "internal": ("内部错误", "internal error"),
    "checkpoint_healed": (
        "已补签检查点（大小 {size}）：上一条命令在签署检查点之前中断",
        "signed the missing checkpoint (size {size}): an earlier command stopped before signing it",
    ),
    "no_server_path": (
        "此命令不能通过 --server {server} 执行（它只读写本地账本）；去掉 --server 或 LEDGER_SERVER",
        "this verb has no --server path (it works on a local ledger only): drop --server {server} or LEDGER_SERVER",
    ),
    "no_ledger": (
        "{db} 处没有账本（先运行 `subsidy-ledger init`，或用 --db 指定账本）",
        "no ledger at {db} (run `subsidy-ledger init` first, or pass --db)",
    ),
    # what the services' long tasks are called on a progress bar
    "importing": ("导入", "importing"),
    "catching_up": ("投影追赶日志", "catching up projections"),
    "simulating": ("模拟导入", "simulating"),
}


# Options several verbs declare alike: one declaration, so their --help reads the same everywhere.
JsonFlag = Annotated[bool, typer.Option("--json")]
JurisdictionFilter = Annotated[str | None, typer.Option(help="jurisdiction code (includes the codes below it)")]


@dataclass(frozen=True)
class Options:
    """The global options of one invocation."""

    db: str
    keys: str
    lang: Lang
    server: str | None = None  # --server URL / LEDGER_SERVER: talk to that server, never a local database
    reader: str | None = None  # --as ACTOR / LEDGER_ACTOR: whom a --server read signs in as

    def say(self, table: Table, key: str, /, **kw: object) -> str:
        """``table[key]`` in this invocation's language (:func:`api.i18n.say`)."""
        return say(table, key, self.lang, **kw)

    def pick(self, zh: str, en: str) -> str:
        return pick(self.lang, zh, en)

    def meter(self) -> Meter:
        """The services' progress reports as bars on stderr, labelled in this language."""

        def open_bar(task: Task, total: int | None) -> AbstractContextManager[Progress]:
            return progress_bar(say(TEXT, task, self.lang), total)

        return open_bar


def options(ctx: typer.Context) -> Options:
    """The invocation's :class:`Options` (set by the root callback on the root context)."""
    found = ctx.find_root().obj
    assert isinstance(found, Options)
    return found


def new_app() -> typer.Typer:
    """The root command with its global options and no verbs yet (:func:`api.cli.build` adds them)."""
    app = typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        no_args_is_help=True,
        help="Subsidy ledger 培训补贴账本 — signed, tamper-evident record of Guyuan's training subsidies.",
    )
    app.callback()(main)
    return app


def main(
    ctx: typer.Context,
    db: Annotated[str, typer.Option("--db", envvar="LEDGER_DB", help="sqlite:///FILE or postgresql://…")] = "sqlite:///ledger.db",
    keys: Annotated[str, typer.Option("--keys", envvar="LEDGER_KEYS", help="keystore folder")] = "./keys",
    lang: Annotated[str, typer.Option("--lang", envvar="LEDGER_LANG", help="zh | en")] = "zh",
    server: Annotated[str | None, typer.Option("--server", envvar="LEDGER_SERVER", metavar="URL",
                      help="a subsidy-ledger server (API.md): submit, import, verify, checkpoint --cosign,"
                           " balances and anomalies talk to it; keys stay in --keys")] = None,  # fmt: skip
    reader: Annotated[str | None, typer.Option("--as", envvar="LEDGER_ACTOR", metavar="ACTOR",
                      help="with --server: the actor whose key signs in for reads (default: the keystore's only actor key)")] = None,  # fmt: skip
) -> None:
    ctx.obj = Options(db, keys, lang_option(lang, "zh"), server or None, reader or None)


def lang_option(value: str, fallback: Lang) -> Lang:
    """A ``--lang`` value as a language; any other value exits 2, saying so in ``fallback``."""
    chosen = as_lang(value)
    if chosen is None:
        fail_in(fallback, "--lang must be zh or en", 2)
    return chosen


def fail_in(lang: Lang, message: str, status: ExitStatus) -> NoReturn:
    """One line on stderr — ``拒绝``/``refused`` for status 1, ``错误``/``error`` for 2 — and exit."""
    typer.echo(f"{say(TEXT, 'refused' if status == 1 else 'error', lang)}: {message}", err=True)
    raise typer.Exit(status)


def fail(o: Options, message: str, status: ExitStatus) -> NoReturn:
    fail_in(o.lang, message, status)


def echo_json(value: object) -> None:
    """One JSON document on one line of stdout, non-ASCII as is."""
    typer.echo(json.dumps(value, ensure_ascii=False))


def first_line(exc: BaseException) -> str:
    """An unexpected error in one line: its type and the first line of its message."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"


def internal(o: Options, exc: BaseException) -> str:
    """An unexpected error's one line, named an internal error."""
    return f"{say(TEXT, 'internal', o.lang)}: {first_line(exc)}"


@contextmanager
def errors(o: Options) -> Iterator[None]:
    """Every failure of a verb as one line and the exit status :mod:`api.errors` gives it."""
    try:
        yield
    except typer.Exit:
        raise
    except LedgerError as exc:
        fail(o, error_text(exc, o.lang), problem_for(exc).exit_status)
    except KeyboardInterrupt:
        fail(o, "interrupted", 2)
    except BrokenPipeError:
        raise  # the reader went away (``log --json | head``): click ends quietly, exit status 1
    except Exception as exc:  # no traceback reaches a user
        fail(o, internal(o, exc), 2)


@contextmanager
def session(o: Options, *, create: bool = False, heal: bool = False) -> Iterator[Session]:
    """Open the ledger named by --db with the keystore of --keys, under :func:`errors`.

    Only ``create`` (init, demo) may make a new database: every other verb refuses to, so a
    mistyped ``--db`` or a run in the wrong folder leaves no empty ledger behind. ``heal`` (the
    verbs that write the log) first signs the checkpoint a crashed command left unsigned.
    """
    from ledger.persistence.store import DatabaseURL
    from ledger.service import Session

    opened = None
    if o.server is not None:  # a --server verb never opens (let alone creates) a local database
        fail(o, say(TEXT, "no_server_path", o.lang, server=o.server), 2)
    with errors(o):
        try:
            if not create and not DatabaseURL(o.db).holds_ledger():
                raise OperationalError(say(TEXT, "no_ledger", o.lang, db=o.db))
            opened = Session.open(o.db, o.keys)
            opened.checkpoint_interval = float(os.environ.get("LEDGER_CHECKPOINT_INTERVAL", "1"))
            if heal and (size := opened.sign_missing_checkpoint()) is not None:
                typer.echo(say(TEXT, "checkpoint_healed", o.lang, size=size), err=True)
            yield opened
        finally:
            if opened is not None:
                opened.close()

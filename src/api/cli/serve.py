"""``serve`` (API.md): the HTTP API under uvicorn, on the ledger of ``--db`` with the keystore of ``--keys``.

The keystore is the operator's: the server signs checkpoints with it and holds no organisation's
private key for writes (envelopes arrive signed). SIGTERM ends it gracefully (uvicorn finishes the
requests in flight). On PostgreSQL ``--workers N`` (default: the cores) runs N processes that append concurrently
(one follower of the log at a time, :mod:`api.http.background`); SQLite has one writer, so more
than one worker is refused there. Every worker derives the same token secret and keeps sign-in
challenges in the database (:mod:`api.http.context`), so a client may sign in on one and read on another.
"""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.root import Options, errors, fail, options, session
from ledger.errors import OperationalError

if TYPE_CHECKING:
    import uvicorn

TEXT = {
    "workers_sqlite": ("SQLite 只能有一个写入进程：--workers 不能大于 1", "SQLite has one writer: --workers cannot exceed 1"),
    "demo_ledger": ("--demo 只能用于 `demo` 命令创建的账本", "--demo serves only a ledger the `demo` command made"),
    "demo_host": ("--demo 只能监听本机地址（127.0.0.1、::1 或 localhost），不能是 {host}",
                  "--demo listens on loopback only (127.0.0.1, ::1 or localhost), not {host}"),
    "serving": ("在 http://{host}:{port} 提供账本服务（{db}，{workers} 个工作进程）",
                "serving the ledger at http://{host}:{port} ({db}, {workers} worker processes)"),
}


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes on PostgreSQL (default: the machine's cores); one on SQLite")] = None,
    public_log: Annotated[bool, typer.Option("--public-log", help="let anyone read the log's tiles under /tlog/ (扶贫资金公告公示)")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="a `demo` ledger on loopback only: one-click sign-in as any keystore actor")] = False,
) -> None:
    """Serve the HTTP API (API.md) until SIGTERM or Ctrl-C."""
    import uvicorn

    from api.http.access import uvicorn_log_config
    from api.http.app import create_app
    from api.http.settings import ENV_DB, ENV_DEMO, ENV_KEYS, ENV_PUBLIC_LOG, Settings
    from ledger.persistence.store import DatabaseURL

    o = options(ctx)
    sqlite = o.db.startswith("sqlite")
    if workers is not None and workers > 1 and sqlite:
        fail(o, o.say(TEXT, "workers_sqlite"), 2)
    workers = workers or (1 if sqlite else os.cpu_count() or 1)
    with errors(o):
        if not DatabaseURL(o.db).holds_ledger():
            raise OperationalError(o.pick(f"{o.db} 处没有账本（先运行 `subsidy-ledger init`）",
                                          f"no ledger at {o.db} (run `subsidy-ledger init` first)"))  # fmt: skip
        if demo:
            _check_demo(o, host)
        typer.echo(o.say(TEXT, "serving", host=host, port=port, db=o.db, workers=workers), err=True)
        if workers == 1:
            settings = replace(Settings.from_env(), db_url=o.db, keys_dir=o.keys, public_log=public_log, demo=demo)
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False,
                        log_config=uvicorn_log_config())  # fmt: skip
            return
        # Worker processes build the app by import string, from the environment (Settings.from_env).
        os.environ.update({ENV_DB: o.db, ENV_KEYS: str(Path(o.keys).resolve()), ENV_PUBLIC_LOG: "1" if public_log else "0",
                           ENV_DEMO: "1" if demo else "0"})
        _serve_workers(uvicorn.Config("api.http.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                                      log_level="info", access_log=False, log_config=uvicorn_log_config()))  # fmt: skip


def _check_demo(o: Options, host: str) -> None:
    """``--demo`` (DESIGN §13): a ledger the ``demo`` command marked, on a loopback address only."""
    from api.web import DEMO_META
    from api.web.session import is_loopback

    if not is_loopback(host):
        fail(o, o.say(TEXT, "demo_host", host=host), 2)
    with session(o) as s:
        if s.ledger.meta(DEMO_META) != "1":
            fail(o, o.say(TEXT, "demo_ledger"), 2)


def _serve_workers(config: uvicorn.Config) -> None:
    """uvicorn's multiprocess supervisor on a listener that says it is TCP: uvicorn binds it with
    protocol 0, so asyncio leaves Nagle's algorithm on for every connection and each keep-alive
    request waits ~40 ms for a delayed ACK (uvicorn issue #3149)."""
    from uvicorn.supervisors import Multiprocess

    bound = config.bind_socket()
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()

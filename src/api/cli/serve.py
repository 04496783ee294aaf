"""``serve`` (API.md): the HTTP API under uvicorn, on the ledger of ``--db`` with the keystore of ``--keys``.

The keystore is the operator's: the server signs checkpoints with it and holds no organisation's
private key for writes (envelopes arrive signed). SIGTERM ends it gracefully (uvicorn finishes the
requests in flight). The requests are served by worker processes — on PostgreSQL ``--workers N``
(default: the cores) that append concurrently, each listening on a socket of its own; SQLite has
one writer, so more than one worker is refused there — while the supervisor process follows the
log (projects and signs checkpoints, :mod:`api.http.background`) beside them, not in them. Every
worker derives the same token secret and keeps sign-in challenges in the database
(:mod:`api.http.context`), so a client may sign in on one and read on another.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.root import Options, errors, fail, options, session
from ledger.errors import OperationalError

if TYPE_CHECKING:
    import uvicorn

    from api.http.settings import Settings

TEXT = {
    "workers_sqlite": ("SQLite 只能有一个写入进程：--workers 不能大于 1", "SQLite has one writer: --workers cannot exceed 1"),
    "demo_ledger": ("--demo 只能用于 `demo` 命令创建的账本", "--demo serves only a ledger the `demo` command made"),
    "demo_host": ("--demo 只能监听本机地址（127.0.0.1、::1 或 localhost），不能是 {host}",
                  "--demo listens on loopback only (127.0.0.1, ::1 or localhost), not {host}"),
    "bind": ("无法在 {host}:{port} 监听：{reason}", "cannot listen on {host}:{port}: {reason}"),
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
    from api.http.settings import ENV_DB, ENV_DEMO, ENV_FOLLOW, ENV_KEYS, ENV_PUBLIC_LOG, Settings
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
        try:
            listener = WorkerListener.reserve(host, port)
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise OperationalError(o.say(TEXT, "bind", host=host, port=port, reason=exc.strerror or exc)) from None
        port = listener.getsockname()[1]  # --port 0: the one the system chose
        typer.echo(o.say(TEXT, "serving", host=host, port=port, db=o.db, workers=workers), err=True)
        # Worker processes build the app by import string, from the environment (Settings.from_env);
        # even one worker, so that the follower runs beside it, not in it.
        os.environ.update({ENV_DB: o.db, ENV_KEYS: str(Path(o.keys).resolve()), ENV_PUBLIC_LOG: "1" if public_log else "0",
                           ENV_DEMO: "1" if demo else "0", ENV_FOLLOW: "0"})  # fmt: skip
        _serve_workers(uvicorn.Config("api.http.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                                      log_level="info", access_log=False, log_config=uvicorn_log_config()),
                       Settings.from_env(), listener)  # fmt: skip


def _check_demo(o: Options, host: str) -> None:
    """``--demo`` (DESIGN §13): a ledger the ``demo`` command marked, on a loopback address only."""
    from api.web import DEMO_META
    from api.web.session import is_loopback

    if not is_loopback(host):
        fail(o, o.say(TEXT, "demo_host", host=host), 2)
    with session(o) as s:
        if s.ledger.meta(DEMO_META) != "1":
            fail(o, o.say(TEXT, "demo_ledger"), 2)


def _serve_workers(config: uvicorn.Config, settings: Settings, listener: WorkerListener) -> None:
    """uvicorn's multiprocess supervisor (restarts, health checks, graceful SIGTERM), each worker on
    a listener of its own (:class:`WorkerListener`), and the log's follower in this process: it
    projects and signs while the workers serve, and signs the last checkpoint after they have all
    exited, so every envelope a worker answered 201 is covered."""
    from uvicorn.supervisors import Multiprocess

    from api.http.background import Follower

    try:
        follower = Follower(settings.db_url, settings.keys_dir, settings.checkpoint_interval).start()
        try:
            Multiprocess(config, sockets=[listener]).run()
        finally:
            follower.stop()
    finally:
        listener.close()


class WorkerListener(socket.socket):
    """The address the workers listen on; each worker process listens on a socket of its own.

    uvicorn hands every worker the same listening socket, and whichever worker's event loop wakes
    first accepts: under 32 keep-alive clients one of two workers took 66–94 % of the connections
    (docs/performance.md). With ``SO_REUSEPORT`` each worker listens on a socket of its own bound
    to the same port, and the kernel spreads new connections over them by their addresses.

    In the supervisor this socket is bound but never listens: it holds the port (and fixes port 0
    to one number) without taking a connection. uvicorn pickles it for each worker it starts; it
    unpickles in the worker as a new socket bound to the same address (:func:`bound`), which
    asyncio makes listen once the worker has started (after its lifespan's start), so no
    connection waits in the queue of a worker that cannot serve it yet. The supervisor holds no
    worker's listener: a worker that dies takes its queue with it, and its replacement binds anew.
    """

    @classmethod
    def reserve(cls, host: str, port: int) -> WorkerListener:
        """The address, or ``OSError`` if something listens there already — another ``serve``
        too: its workers' sockets share the port, and so would ours, splitting the clients
        between two servers. A plain socket is bound first, which only a free port allows."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a stopped server's TIME_WAIT is no owner
            probe.bind((host, port))
            port = probe.getsockname()[1]  # port 0: the one the system chose
        reservation = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            share_port(reservation)
            reservation.bind((host, port))
        except OSError:
            reservation.close()
            raise
        return reservation

    def __reduce__(self) -> tuple[object, ...]:
        host, port = self.getsockname()[:2]
        return bound, (self.family, host, port)


def share_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def bound(family: int, host: str, port: int) -> socket.socket:
    """A worker's own socket on the supervisor's address (run in the worker as its socket is
    unpickled; uvicorn's server makes it listen). TCP by protocol number, so asyncio turns Nagle's
    algorithm off for each connection (uvicorn issue #3149). A bind that fails exits with uvicorn's
    startup-failure code, so the supervisor stops rather than restarting the worker forever."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        share_port(sock)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        print(f"{host}:{port}: {exc}", file=sys.stderr)
        sys.exit(3)  # uvicorn.server.STARTUP_FAILURE
    return sock

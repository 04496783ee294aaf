"""The HTTP application (API.md): :func:`create_app` builds one FastAPI app from :class:`Settings`.

No module-level state: the session, the sign-in secret and the challenges live on the app built
here (:class:`~api.http.context.Server`), opened when it starts and closed when it stops.
:func:`app_from_env` is the factory uvicorn's worker processes call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from api import web
from api.http import access, evidence, personal, problems, reconciliations, reports, tlog, trace, witness
from api.http.background import ServerSession, follow
from api.http.context import Server
from api.http.metrics import Metrics
from api.http.problems import log
from api.http.routes import router
from api.http.settings import Settings
from ledger.errors import OperationalError


def open_server(settings: Settings) -> Server:
    """Open the ledger of ``settings`` (never create one) with its keystore."""
    from ledger.persistence.store import DatabaseURL

    if not DatabaseURL(settings.db_url).holds_ledger():
        raise OperationalError(f"no ledger at {settings.db_url} (run `subsidy-ledger init` first, or pass --db)")
    session = ServerSession.open(settings.db_url, settings.keys_dir)
    if settings.demo and session.ledger.meta(web.DEMO_META) != "1":
        session.close()
        raise OperationalError(f"--demo serves only a ledger the `demo` command made, not {settings.db_url}")
    session.checkpoint_interval = settings.checkpoint_interval
    try:
        origin = settings.origin or session.keys.origin
    except OSError:
        origin = session.ledger.meta("origin") or ""

    def log_state() -> tuple[int, int]:
        from projections.db import engine_for
        from projections.runner.catchup import position

        return session.ledger.size(), position(engine_for(session.ledger))

    srv = Server(settings, session, origin, Metrics(log_state, lambda: srv.prepared.settle(session.ledger, time.time())))
    if isinstance(session, ServerSession):  # envelopes of prepared intents take their vault record along
        session.prepared = srv.prepared
    return srv


def create_app(settings: Settings) -> FastAPI:
    """The application: every route of :mod:`api.http.routes`, every error a problem document."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        srv = open_server(settings)
        app.state.server = srv
        follower = follow(srv.session, settings.db_url, settings.keys_dir, settings.checkpoint_interval, settings.follow)
        signer = asyncio.create_task(_sign_checkpoints(srv))
        try:
            yield
        finally:
            await asyncio.to_thread(follower.stop)  # after the requests in flight: the final checkpoint
            signer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await signer
            await run_in_threadpool(_sign_missing, srv)  # nothing accepted is left without a checkpoint
            srv.session.close()

    app = FastAPI(
        title="subsidy-ledger",
        version="1",
        summary="培训补贴账本 HTTP API: signed writes, scoped reads (API.md)",
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(router)
    app.include_router(witness.router)
    app.include_router(tlog.router)
    app.include_router(personal.router)
    app.include_router(evidence.router)
    app.include_router(trace.router)
    app.include_router(reports.router)
    app.include_router(reconciliations.router)
    web.install(app, settings)  # the pages (DESIGN §13): outside the OpenAPI document

    app.add_middleware(access.Observed, observe=_measure)  # outermost: its line covers the whole request
    return app


def _measure(scope: Scope, status: int, started: float) -> None:
    """A request in ``/metrics``: counted by route, method and status, its latency by route."""
    srv = getattr(scope["app"].state, "server", None)
    if isinstance(srv, Server):
        route = scope.get("route")
        path = route.path if isinstance(route, APIRoute) else "unmatched"
        srv.metrics.requests.labels(path, scope["method"], str(status)).inc()
        srv.metrics.latency.labels(path, scope["method"]).observe(time.perf_counter() - started)


async def _sign_checkpoints(srv: Server) -> None:
    """The operator's checkpoint at most once per ``checkpoint_interval`` while writes arrive: a write
    inside the interval skips signing, and this signs what such writes left uncovered."""
    interval = max(srv.settings.checkpoint_interval, 0.05)
    while True:
        await asyncio.sleep(interval)
        await run_in_threadpool(_sign_missing, srv)


def _sign_missing(srv: Server) -> None:
    try:
        with srv.lock:
            srv.session.sign_missing_checkpoint()
    except Exception as exc:  # the next round tries again; a request would get the error as a problem
        log.warning("could not sign a checkpoint: %s: %s", type(exc).__name__, exc)


def app_from_env() -> FastAPI:
    """uvicorn's factory (``api.http.app:app_from_env``): the settings ``serve`` put in the environment."""
    return create_app(Settings.from_env())

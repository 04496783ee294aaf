"""Structured access logs (issue 13): one JSON line per request on the ``api.http.access`` logger.

A line (ASCII: escapes keep every character of a path inside it) names the method, the path
(never the query string), the status, the duration in milliseconds, the request id (the client's ``X-Request-ID`` when it is a short plain token, else a
new one; echoed in the response) and the actor when a bearer token signed it in. It never holds a
header or a body: no token, no sign-in signature, no personal data.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("api.http.access")

REQUEST_ID = "X-Request-ID"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(request: Request) -> str:
    given = request.headers.get(REQUEST_ID, "")
    return given if _PLAIN_ID.fullmatch(given) else uuid.uuid4().hex


def line(request: Request, status: int, started: float, rid: str) -> str:
    """The JSON line of one request; ``started`` from :func:`time.perf_counter`."""
    record = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": rid,
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "actor": getattr(request.state, "actor_id", None),
    }
    return json.dumps(record, separators=(",", ":"))  # ASCII: a path cannot end the line (U+2028, U+0085)


class Observed:
    """The outermost middleware, plain ASGI: every request logged once, whatever it answered (503
    when the app itself failed), its id echoed, and counted with its latency in ``/metrics`` under
    its route (``observe``). Plain ASGI, not ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs each request through a task group and memory streams, which
    was about a quarter of a single submit's server CPU (issue 13's profile)."""

    def __init__(self, app: ASGIApp, observe: Callable[[Scope, int, float], None]):
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        started, rid, status = time.perf_counter(), request_id(request), 503

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID] = rid
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            self.observe(scope, status, started)
            log.info(line(request, status, started, rid))


LOG_CONFIG_ENTRIES: dict[str, dict[str, Any]] = {
    "formatters": {"access_json": {"format": "%(message)s"}},
    "handlers": {
        "access_json": {
            "class": "logging.StreamHandler",
            "formatter": "access_json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {"api.http.access": {"handlers": ["access_json"], "level": "INFO", "propagate": False}},
}


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with these lines added (and uvicorn's own access lines off
    via ``access_log=False``): every worker process applies it when it starts."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for key, entries in LOG_CONFIG_ENTRIES.items():
        config[key].update(entries)
    return config

"""Every error as RFC 9457 ``application/problem+json`` through the one table of :mod:`api.errors`.

The handlers here cover the ledger's errors, FastAPI's own validation errors, Starlette's 404/405
for routes that do not exist, and anything unexpected: that is logged here, server side, and
answered 503 ``internal_error`` without its text, so no response carries a traceback or a
message meant for an operator (API.md "Errors").
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.errors import ERRORS, RefusalProblem, problem_for
from api.http.models import LineOutcome
from ledger.errors import LedgerError

log = logging.getLogger("api.http")

PROBLEM_JSON = "application/problem+json"


class ProblemModel(BaseModel):
    """RFC 9457 problem details (API.md "Errors")."""

    type: str
    title: str
    status: int
    detail: str
    reason: str | None = None
    line: int | None = None
    results: list[LineOutcome] | None = None  # a stopped batch: the lines before ``line``, recorded (API.md)


class ApiProblem(Exception):
    """Raised by a route or dependency: answered with the row ``code`` of :data:`api.errors.ERRORS`."""

    def __init__(self, code: str, detail: str, *, reason: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.code, self.detail, self.reason, self.headers = code, detail, reason, headers


def media_type(request: Request, default: str) -> str:
    """The request's content type without parameters, lower case (``default`` when absent)."""
    return request.headers.get("content-type", default).split(";")[0].strip().lower()


async def read_body(request: Request, limit: int, what: str = "the body") -> bytes:
    """The request body, refused with 413 as soon as it is over ``limit`` bytes (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem("request_too_large", f"{what} is over {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiProblem("request_too_large", f"{what} is over {limit} bytes")
    return bytes(raw)


def problem(code: str, detail: str, *, reason: str | None = None, line: int | None = None) -> RefusalProblem:
    """The problem document of row ``code`` (a refused envelope adds its ``reason``, a batch its ``line``)."""
    doc: RefusalProblem = {**ERRORS[code].document(detail)}  # type: ignore[typeddict-item]
    if reason is not None:
        doc["reason"] = reason
    if line is not None:
        doc["line"] = line
    return doc


def respond(doc: RefusalProblem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(dict(doc), status_code=doc["status"], media_type=PROBLEM_JSON, headers=headers)


def refusal(code: str, detail: str) -> JSONResponse:
    """A refused envelope: its code is both the problem type and the ``reason`` (API.md)."""
    row = ERRORS.get(code) or ERRORS["refused"]
    return respond(problem(row.code, detail, reason=code))


def failure(exc: Exception, where: str) -> RefusalProblem:
    """The problem of an error a request met: a ledger error by its row; a 503's own words (which may
    name the server's paths) and anything unexpected logged here, answered without their text."""
    if not isinstance(exc, LedgerError):
        log.error("unexpected error on %s", where, exc_info=exc)
        return problem("internal_error", "the service could not answer this request; it has been logged")
    row = problem_for(exc)
    if row.http_status == 503:
        log.error("%s: %s: %s", where, type(exc).__name__, exc)
        return problem(row.code, row.title)
    return problem(row.code, str(exc))


def responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI: the problem bodies a route may answer with."""
    return {s: {"model": ProblemModel, "content": {PROBLEM_JSON: {}}, "description": "problem"} for s in statuses}


_STARLETTE: dict[int, str] = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                              405: "method_not_allowed", 413: "request_too_large", 415: "unsupported_media_type",
                              429: "too_many_requests"}  # fmt: skip


def install(app: FastAPI) -> None:
    """Register the handlers that make every error a problem document."""

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> JSONResponse:
        return respond(problem(exc.code, exc.detail, reason=exc.reason), exc.headers)

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> JSONResponse:
        return respond(failure(exc, f"{request.method} {request.url.path}"))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return respond(problem("invalid_json", "the request body is not JSON"))
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return respond(problem("invalid_request", f"{where}: {first.get('msg', 'invalid')}"))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _STARLETTE.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
        detail = exc.detail if isinstance(exc.detail, str) else ERRORS[code].title
        if exc.status_code == 404:
            detail = f"no such resource: {request.url.path}"
        return respond(problem(code, detail), dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return respond(problem("internal_error", "the service could not answer this request; it has been logged"))



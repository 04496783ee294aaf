"""``POST /v1/reconciliations`` (API.md, DESIGN §10): a bank statement reconciled where the pepper is.

A statement's account numbers become payee fingerprints only with the pepper (DESIGN §7), and only
the service holds it: so a finance bureau uploads its statement here (``multipart/form-data``, the
file in the part ``statement``) and gets the ``reconcile --json`` document back, the same bytes as
the CLI makes on the operator's machine. Nothing is recorded: recording is the bureau's own signed
``ReconciliationRecorded``, posted to ``/v1/events`` (``reconcile --server --record`` signs it locally).

Readers: a finance bureau reconciles its own payments (``actor``, if given, must be itself); an
inspector names the bureau (``actor``), which must lie in its jurisdiction. The upload is bounded
(:data:`MAX_STATEMENT`, 413 beyond); a statement the reader refuses is a 422 problem whose ``line``
is the file's own line.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message

from api import services
from api.http import models as m
from api.http.auth import Reader, Scope
from api.http.problems import ApiProblem, media_type, problem, read_body, respond, responses
from ledger.encoding.canonical import JSONValue, canonical
from projections.reconciliation.statement import StatementRefused, parse_columns

router = APIRouter(tags=["reconciliation"])

MAX_STATEMENT = 16 * 1024 * 1024  # bytes of the whole upload: a county bureau's month is far less
PART = "statement"

_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": [PART],
            "properties": {PART: {"type": "string", "format": "binary",
                                  "description": "the bank statement: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX"}},
        }}},
    }
}  # fmt: skip


@router.post("/v1/reconciliations", response_model=m.Reconciliation, openapi_extra=_UPLOAD,
             responses=responses(400, 401, 403, 404, 413, 415, 422, 503))  # fmt: skip
async def reconcile(
    request: Request,
    scope: Reader,
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM: the month the statement covers")],
    fund: Annotated[list[str] | None, Query(max_length=50, description="only payments from these funds (repeat)")] = None,
    actor: Annotated[str | None, Query(max_length=128, description="the finance bureau (default: the token's actor)")] = None,
    as_of: Annotated[int | None, Query(ge=0, le=2**53 - 1, description="the ledger as it stood after leaf SEQ")] = None,
    date_window: Annotated[int, Query(ge=0, le=services.MAX_DATE_WINDOW, description="days a value date may differ")] = 3,
    columns: Annotated[str | None, Query(max_length=1000, description="KEY=HEADER,… for a bank's own headers")] = None,
) -> Response:
    """Match an uploaded bank statement against the bureau's payments: the ``reconcile --json`` document."""
    bureau = _bureau(scope, actor)
    kind = media_type(request, "")
    if kind != "multipart/form-data":
        raise ApiProblem("unsupported_media_type", f"send the statement as multipart/form-data (part {PART!r}), not {kind or 'nothing'}")
    raw = await read_body(request, MAX_STATEMENT, "the upload")
    name, data = await _statement(request, raw)
    mapping = parse_columns(columns)
    return await run_in_threadpool(_reconcile, scope, bureau, name, data, period=period, funds=fund or None,
                                   date_window=date_window, as_of=as_of, columns=mapping)  # fmt: skip


def _bureau(scope: Scope, actor: str | None) -> str:
    """The bureau whose payments are matched: the token's own, or one an inspector names in its scope."""
    if scope.role == "finance_bureau":
        if actor not in (None, scope.actor_id):
            raise ApiProblem("forbidden", f"a finance bureau reconciles its own payments, not those of {actor}")
        return scope.actor_id
    if scope.role != "inspector":
        raise ApiProblem("forbidden", f"a {scope.role} does not reconcile bank statements (finance bureaus and inspectors do)")
    if actor is None:
        raise ApiProblem("invalid_request", "actor: an inspector names the finance bureau whose statement this is")
    with scope.srv.lock:
        scope.srv.session.ledger.head()
        found = scope.srv.session.ledger.actor(actor)
    if found is None:
        raise ApiProblem("subject_not_found", f"no actor {actor}")
    if not scope.covers(found.jurisdiction):
        raise ApiProblem("forbidden", f"{actor} is outside the token's scope")
    return actor


async def _statement(request: Request, raw: bytes) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, parsed from the body already read (and bounded)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        async with Request(request.scope, receive).form(max_files=1, max_fields=10) as form:
            part = form.get(PART)
            if not isinstance(part, UploadFile):
                raise ApiProblem("invalid_request", f"{PART}: the upload holds no file part named {PART!r}")
            data = await part.read()
            name = PurePath(part.filename or "").name
    except ApiProblem:
        raise
    except Exception as exc:  # starlette's MultiPartException and the parser's own: a malformed upload
        raise ApiProblem("bad_request", f"the upload is not readable multipart/form-data: {exc}") from None
    if name in ("", ".", "..") or "\x00" in name or len(name.encode()) > 200:
        name = "statement"  # the name only labels the reader's messages; the bytes decide the format
    return name, data


def reconcile_upload(scope: Scope, bureau: str, name: str, data: bytes, **options: Any) -> dict[str, JSONValue]:
    """The result document of an uploaded statement's bytes (read from a temporary file of its name,
    which only labels the reader's messages); also the reconciliation page's (:mod:`api.web.reconciliation`)."""
    with tempfile.TemporaryDirectory(prefix="statement-") as tmp:
        path = FilePath(tmp) / name
        path.write_bytes(data)
        with scope.srv.lock:
            return services.reconcile(scope.srv.session, path, actor=bureau, **options)


def _reconcile(scope: Scope, bureau: str, name: str, data: bytes, **options: Any) -> Response:
    try:
        result = reconcile_upload(scope, bureau, name, data, **options)
    except StatementRefused as exc:
        return _refused(exc)
    return Response(canonical(result) + b"\n", media_type="application/json")


def _refused(exc: StatementRefused) -> JSONResponse:
    """422 ``statement_refused`` with the file's ``line`` where the reader names one."""
    return respond(problem(exc.code, str(exc), line=exc.line))

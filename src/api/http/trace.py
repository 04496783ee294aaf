"""``GET /v1/trace/{kind}/{id}`` (API.md, DESIGN §12): the ``trace --json`` document of one subject.

The same use case as the CLI (:func:`api.services.trace`), answered as the same bytes — RFC 8785
JSON and a line feed — so a trace fetched over HTTP and one made on the operator's machine at the
same checkpoint compare byte for byte. Who may read it is who may fetch the evidence export of the
same subject (:meth:`Scope.require_subject <api.http.auth.Scope.require_subject>`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api import services
from api.http import models as m
from api.http.auth import Reader
from api.http.problems import ApiProblem, responses
from ledger.encoding.canonical import canonical
from projections.trace.gather import KINDS

router = APIRouter(tags=["trace"])

MAX_PAGE = 1000  # fund and actor pages (DESIGN §12: default 1,000)


@router.get("/v1/trace/{kind}/{ident}", response_model=m.Trace, responses=responses(401, 403, 404, 422, 503))
def get_trace(
    scope: Reader,
    kind: Annotated[str, Path(max_length=20, description="payment | claim | class | laborer | certificate | fund | actor")],
    ident: Annotated[str, Path(min_length=1, max_length=128)],
    checkpoint: Annotated[int | None, Query(ge=1, le=2**53 - 1, description="size of a stored checkpoint (default: the latest)")] = None,
    start: Annotated[int, Query(alias="from", ge=0, le=2**53 - 1, description="fund and actor: the page's first seq")] = 0,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="fund and actor: events per page (default 1,000)")] = None,
) -> Response:
    """The trace of ``kind`` ``ident`` under a checkpoint: every event, flag and personal-data read behind it."""
    if kind not in KINDS:
        raise ApiProblem("not_found", f"no trace of kind {kind!r}: one of {', '.join(KINDS)}")
    srv = scope.srv
    with srv.lock:
        scope.require_subject(kind, ident)
        doc, _ = services.trace(srv.session, kind, ident, checkpoint=checkpoint, start=start, limit=limit)
    return Response(canonical(doc) + b"\n", media_type="application/json")


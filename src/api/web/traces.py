"""Traces as pages (DESIGN §12–§13), and a labourer's personal data behind its logged read (DESIGN §7).

``/trace/{kind}/{id}`` is ``GET /v1/trace/{kind}/{id}`` (:func:`api.http.trace.get_trace`, same scope
check, same document) laid out as the CLI's timeline: sections in ``trace``'s stage order, each event
with its business date, label, signer, seq and ✓/✗ for its signature and inclusion, the subject's
own events starred, its flags linked. On a labourer's trace a reader of personal data signs a
``PersonalDataAccessed`` in the browser (``static/pii.js``), posts it to ``/signed`` and only then
reads ``/trace/laborer/{id}/pii?access_seq=`` — :func:`api.http.personal.personal_data`, so the
read is in the log before the data leaves, once, ``no-store``.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.cli.anomalies import SEVERITY, STATUS
from api.cli.trace import EVENT, KIND, STAGE_OF, STAGES
from api.http import personal, trace
from api.web.flags import ActionRoute
from api.web.render import PageRoute, render
from api.web.session import PageScope
from ledger.domain.policy import PII_READERS
from projections.trace.gather import KINDS

TRACE_KINDS = tuple(KINDS)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
actions = APIRouter(route_class=ActionRoute, include_in_schema=False)


@router.get("/trace")
def trace_search(
    request: Request,
    scope: PageScope,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    id: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """The search box: a kind and an id lead to that trace."""
    ident = (id or "").strip()
    if kind and ident:
        from urllib.parse import quote

        return RedirectResponse(f"/trace/{quote(kind, safe='')}/{quote(ident, safe='')}", status_code=303)
    return render(
        request, "trace.html", {"doc": None, "kinds": TRACE_KINDS, "KIND": KIND, "kind": kind, "ident": ident}
    )


@router.get("/trace/{kind}/{ident}")
def trace_page(
    request: Request,
    scope: PageScope,
    kind: Annotated[str, Path(max_length=20)],
    ident: Annotated[str, Path(min_length=1, max_length=128)],
    start: Annotated[int, Query(alias="from", ge=0, le=2**53 - 1)] = 0,
) -> Response:
    """The ``trace --json`` document of ``kind`` ``ident`` as a timeline (403 outside the scope, 404 unknown)."""
    found = trace.get_trace(scope, kind, ident, checkpoint=None, start=start, limit=None)
    doc = json.loads(bytes(found.body))
    sections = []
    for stage, (names, _) in STAGES.items():
        staged = [e for e in doc["events"] if STAGE_OF.get(e["type"], "registry") == stage]
        if staged:
            sections.append((stage, names, staged))
    broken = sum(not (e["signature_ok"] and e["included"]) for e in doc["events"])
    return render(request, "trace.html", {
        "doc": doc, "sections": sections, "broken": broken, "kinds": TRACE_KINDS, "kind": kind, "ident": ident,
        "may_read_pii": kind == "laborer" and scope.role in PII_READERS, "start": start,
        "KIND": KIND, "EVENT": EVENT, "SEVERITY": SEVERITY, "STATUS": STATUS,
    })  # fmt: skip


@actions.get("/trace/laborer/{laborer_id}/pii")
def pii(
    scope: PageScope,
    laborer_id: Annotated[str, Path(min_length=1, max_length=128)],
    access_seq: Annotated[int, Query(ge=0, le=2**53 - 1)],
) -> Response:
    """``GET /v1/laborers/{id}/pii`` for the page's script: the same checks (its own fresh, unused
    ``PersonalDataAccessed``), the same ``no-store`` answer."""
    return personal.personal_data(scope, laborer_id, access_seq)

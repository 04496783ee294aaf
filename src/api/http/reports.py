"""``GET /v1/reports/monthly`` (API.md, DESIGN §11): the monthly report over HTTP.

The same use case as ``report monthly`` (:func:`api.services.monthly_report`) and the same bytes:
JSON as RFC 8785 plus a line feed, HTML, XLSX or Markdown as :mod:`api.reports` renders them — so
a report fetched from the server and one made on the operator's machine at the same checkpoint
compare byte for byte. ``as_of`` names the checkpoint as the report's JSON does (its size − 1);
any other point is refused with the nearest checkpoint sizes. A report shows a whole jurisdiction,
every institution's figures included: the regional roles and inspectors read their
jurisdiction's or one below it (by default their own; a city-level reader's is the city's), the
subject-level roles none.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import services
from api.http import models as m
from api.http.auth import SUBJECT, Reader, Scope
from api.http.problems import ApiProblem, responses
from api.reports import render

router = APIRouter(tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "xlsx": XLSX,
    "md": "text/markdown; charset=utf-8",
}
_OK: dict[int | str, dict[str, Any]] = {200: {
    "model": m.MonthlyReport, "description": "the report in the format asked for",
    "content": {"text/html": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}},
                "text/markdown": {"schema": {"type": "string"}}},
}}  # fmt: skip


@router.get("/v1/reports/monthly", response_model=m.MonthlyReport, responses={**_OK, **responses(401, 403, 404, 422, 503)})
def get_monthly_report(
    scope: Reader,
    month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")],
    jurisdiction: Annotated[str | None, Query(max_length=12, description="default: the reader's own")] = None,
    format: Annotated[Literal["json", "html", "xlsx", "md"], Query()] = "json",  # noqa: A002 (API.md's name)
    as_of: Annotated[int | None, Query(ge=0, le=2**53 - 2, description="a checkpoint's size − 1 (default: the latest)")] = None,
    compare_with: Annotated[int | None, Query(ge=1, le=2**53 - 1, description="a later checkpoint's size: what arrived late")] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="HTML, XLSX and Markdown: zh (default) or en")] = "zh",
) -> Response:
    """The month's report for a jurisdiction in the token's scope, at a signed checkpoint."""
    found = monthly_report_for(scope, month, jurisdiction, as_of=as_of, compare_with=compare_with)
    headers = {}
    if format == "xlsx":
        headers["Content-Disposition"] = f'attachment; filename="report-monthly-{found.doc["jurisdiction"]}-{month}.xlsx"'
    return Response(render(format, found.doc, found.series, lang), media_type=MEDIA_TYPES[format], headers=headers)


def monthly_report_for(scope: Scope, month: str, jurisdiction: str | None, *, as_of: int | None = None,
                       compare_with: int | None = None) -> services.MonthlyReport:  # fmt: skip
    """The report ``GET /v1/reports/monthly`` renders for this reader, before rendering: its scope
    rule (subject roles read no jurisdiction's report; a regional reader its own and below) and the
    use case at the checkpoint ``as_of`` names. The dashboard draws from it, so the two cannot drift."""
    if scope.role in SUBJECT:
        raise ApiProblem("forbidden", f"a {scope.role} does not read a jurisdiction's report")
    place = scope.jurisdiction_filter(jurisdiction)
    with scope.srv.lock:
        scope.srv.session.ledger.head()  # checkpoints another worker signed just now
        return services.monthly_report(scope.srv.session, month=month, jurisdiction=place,
                                       checkpoint=None if as_of is None else as_of + 1, compare_with=compare_with)  # fmt: skip

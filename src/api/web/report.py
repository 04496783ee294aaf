"""The monthly report page ``/report`` (DESIGN §11, §13): a month and a jurisdiction in scope, the
report shown in the page, and its downloads.

Every byte comes from the API's own route, :func:`api.http.reports.get_monthly_report`, called with
the page's :class:`~api.http.auth.Scope`: the same scope rule (subject roles read no jurisdiction's
report; a regional reader only its own and below), the same use case, the same renderer. The page
pins the latest checkpoint (``as_of``) so the report it shows and each download are of one
checkpoint and equal ``GET /v1/reports/monthly`` with the same query. The report's HTML is the
self-contained 情况通报 (inline CSS, no script): the page embeds it in a sandboxed frame served by
``/report/view`` with a CSP of its own (styles, no script, framed by this site only).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.http.auth import SUBJECT
from api.http.problems import ApiProblem
from api.http.reports import get_monthly_report
from api.web.dashboard import choices
from api.web.render import SECURITY_HEADERS, PageRoute, lang_of, render
from api.web.session import PageScope
from ledger.application import utc_now
from ledger.domain.schema import SHANGHAI

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Month = Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Place = Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]{1,12}$")]
AsOf = Annotated[int | None, Query(ge=0, le=2**53 - 2)]
Format = Literal["json", "html", "xlsx", "md"]
DOWNLOADS: tuple[tuple[Format, str, str], ...] = (
    ("xlsx", "Excel 工作簿（XLSX）", "Excel workbook (XLSX)"),
    ("html", "可打印网页（HTML）", "Printable page (HTML)"),
    ("md", "Markdown", "Markdown"),
    ("json", "数据（JSON）", "Data (JSON)"),
)
EXTENSIONS = {"json": "json", "html": "html", "xlsx": "xlsx", "md": "md"}
# The framed report: its own inline CSS and SVG, nothing else; only this site may frame it.
PAGE_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; frame-src 'self'"
FRAMED_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; sandbox"


def this_month() -> str:
    return utc_now().astimezone(SHANGHAI).strftime("%Y-%m")


def latest_as_of(request: Request) -> int | None:
    """The latest checkpoint as a report's ``as_of`` (its size − 1): the page's downloads all name it."""
    srv = request.app.state.server
    with srv.lock:
        srv.session.ledger.head()
        latest = srv.session.ledger.latest_checkpoint()
    return None if latest is None else latest.size - 1


def report_bytes(request: Request, scope: PageScope, month: str, jurisdiction: str | None, as_of: int | None,
                 fmt: Format) -> Response:  # fmt: skip
    """``GET /v1/reports/monthly`` for this reader: the API's route itself."""
    return get_monthly_report(scope, month=month, jurisdiction=jurisdiction, format=fmt, as_of=as_of,
                              compare_with=None, lang=lang_of(request))  # fmt: skip


@router.get("/report")
def report_page(request: Request, scope: PageScope, month: Month = None, jurisdiction: Place = None,
                as_of: AsOf = None) -> Response:  # fmt: skip
    if scope.role in SUBJECT:
        raise ApiProblem("forbidden", f"a {scope.role} does not read a jurisdiction's report")
    month = month or this_month()
    place = scope.jurisdiction_filter(jurisdiction) or scope.jurisdiction
    pinned = latest_as_of(request) if as_of is None else as_of
    query = {"month": month, **({"jurisdiction": place} if place else {}),
             **({"as_of": str(pinned)} if pinned is not None else {}), "lang": lang_of(request)}  # fmt: skip
    doc = json.loads(
        bytes(report_bytes(request, scope, month, place, pinned, "json").body)
    )  # refused: the error page
    page = render(request, "report.html", {
        "month": month, "code": doc["jurisdiction"], "choices": choices(scope), "as_of": pinned, "query": query,
        "downloads": DOWNLOADS, "checkpoint": doc["checkpoint"],
    })  # fmt: skip
    page.headers["Content-Security-Policy"] = PAGE_CSP  # the one page that frames: the report, from this site
    return page


@router.get("/report/view")
def report_view(request: Request, scope: PageScope, month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")],
                jurisdiction: Place = None, as_of: AsOf = None) -> Response:  # fmt: skip
    """The report's HTML as ``GET /v1/reports/monthly?format=html`` gives it, to be framed by ``/report``."""
    response = report_bytes(request, scope, month, jurisdiction, as_of, "html")
    response.headers["Content-Security-Policy"] = FRAMED_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@router.get("/report/download")
def report_download(request: Request, scope: PageScope, month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")],
                    format: Format, jurisdiction: Place = None, as_of: AsOf = None) -> Response:  # noqa: A002  # fmt: skip
    """A download: the bytes of ``GET /v1/reports/monthly`` with the same query, saved as a file."""
    response = report_bytes(request, scope, month, jurisdiction, as_of, format)
    place = jurisdiction or scope.jurisdiction or "all"
    name = f"report-monthly-{place}-{month}.{EXTENSIONS[format]}"
    response.headers.setdefault("Content-Disposition", f'attachment; filename="{name}"')
    if format == "html":  # opened from the downloads folder it is the same self-contained page
        response.headers["Content-Security-Policy"] = FRAMED_CSP
    return response

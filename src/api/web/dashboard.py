"""The dashboard ``/`` (DESIGN §13): one jurisdiction's programme progress against its target, its
funds by purpose and balances, and its anomalies by severity, with SVG charts drawn on the server.

Every figure comes from the API's own route functions called with the page's
:class:`~api.http.auth.Scope` — the monthly report (:func:`api.http.reports.monthly_report_for`, what
``GET /v1/reports/monthly`` renders),
``/v1/balances`` and ``/v1/anomalies`` — so the page shows exactly what the API gives the same
reader, and nothing its scope does not reach. The charts are the monthly report's
(:mod:`api.reports.view`, :func:`api.reports.charts.svg`), plus one of the same kind for the flags.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from markupsafe import Markup

from api.http import routes
from api.http.auth import SUBJECT, Scope
from api.http.reports import monthly_report_for
from api.i18n import Lang
from api.reports import charts, labels, view
from api.web.render import PageRoute, lang_of, render
from api.web.session import PageScope
from ledger.application import utc_now
from ledger.domain.money import yuan_amount
from ledger.domain.schema import SHANGHAI
from projections.anomalies.engine import SEVERITIES

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SUMMARY = ("allocated_fen", "fund_balance_fen", "claimed_fen", "approved_fen", "paid_fen", "outstanding_fen")
CLAIMS = SUMMARY[2:]  # a claimant's own: what it claimed, was approved and paid (no fund is its)
SUMMARY_TEXT = {
    "allocated_fen": ("资金到位", "funds allocated"),
    "fund_balance_fen": ("资金结余", "fund balance"),
    "claimed_fen": ("申报金额", "claimed"),
    "approved_fen": ("审核通过", "approved"),
    "paid_fen": ("已拨付", "paid"),
    "outstanding_fen": ("已审核待拨付", "approved, not yet paid"),
}


def choices(scope: Scope) -> list[str]:
    """The jurisdictions the reader may pick: the city and its counties for admin and city-level readers."""
    places = scope.srv.session.ledger.jurisdictions
    if scope.role in SUBJECT or scope.jurisdiction_filter(None) is not None:
        return []
    city = [code for code, parent in places.parents.items() if parent is None]
    return [*city, *(code for code in places.counties() if places.parents.get(code) in city)]


def last_active_month(series: list[dict[str, Any]]) -> str | None:
    """The report series' last month in which someone was trained or completed (the chart ends there)."""
    found, before = None, 0
    for month in series:
        if month["trainee_times"] != before or month["completers"]:
            found = month["month"]
        before = month["trainee_times"]
    return found


def report_view(
    scope: Scope, month: str | None, jurisdiction: str | None, lang: Lang
) -> tuple[dict[str, Any], view.Report]:
    """The report of ``month`` (default: this month, so the figures are today's) with its chart
    ending at the last month anyone was trained: a programme of 2018–2020 seen in 2026 is not drawn
    as six flat years."""
    found = monthly_report_for(scope, month or utc_now().astimezone(SHANGHAI).strftime("%Y-%m"), jurisdiction)
    active = last_active_month(found.series)
    series = [m for m in found.series if active is None or month is not None or str(m["month"]) <= active]
    return found.doc, view.build(found.doc, series, lang)


@router.get("/")
def dashboard(
    request: Request,
    scope: PageScope,
    jurisdiction: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]{1,12}$")] = None,
    month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = None,
) -> Response:
    lang = lang_of(request)
    regional = scope.role not in SUBJECT
    wanted = jurisdiction if regional and jurisdiction else None
    context: dict[str, Any] = {"regional": regional, "choices": choices(scope), "month": month}
    if regional:
        doc, report = report_view(scope, month, wanted, lang)
        progress, funds = report.sections[0], report.sections[1]
        context.update(
            doc=doc, code=doc["jurisdiction"], month=doc["month"],
            cumulative=doc["cumulative"], target=doc["cumulative"]["target"],
            pct=view.percent(doc["cumulative"]["trainee_times"], (doc["cumulative"]["target"] or {}).get("min", 0)),
            cert_pct=view.percent(doc["cumulative"]["households_with_certificate"], doc["cumulative"]["households_registered"]),
            series_svg=Markup(charts.svg(progress.charts[0], progress.grid("series"))),
            purposes=funds.grid("funds_by_purpose"),
            funds_svg=Markup(charts.svg(funds.charts[0], funds.grid("funds_by_purpose"))) if doc["funds"] else None,
        )  # fmt: skip
    else:
        context.update(code=scope.jurisdiction)
    # The API's own routes, every other filter at its default (None): what GET /v1/balances and
    # GET /v1/anomalies answer this reader.
    balances = routes.get_balances(scope, jurisdiction=wanted)
    flags = routes.get_anomalies(scope, jurisdiction=wanted)
    current = Counter(f["severity"] for f in flags)
    still_open = Counter(f["severity"] for f in flags if f["status"] == "open")
    words = labels.SEVERITY
    grid = view.Grid(
        "by_severity",
        "",
        ("", ""),
        tuple((words[s][0 if lang == "zh" else 1], current[s]) for s in SEVERITIES),
    )
    chart = view.Chart(
        "异常（按严重程度）" if lang == "zh" else "Anomalies by severity",
        "by_severity",
        "hbar",
        (1,),
        tones=SEVERITIES,
    )
    context.update(
        summary=[(k, SUMMARY_TEXT[k], yuan_amount(balances.summary.get(k))) for k in (SUMMARY if regional else CLAIMS)],
        trial_balance=balances.trial_balance.total_fen, as_of=balances.as_of,
        severities=[(s, words[s], current[s], still_open[s]) for s in SEVERITIES], flags_total=len(flags),
        severity_svg=Markup(charts.svg(chart, grid)) if flags else None, text=view.text,
    )  # fmt: skip
    return render(request, "dashboard.html", context)
